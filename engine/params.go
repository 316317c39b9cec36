package engine

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/clusterd/clusterd/schema"
)

// ParamError is an algorithm parameter that the data cannot honour (found
// when the data is known, such as n_clusters above the number of points).
// Param is the parameter's name in algorithm_params. Problems that need no
// data are schema.Problems from the algorithm's model in package params.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return "algorithm_params: " + e.Msg
	}
	return fmt.Sprintf("algorithm_params.%s: %s", e.Param, e.Msg)
}

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

// ReadSeed returns the run's seed: the override when set, else
// random_state, else (random_state null) a fresh seed, which the run
// reports in its stats so it can be repeated.
func ReadSeed(v schema.Values, override *int64) int64 {
	switch {
	case override != nil:
		return *override
	case v.Has("random_state"):
		return int64(v.Int("random_state"))
	}
	return int64(rand.Uint32())
}

// ReadNInit reads n_init: a positive integer or "auto"; given reports
// whether the request sent it.
func ReadNInit(v, given schema.Values) (n int, isGiven, auto bool) {
	isGiven = given.Has("n_init")
	if v.IsString("n_init", "auto") {
		return 0, true, true
	}
	return v.Int("n_init"), isGiven, false
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
