package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// Params are the generation settings taken from llm_labeling.parameters;
// nil fields are not sent, so the provider's defaults apply. The package
// documentation has the table of how each maps onto each provider.
type Params struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	MaxTokens        *int     `json:"max_tokens,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	// JSONMode asks the provider for a JSON-only answer where it can
	// (OpenAI response_format, Gemini responseMimeType). Default true.
	JSONMode bool `json:"json_mode"`
}

// ParseParams reads llm_labeling.parameters (a JSON object, or empty/null
// for none). Unknown keys are ignored; a known key of the wrong type is an
// error wrapping [ErrConfig]. max_output_tokens and max_completion_tokens are
// aliases of max_tokens (the first present of max_tokens, max_output_tokens,
// max_completion_tokens wins).
func ParseParams(raw json.RawMessage) (Params, error) {
	p := Params{JSONMode: true}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return p, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return p, fmt.Errorf("%w: parameters must be a JSON object", ErrConfig)
	}
	var err error
	num := func(key string) *float64 {
		v, ok := m[key]
		if !ok || err != nil || isNull(v) {
			return nil
		}
		var f float64
		if json.Unmarshal(v, &f) != nil {
			err = fmt.Errorf("%w: parameters.%s must be a number", ErrConfig, key)
			return nil
		}
		return &f
	}
	// integer reads an integer within 32 bits, positive if asked.
	integer := func(key string, positive bool) *int64 {
		f := num(key)
		if f == nil {
			return nil
		}
		if *f != math.Trunc(*f) || math.Abs(*f) > math.MaxInt32 || (positive && *f < 1) {
			kind := "a 32-bit integer"
			if positive {
				kind = "a positive 32-bit integer"
			}
			err = fmt.Errorf("%w: parameters.%s must be %s", ErrConfig, key, kind)
			return nil
		}
		i := int64(*f)
		return &i
	}
	p.Temperature = num("temperature")
	p.TopP = num("top_p")
	p.PresencePenalty = num("presence_penalty")
	p.FrequencyPenalty = num("frequency_penalty")
	for _, key := range []string{"max_tokens", "max_output_tokens", "max_completion_tokens"} {
		if i := integer(key, true); i != nil {
			n := int(*i)
			p.MaxTokens = &n
			break
		}
	}
	if i := integer("top_k", true); i != nil {
		n := int(*i)
		p.TopK = &n
	}
	p.Seed = integer("seed", false)
	if v, ok := m["stop"]; ok && err == nil && !isNull(v) {
		var one string
		if json.Unmarshal(v, &one) == nil {
			p.Stop = []string{one}
		} else if json.Unmarshal(v, &p.Stop) != nil {
			err = fmt.Errorf("%w: parameters.stop must be a string or a list of strings", ErrConfig)
		}
	}
	if v, ok := m["json_mode"]; ok && err == nil && !isNull(v) {
		if json.Unmarshal(v, &p.JSONMode) != nil {
			err = fmt.Errorf("%w: parameters.json_mode must be a boolean", ErrConfig)
		}
	}
	if err != nil {
		return Params{}, err
	}
	return p, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }
