package contract

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDoc: the contract parses, has the clusters area's 28 operations and
// 86 schemas (as the seed's description says), and its own examples pass.
func TestDoc(t *testing.T) {
	d, err := Doc()
	if err != nil {
		t.Fatal(err)
	}
	ops := 0
	for _, item := range d.Paths.Map() {
		ops += len(item.Operations())
	}
	if ops != 28 || len(d.Components.Schemas) != 86 {
		t.Fatalf("%d operations and %d schemas, want 28 and 86", ops, len(d.Components.Schemas))
	}
	checked := 0
	for _, name := range []string{"BaseTemplateModel", "CreateTemplateFromResourceResponse", "InstantiatedClusterTemplateResponse", "TaskResponse", "ListTasksRequest"} {
		s, err := Schema(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, ex := range s.Examples {
			b, _ := json.Marshal(ex)
			// TaskResponse's examples carry a "description" beside the model's fields.
			if err := Validate(name, b); err != nil {
				t.Errorf("%s example %d rejected: %v", name, i, err)
			}
			checked++
		}
	}
	if checked < 6 {
		t.Fatalf("%d examples checked, want at least 6", checked)
	}
	// Mixpeek's one ListTemplatesResponse example omits the required
	// "configuration" of its template: the contract contradicts itself there,
	// and the validator must say so.
	s, err := Schema("ListTemplatesResponse")
	if err != nil || len(s.Examples) != 1 {
		t.Fatalf("ListTemplatesResponse examples: %v, %v", s, err)
	}
	b, _ := json.Marshal(s.Examples[0])
	if err := Validate("ListTemplatesResponse", b); err == nil || !strings.Contains(err.Error(), `"configuration" is missing`) {
		t.Fatalf("ListTemplatesResponse example: %v, want the missing configuration", err)
	}
}

// TestValidateRejects: the validator enforces required fields, patterns,
// enums and types (a validator that accepts everything would pass TestDoc).
func TestValidateRejects(t *testing.T) {
	good := `{"template_id":"tmpl_a","template_type":"cluster","scope":"system","internal_id":"system","name":"n","description":"d","configuration":{}}`
	if err := Validate("BaseTemplateModel", []byte(good)); err != nil {
		t.Fatalf("good value rejected: %v", err)
	}
	bad := map[string]string{
		"pattern":  strings.Replace(good, `"tmpl_a"`, `"tmpl-A"`, 1),
		"enum":     strings.Replace(good, `"system","internal_id"`, `"global","internal_id"`, 1),
		"required": strings.Replace(good, `"name":"n",`, ``, 1),
		"type":     strings.Replace(good, `"configuration":{}`, `"configuration":[]`, 1),
		"minLen":   strings.Replace(good, `"description":"d"`, `"description":""`, 1),
	}
	for name, body := range bad {
		if err := Validate("BaseTemplateModel", []byte(body)); err == nil {
			t.Errorf("%s: bad value accepted", name)
		}
	}
	if err := Validate("NoSuchSchema", []byte(`{}`)); err == nil {
		t.Error("unknown schema accepted")
	}
	if err := Validate("FailureMetric", []byte(`{"timestamp":"not a time","execution_id":"x","error_message":"m","error_type":"t"}`)); err == nil {
		t.Error("a date-time that is not one was accepted")
	}
}
