// Package seedschema loads the OpenAPI document inside the seed file
// (000_979cf07be06b8b1f.txt, Mixpeek's "Get Latest Cluster Execution",
// copied here verbatim from ../shared/seeds) and validates JSON values
// against its component schemas (ClusterExecutionResult, ErrorResponse,
// HTTPValidationError, …). It is the machine check that clusterd's wire
// format is the seed's.
package seedschema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed 000_979cf07be06b8b1f.txt
var seed string

// YAML returns the OpenAPI document between the seed's ````yaml fence and
// the closing ````.
func YAML() (string, error) {
	const open = "````yaml"
	i := strings.Index(seed, open)
	if i < 0 {
		return "", fmt.Errorf("seedschema: no %s block in the seed", open)
	}
	body := seed[i+len(open):]
	body = body[strings.Index(body, "\n")+1:]
	j := strings.Index(body, "````")
	if j < 0 {
		return "", fmt.Errorf("seedschema: unterminated yaml block in the seed")
	}
	return body[:j], nil
}

var (
	once   sync.Once
	doc    *openapi3.T
	errDoc error
)

// Doc returns the parsed and validated OpenAPI document of the seed.
func Doc() (*openapi3.T, error) {
	once.Do(func() {
		y, err := YAML()
		if err != nil {
			errDoc = err
			return
		}
		loader := openapi3.NewLoader()
		doc, errDoc = loader.LoadFromData([]byte(y))
		if errDoc == nil {
			errDoc = doc.Validate(loader.Context)
		}
	})
	return doc, errDoc
}

// Validate checks the JSON document body against the seed's component
// schema name.
func Validate(name string, body []byte) error {
	d, err := Doc()
	if err != nil {
		return err
	}
	ref, ok := d.Components.Schemas[name]
	if !ok || ref.Value == nil {
		return fmt.Errorf("seedschema: no schema %q in the seed", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("seedschema: body is not JSON: %w", err)
	}
	return ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}
