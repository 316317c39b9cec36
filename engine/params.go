package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/clusterd/clusterd/schema"
)

// decodeParams validates raw against the algorithm's parameter model and
// returns the completed values (defaults filled in) and the values as
// given (to tell an omitted parameter from one sent at its default).
func decodeParams(model *schema.Schema, raw json.RawMessage) (values, given schema.Values, err error) {
	v, ps := model.Decode(raw, nil)
	if len(ps) > 0 {
		return nil, nil, ps
	}
	g := map[string]any{}
	if parsed, perr := schema.Parse(raw); perr == nil {
		if obj, ok := parsed.(map[string]any); ok {
			g = obj
		}
	}
	return schema.AsValues(v), schema.AsValues(g), nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
