package runner

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/clusterd/clusterd/engine"
)

// fill sets every field of the struct v points to (recursively, through
// pointers, slices and maps) to a distinct non-zero value, so that a field
// a copy forgets shows up as a difference.
func fill(v reflect.Value, next *int) {
	*next++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), next)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), next)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), next)
		fill(v.Index(1), next)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("p"), reflect.ValueOf(any(float64(*next))))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*next))
	case reflect.Float64:
		v.SetFloat(float64(*next) + 0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("s" + string(rune('a'+*next%26)))
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// TestWireTypesMatchTheEngines: the wire copies of the engine's statistics
// and metrics encode exactly as the engine's own types did (every field,
// same names, same order), for a fully set value and for the zero value.
func TestWireTypesMatchTheEngines(t *testing.T) {
	var full engine.Stats
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	for name, s := range map[string]engine.Stats{"full": full, "zero": {}} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(StatsOf(s))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: StatsOf encodes as\n%s\nthe engine's Stats as\n%s", name, got, want)
		}
	}
	for _, c := range []struct {
		in   *engine.Metrics
		want string
	}{
		{nil, "null"},
		{&engine.Metrics{Silhouette: 0.5, DaviesBouldin: 1.25, CalinskiHarabasz: 300}, `{"silhouette_score":0.5,"davies_bouldin_index":1.25,"calinski_harabasz_score":300}`},
		{&engine.Metrics{Silhouette: math.NaN(), DaviesBouldin: math.Inf(1), CalinskiHarabasz: 2}, `{"silhouette_score":null,"davies_bouldin_index":null,"calinski_harabasz_score":2}`},
	} {
		got, err := json.Marshal(MetricsOf(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("MetricsOf(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}
