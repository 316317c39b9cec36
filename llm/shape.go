package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// shapeURL names a response_shape schema inside its compiler; it is never
// fetched.
const shapeURL = "mem:///response_shape.json"

// maxShapeError bounds, in characters, a schema validation message kept as
// the reason of an invalid answer (it reaches llm_labeling_errors).
const maxShapeError = 300

// shape is a run's llm_labeling.response_shape: a description in words or a
// JSON Schema. A nil *shape is the default answer (label, summary, keywords).
type shape struct {
	// words is the description; empty for a JSON Schema.
	words string
	// schema is the compiled JSON Schema; nil for words.
	schema *jsonschema.Schema
	// text is the schema's compact JSON, as the prompt shows it.
	text string
	// props are the top-level properties the schema declares.
	props map[string]bool
}

// parseShape reads response_shape: empty or null is the default answer (nil),
// a JSON string a description in words, a JSON object a JSON Schema (see
// [CheckResponseShape]). Anything else is an error wrapping [ErrConfig].
func parseShape(raw json.RawMessage) (*shape, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, fmt.Errorf("%w: response_shape: %v", ErrConfig, err)
		}
		if s = strings.TrimSpace(s); s == "" {
			return nil, nil // nothing described: the default answer
		}
		return &shape{words: s}, nil
	case '{':
		sh, err := compileShape(t)
		if err != nil {
			return nil, fmt.Errorf("%w: response_shape: %v", ErrConfig, err)
		}
		return sh, nil
	}
	return nil, fmt.Errorf("%w: response_shape must be a string, an object or null", ErrConfig)
}

// CheckResponseShape reports why v (response_shape as schema.Parse or
// encoding/json decode it) cannot be used: a string is always usable; an
// object must be a JSON Schema that compiles (its own $schema draft, else
// 2020-12), refers to nothing outside itself (no $ref to files or URLs), and
// accepts JSON objects (its "type", when given, is or includes "object"),
// since answers are JSON objects.
func CheckResponseShape(v any) error {
	if _, ok := v.(map[string]any); !ok {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = compileShape(b)
	return err
}

// refuseLoader loads nothing: a response_shape may only refer to itself (and
// to the JSON Schema metaschemas, which the library embeds).
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %q: a response_shape may not refer to other documents", url)
}

func compileShape(raw []byte) (*shape, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("a JSON Schema object is required")
	}
	if !acceptsObjects(obj["type"]) {
		return nil, errors.New(`its "type" must be "object" (answers are JSON objects)`)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(shapeURL, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(shapeURL)
	if err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	sh := &shape{schema: sch, text: compact.String(), props: map[string]bool{}}
	if props, ok := obj["properties"].(map[string]any); ok {
		for k := range props {
			sh.props[k] = true
		}
	}
	return sh, nil
}

// acceptsObjects reports whether a schema's "type" allows objects.
func acceptsObjects(t any) bool {
	switch t := t.(type) {
	case nil:
		return true
	case string:
		return t == "object"
	case []any:
		for _, e := range t {
			if e == "object" {
				return true
			}
		}
	}
	return false
}

// oneLine collapses a multi-line library message ("jsonschema validation
// failed …\n- at '/x': …") into one line.
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(strings.TrimSpace(l), "- ")
	}
	return strings.Join(strings.Fields(strings.Join(lines, "; ")), " ")
}

// mayLabel reports whether answers of the shape may carry a "label" (so the
// prompt lists the labels already taken).
func (s *shape) mayLabel() bool { return s == nil || s.words != "" || s.props["label"] }

// uses reports whether the answer's field name becomes the centroid's
// field of that name: always for a description in words (when the field is
// present and of the right type), for a schema when it declares it.
func (s *shape) uses(name string) bool { return s.words != "" || s.props[name] }

// format is the part of the instructions that says what to answer.
func (s *shape) format() string {
	const reply = "Reply with only a JSON object, without code fences or any other text, "
	if s.schema != nil {
		out := reply + "that is valid against this JSON Schema:\n" + s.text
		if s.props["label"] {
			out += "\nIts \"label\" must differ from every label listed as already taken."
		}
		return out
	}
	return reply + "with the fields this description asks for (short snake_case keys; strings, numbers, booleans, lists or objects as fits):\n" +
		s.words + "\nIf the object has a \"label\", it must differ from every label listed as already taken."
}

// parse finds the answer in text: the first balanced JSON object that
// follows the shape (any object for a description in words); failing that
// the reason the first object does not. Fields the shape names label,
// summary and keywords fill the ClusterLabel when they have the right type
// (a label is whitespace-collapsed and cut to MaxLabelLength; keywords are
// the non-empty strings, whitespace-collapsed, repeats dropped
// case-insensitively); Answer is the object itself, compacted.
func (s *shape) parse(text string) (ClusterLabel, error) {
	raw, err := findObject(text, func(obj []byte) error {
		if s.schema == nil {
			return nil
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(obj))
		if err != nil {
			return err
		}
		if err := s.schema.Validate(inst); err != nil {
			return fmt.Errorf("the answer does not follow response_shape: %s", clip(oneLine(err.Error()), maxShapeError))
		}
		return nil
	})
	if err != nil {
		return ClusterLabel{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return ClusterLabel{}, err
	}
	out := ClusterLabel{Answer: json.RawMessage(compact.Bytes())}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return ClusterLabel{}, err
	}
	var str string
	if s.uses("label") && json.Unmarshal(fields["label"], &str) == nil {
		out.Label = clip(str, MaxLabelLength)
	}
	if s.uses("summary") && json.Unmarshal(fields["summary"], &str) == nil {
		out.Summary = strings.TrimSpace(str)
	}
	var list []any
	if s.uses("keywords") && json.Unmarshal(fields["keywords"], &list) == nil {
		seen := map[string]bool{}
		for _, e := range list {
			k, _ := e.(string)
			k = strings.Join(strings.Fields(k), " ")
			if lk := strings.ToLower(k); k != "" && !seen[lk] {
				seen[lk] = true
				out.Keywords = append(out.Keywords, k)
			}
		}
	}
	return out, nil
}

// findObject returns the first balanced JSON object of text (inside code
// fences, after prose, nested in an array) that accept takes; failing that,
// the error accept gave the first object, or "no JSON object found".
func findObject(text string, accept func(obj []byte) error) ([]byte, error) {
	if len(text) > maxAnswerScan {
		text = text[:maxAnswerScan]
	}
	var firstErr error
	tries := 0
	for start := strings.IndexByte(text, '{'); start >= 0 && tries < maxJSONCandidates; tries++ {
		if end := balancedEnd(text[start:]); end > 0 {
			obj := []byte(text[start : start+end])
			if json.Valid(obj) {
				err := accept(obj)
				if err == nil {
					return obj, nil
				}
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		next := strings.IndexByte(text[start+1:], '{')
		if next < 0 {
			break
		}
		start += 1 + next
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errors.New("no JSON object found")
}
