module github.com/clusterd/clusterd

go 1.26.8

require (
	github.com/getkin/kin-openapi v0.153.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/go-openapi/jsonpointer v0.22.5 // indirect
	github.com/go-openapi/swag/jsonname v0.25.5 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	go.yaml.in/yaml/v4 v4.0.0 // indirect
	golang.org/x/text v0.23.0 // indirect
)
