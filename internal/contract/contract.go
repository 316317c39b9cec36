// Package contract holds Mixpeek's OpenAPI document for the clusters area
// (mixpeek-clusters-openapi-0.81.json, copied verbatim from the project's
// seeds; see README.md) and validates JSON values against its component
// schemas. It is the machine check that clusterd's responses are what
// Mixpeek's clients expect; tests use it, the server does not.
package contract

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed mixpeek-clusters-openapi-0.81.json
var raw []byte

// JSON returns the contract document as stored.
func JSON() []byte { return raw }

var (
	once   sync.Once
	doc    *openapi3.T
	errDoc error
)

// Doc returns the parsed contract, validated (parsed once; callers must
// not modify it). Its components, info and every path item are validated
// as OpenAPI 3.1; the paths are not checked against each other, because
// kin-openapi refuses GET /v1/clusters/{cluster_identifier} beside
// DELETE /v1/clusters/{cluster_id} (one path, its parameter named two
// ways), which OpenAPI forbids and Mixpeek's document does anyway.
func Doc() (*openapi3.T, error) {
	once.Do(func() {
		loader := openapi3.NewLoader()
		doc, errDoc = loader.LoadFromData(raw)
		if errDoc != nil {
			errDoc = fmt.Errorf("contract: %w", errDoc)
			return
		}
		ctx := openapi3.WithValidationOptions(loader.Context, openapi3.IsOpenAPI31OrLater())
		if errDoc = doc.Components.Validate(ctx); errDoc == nil {
			errDoc = doc.Info.Validate(ctx)
		}
		for path, item := range doc.Paths.Map() {
			if errDoc != nil {
				break
			}
			if err := item.Validate(ctx); err != nil {
				errDoc = fmt.Errorf("path %s: %w", path, err)
			}
		}
		if errDoc != nil {
			errDoc = fmt.Errorf("contract: %w", errDoc)
		}
	})
	return doc, errDoc
}

// Schema returns the contract's component schema name.
func Schema(name string) (*openapi3.Schema, error) {
	d, err := Doc()
	if err != nil {
		return nil, err
	}
	ref, ok := d.Components.Schemas[name]
	if !ok || ref.Value == nil {
		return nil, fmt.Errorf("contract: no schema %q", name)
	}
	return ref.Value, nil
}

// Validate checks the JSON document body against the contract's component
// schema name (JSON Schema 2020-12 semantics, as OpenAPI 3.1 declares).
func Validate(name string, body []byte) error {
	s, err := Schema(name)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("contract: body is not JSON: %w", err)
	}
	if err := s.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("contract: %s: %w", name, err)
	}
	return nil
}
