// Package contract holds Mixpeek's published OpenAPI document for the
// clusters area (mixpeek-clusters-openapi-0.81.json: 28 operations, 86
// schemas), copied here verbatim from the project's shared seeds, and
// validates JSON values against its schemas. It is the contract beside the
// seed (internal/seedschema), which wins where the two differ.
package contract

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// JSON is the contract file, verbatim.
//
//go:embed mixpeek-clusters-openapi-0.81.json
var JSON []byte

var (
	once   sync.Once
	doc    *openapi3.T
	errDoc error
)

// Doc returns the parsed contract with its references resolved. It is not
// run through kin-openapi's document validation: Mixpeek's file declares
// /v1/clusters/{cluster_id} and /v1/clusters/{cluster_identifier} side by
// side, which that validation calls conflicting paths (clusterd serves
// both).
func Doc() (*openapi3.T, error) {
	once.Do(func() {
		doc, errDoc = openapi3.NewLoader().LoadFromData(JSON)
	})
	return doc, errDoc
}

// Validate checks the JSON document body against the contract's component
// schema name (JSON Schema 2020-12 semantics, as OpenAPI 3.1 has them).
func Validate(name string, body []byte) error {
	d, err := Doc()
	if err != nil {
		return err
	}
	ref, ok := d.Components.Schemas[name]
	if !ok || ref.Value == nil {
		return fmt.Errorf("contract: no schema %q", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("contract: body is not JSON: %w", err)
	}
	return ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}
