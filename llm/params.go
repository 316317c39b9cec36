package llm

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/clusterd/clusterd/schema"
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
	// Extra are the other keys of parameters, forwarded into the
	// provider's request as they are.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// ParametersModel declares llm_labeling.parameters: the generation
// settings clusterd maps onto each provider (the package documentation has
// the table), with the provider-specific names accepted as aliases. Other
// keys are forwarded as they are into the provider's request (OpenAI's and
// Anthropic's body, Gemini's generationConfig), as Mixpeek forwards them.
var ParametersModel = schema.Model("LLMParameters", "Provider-specific parameters forwarded to the LLM service.",
	schema.F("temperature", schema.Num().Min(0).Max(2).OrNull()),
	schema.F("max_tokens", positive32()),
	schema.F("max_output_tokens", positive32()).Describe("Gemini's name for max_tokens"),
	schema.F("max_completion_tokens", positive32()).Describe("OpenAI's newer name for max_tokens"),
	schema.F("top_p", schema.Num().Min(0).Max(1).OrNull()),
	schema.F("top_k", positive32()),
	schema.F("stop", schema.OneOf(schema.Str(), schema.List(schema.Str()).MaxLen(16)).OrNull()),
	schema.F("seed", schema.Int().Min(math.MinInt32).Max(math.MaxInt32).OrNull()),
	schema.F("presence_penalty", schema.Num().Min(-2).Max(2).OrNull()),
	schema.F("frequency_penalty", schema.Num().Min(-2).Max(2).OrNull()),
	schema.F("json_mode", schema.Bool().OrNull()).Describe("Ask for a JSON-only answer where the provider can (default true)"),
	schema.F("json_output", schema.Bool().OrNull()).Describe("Mixpeek's name for json_mode"),
)

func init() { ParametersModel.Extra = schema.AnyValue() }

func positive32() *schema.Schema { return schema.Int().Min(1).Max(math.MaxInt32).OrNull() }

// known lists the keys ParseParams maps itself (the others are forwarded).
var known = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range ParametersModel.Fields {
		m[f.Name] = true
	}
	return m
}()

// ParseParams reads llm_labeling.parameters (a JSON object, or empty/null
// for none) against ParametersModel. A problem is an error wrapping
// [ErrConfig]. max_output_tokens and max_completion_tokens are aliases of
// max_tokens (the first present of max_tokens, max_output_tokens,
// max_completion_tokens wins), json_output of json_mode.
func ParseParams(raw json.RawMessage) (Params, error) {
	p := Params{JSONMode: true}
	v, problems := ParametersModel.Decode(raw, schema.Path{"parameters"})
	if len(problems) > 0 {
		return Params{}, fmt.Errorf("%w: %v", ErrConfig, problems)
	}
	o := schema.AsValues(v)
	p.Temperature = o.FloatPtr("temperature")
	p.TopP = o.FloatPtr("top_p")
	p.PresencePenalty = o.FloatPtr("presence_penalty")
	p.FrequencyPenalty = o.FloatPtr("frequency_penalty")
	for _, key := range []string{"max_tokens", "max_output_tokens", "max_completion_tokens"} {
		if n := o.IntPtr(key); n != nil {
			p.MaxTokens = n
			break
		}
	}
	p.TopK = o.IntPtr("top_k")
	if s := o.IntPtr("seed"); s != nil {
		seed := int64(*s)
		p.Seed = &seed
	}
	switch stop := o["stop"].(type) {
	case string:
		p.Stop = []string{stop}
	case []any:
		for _, s := range stop {
			p.Stop = append(p.Stop, s.(string))
		}
	}
	for _, key := range []string{"json_mode", "json_output"} {
		if o.Has(key) {
			p.JSONMode = o.Bool(key)
			break
		}
	}
	for k, val := range o {
		if known[k] {
			continue
		}
		b, err := json.Marshal(val)
		if err != nil {
			return Params{}, fmt.Errorf("%w: parameters.%s: %v", ErrConfig, k, err)
		}
		if p.Extra == nil {
			p.Extra = map[string]json.RawMessage{}
		}
		p.Extra[k] = b
	}
	return p, nil
}

// Precedence of llm_labeling.parameters' other keys (Params.Extra) in a
// provider request, highest first:
//
//  1. The fields that carry the conversation, or whose change would break
//     reading the answer, are clusterd's alone: an extra key naming one is
//     dropped (see each provider's protected set).
//  2. A field set from a known key (temperature, max_tokens, stop, …) keeps
//     that value: an extra key with the same wire name is dropped.
//  3. Every other extra key is added as it is, replacing the defaults
//     clusterd sets on its own (OpenAI's response_format, Gemini's
//     responseMimeType, which json_mode governs).

// mergeExtra returns the JSON object of base (a request struct) with the
// extra keys added by the precedence above: protected keys are never added,
// keys base already has are kept unless listed in overridable.
func mergeExtra(base any, extra map[string]json.RawMessage, protected, overridable map[string]bool) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if protected[k] {
			continue
		}
		if _, set := out[k]; set && !overridable[k] {
			continue
		}
		out[k] = v
	}
	return out, nil
}

// keySet makes a set of keys.
func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
