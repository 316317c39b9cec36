package contract

import "testing"

// TestLoad: the copy is the whole clusters area (28 operations, 86
// schemas), and Validate applies its schemas.
func TestLoad(t *testing.T) {
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
	if err := Validate("SortOption", []byte(`{"field":"created_at","direction":"desc"}`)); err != nil {
		t.Error(err)
	}
	if err := Validate("SortOption", []byte(`{"direction":"sideways"}`)); err == nil {
		t.Error("a SortOption without field and with a bad direction validated")
	}
}
