package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sample is one representative document as the prompt shows it: an object
// of named inputs, in order, written as one line of compact JSON
// {"input_key": value, …}. It is how llm_labeling.labeling_inputs (one
// Input per input mapping) or, without them, the whole payload (one Input
// per top-level field) reach the model.
type Sample []Input

// Input is one named value of a Sample.
type Input struct {
	Key string
	// Value is a JSON value as encoding/json decodes it into an any
	// (numbers may be json.Number), or a [Vector].
	Value any
}

// Vector is a feature's vector given as an input. A prompt cannot use
// hundreds of raw floats, so it is shown as {"dim": D, "norm": ‖v‖₂,
// "head": [the first 8 values]}, numbers rounded to 4 significant digits.
type Vector []float32

// Rendering bounds of a Sample. Strings are cut to sample_text_max_length
// characters (whitespace collapsed, "…" marking the cut) at any depth.
const (
	// vectorHead is how many leading values of a Vector are shown.
	vectorHead = 8
	// maxListItems is how many items of a list are shown; a last item
	// "… N more" counts the others.
	maxListItems = 10
	// maxDepth is how deep nested lists and objects are shown; deeper
	// values are shown as their JSON text, cut like a string.
	maxDepth = 4
	// sampleBudget bounds a Sample's JSON to this many times
	// sample_text_max_length characters: the inputs from the first that
	// would pass the budget on are left out and counted under the key "…"
	// (the first input is always shown).
	sampleBudget = 20
)

// renderSample writes s as one line of compact JSON with its values
// shortened (see the constants above); "" when s has no inputs.
func renderSample(s Sample, maxLen int) string {
	if len(s) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	budget, used := sampleBudget*maxLen, 2 // the braces
	for i, in := range s {
		piece := encodeJSON(in.Key) + ":" + encodeJSON(shorten(in.Value, maxLen, 0))
		if i > 0 {
			piece = "," + piece
		}
		n := utf8.RuneCountInString(piece)
		if i > 0 && used+n > budget {
			b.WriteString("," + encodeJSON("…") + ":" + encodeJSON(fmt.Sprintf("%d more inputs left out", len(s)-i)))
			break
		}
		b.WriteString(piece)
		used += n
	}
	b.WriteByte('}')
	return b.String()
}

// vectorView is how a Vector is shown.
type vectorView struct {
	Dim  int           `json:"dim"`
	Norm json.Number   `json:"norm"`
	Head []json.Number `json:"head"`
}

// shorten returns v with strings cut to maxLen characters, lists to
// maxListItems items and nesting to maxDepth levels.
func shorten(v any, maxLen, depth int) any {
	switch v := v.(type) {
	case string:
		return clip(v, maxLen)
	case Vector:
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		view := vectorView{Dim: len(v), Norm: round4(math.Sqrt(ss)), Head: []json.Number{}}
		for _, x := range v[:min(len(v), vectorHead)] {
			view.Head = append(view.Head, round4(float64(x)))
		}
		return view
	case []any:
		if depth >= maxDepth {
			return clip(encodeJSON(v), maxLen)
		}
		out := make([]any, 0, min(len(v), maxListItems+1))
		for _, e := range v[:min(len(v), maxListItems)] {
			out = append(out, shorten(e, maxLen, depth+1))
		}
		if len(v) > maxListItems {
			out = append(out, fmt.Sprintf("… %d more", len(v)-maxListItems))
		}
		return out
	case map[string]any:
		if depth >= maxDepth {
			return clip(encodeJSON(v), maxLen)
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = shorten(e, maxLen, depth+1)
		}
		return out
	}
	return v // numbers, booleans, null
}

// round4 writes x with 4 significant digits.
func round4(x float64) json.Number {
	return json.Number(strconv.FormatFloat(x, 'g', 4, 64))
}

// encodeJSON writes v as compact JSON without HTML escaping (so URLs and
// "<" stay readable for the model). Values here are JSON-decoded data or
// views of it, which always encode.
func encodeJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return `null`
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// PayloadSample is the Sample of a whole payload (a JSON object): one input
// per top-level field, in the payload's order, nested values decoded with
// json.Number. A payload that is not an object, or an empty one, gives nil.
func PayloadSample(payload json.RawMessage) Sample {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var s Sample
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		// A repeated key keeps its last value, as encoding/json does.
		if i := slices.IndexFunc(s, func(in Input) bool { return in.Key == key }); i >= 0 {
			s = slices.Delete(s, i, i+1)
		}
		s = append(s, Input{Key: key, Value: v})
	}
	return s
}
