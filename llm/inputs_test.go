package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestSamplesInPrompt checks how labeling_inputs reach the prompt: each
// document one line of JSON {input_key: value}, in the inputs' order, with
// strings cut to sample_text_max_length, lists to 10 items, a vector as its
// dimension, norm and first 8 values, media URLs as plain text, empty
// samples skipped and at most max_samples_per_cluster kept.
func TestSamplesInPrompt(t *testing.T) {
	f := newFake(t, openAIWire, nil)
	f.respond = func(call) action { return answerRaw(f, `{"label": "Coffee"}`) }
	l, _ := newTestLabeler(t, f.config())
	tags := []any{}
	for i := range 12 {
		tags = append(tags, fmt.Sprintf("t%d", i))
	}
	no := false
	res := l.Label(context.Background(), Request{
		Clusters: []Cluster{{ID: "cl_0", Samples: []Sample{
			{}, // no inputs: skipped
			{{"title", "Espresso \n guide <b>"}, {"image_url", "https://img.example/a.jpg?x=1&y=2"}, {"lang", "en"},
				{"clip", Vector{3, 4, 0, 0, 0, 0, 0, 0, 0, 1e-5}}},
			{{"text", strings.Repeat("b", 50)}, {"tags", tags}, {"n", json.Number("3")}, {"meta", map[string]any{"ok": true, "w": nil}}},
			{{"text", "beyond max_samples_per_cluster"}},
		}, Keywords: []string{"espresso"}}},
		Options: Options{MaxSamplesPerCluster: 2, SampleTextMaxLength: 40, IncludeSummary: &no, IncludeKeywords: &no},
	})
	if len(res.Errors) != 0 || res.Labels["cl_0"].Label != "Coffee" {
		t.Fatalf("Result = %+v", res)
	}
	want := "Representative documents:\n" +
		`1. {"title":"Espresso guide <b>","image_url":"https://img.example/a.jpg?x=1&y=2","lang":"en","clip":{"dim":10,"norm":5,"head":[3,4,0,0,0,0,0,0]}}` + "\n" +
		`2. {"text":"` + strings.Repeat("b", 39) + `…","tags":["t0","t1","t2","t3","t4","t5","t6","t7","t8","t9","… 2 more"],"n":3,"meta":{"ok":true,"w":null}}` + "\n" +
		"\nKeywords of the cluster (TF-IDF, as hints): espresso\n"
	if got := f.allCalls()[0].user; got != want {
		t.Errorf("user prompt =\n%s\nwant\n%s", got, want)
	}
	if sys := f.allCalls()[0].system; !strings.HasPrefix(sys, defaultInstructions) {
		t.Errorf("system prompt without custom_prompt:\n%s", sys)
	}
}

// TestRenderSample checks the bounds of a sample's JSON: nesting depth, the
// whole sample's length budget, and vector rounding.
func TestRenderSample(t *testing.T) {
	deep := map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": map[string]any{"f": 1}}}}}
	if got, want := renderSample(Sample{{"a", deep}}, 200), `{"a":{"b":{"c":{"d":{"e":"{\"f\":1}"}}}}}`; got != want {
		t.Errorf("deep = %s, want %s", got, want)
	}
	if got, want := renderSample(Sample{{"v", Vector{0.123456, -1e-7}}}, 200), `{"v":{"dim":2,"norm":0.1235,"head":[0.1235,-1e-07]}}`; got != want {
		t.Errorf("vector = %s, want %s", got, want)
	}
	// 30 inputs of 10-character strings with maxLen 10: the budget (200
	// characters) holds some; the rest are counted.
	var s Sample
	for i := range 30 {
		s = append(s, Input{fmt.Sprintf("k%02d", i), strings.Repeat("é", 12)})
	}
	got := renderSample(s, 10)
	var obj map[string]any
	if err := json.Unmarshal([]byte(got), &obj); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	shown := len(obj) - 1
	if want := fmt.Sprintf("%d more inputs left out", 30-shown); obj["…"] != want || shown < 5 {
		t.Errorf("budget: %s", got)
	}
	if n := utf8.RuneCountInString(got) - utf8.RuneCountInString(`,"…":"19 more inputs left out"`); n > 200 {
		t.Errorf("budget: %d characters before the marker, want <= 200", n)
	}
	// The first input is shown whatever its length.
	if got := renderSample(Sample{{"k", strings.Repeat("x", 500)}}, 300); !strings.HasPrefix(got, `{"k":"xxx`) || strings.Contains(got, "…\":") {
		t.Errorf("first input: %s", got)
	}
}

func TestPayloadSample(t *testing.T) {
	got := PayloadSample(json.RawMessage(`{"title": "T", "n": 1.50, "nested": {"b": 1, "a": [1, "x"]}, "title2": null, "n": 2}`))
	want := Sample{{"title", "T"}, {"nested", map[string]any{"b": json.Number("1"), "a": []any{json.Number("1"), "x"}}}, {"title2", nil}, {"n", json.Number("2")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("= %#v\nwant %#v", got, want)
	}
	for _, p := range []string{``, `null`, `[1]`, `"x"`, `{}`, `{"a": }`} {
		if got := PayloadSample(json.RawMessage(p)); got != nil {
			t.Errorf("%q: = %v, want nil", p, got)
		}
	}
}

// shapeSchema is Mixpeek's response_shape example (a JSON Schema), with a
// label.
const shapeSchema = `{"type": "object", "properties": {"label": {"type": "string"}, "category": {"type": "string", "description": "Main category"},
	"confidence": {"type": "number", "minimum": 0, "maximum": 1}, "keywords": {"type": "array", "items": {"type": "string"}, "maxItems": 5}},
	"required": ["category", "confidence"]}`

// TestResponseShape checks both forms of response_shape: the prompt asks
// for the shape, answers that follow it are kept whole (Answer) with their
// label, summary and keywords used as the shape allows, and answers that
// do not are asked for again once, then fail the cluster.
func TestResponseShape(t *testing.T) {
	cases := []struct {
		name    string
		shape   string
		custom  string
		answers map[string][]string // topic → answers, in order; the last repeats
		// want: the labels by cluster; wantErrs: llm_labeling_errors
		want       map[string]ClusterLabel
		wantErrs   []string
		wantSystem []string // substrings of the system prompt
		wantTaken  bool     // whether the second call lists the first's label as taken
		wantCalls  int
	}{
		{
			name:  "schema",
			shape: shapeSchema,
			answers: map[string][]string{
				"Dogs": {"```json\n" + `{"label": "Dogs", "category": "pets", "confidence": 0.9, "keywords": ["dog", " Dog ", "bark"], "summary": "ignored"}` + "\n```"},
				"Cats": {`{"category": "pets", "confidence": 1.5}`},
			},
			want: map[string]ClusterLabel{"cl_5": {Label: "Dogs", Keywords: []string{"dog", "bark"},
				Answer: json.RawMessage(`{"label":"Dogs","category":"pets","confidence":0.9,"keywords":["dog"," Dog ","bark"],"summary":"ignored"}`)}},
			wantErrs: []string{`{"error":"openai: invalid answer: the answer does not follow response_shape: jsonschema validation failed with 'mem:///response_shape.json#'; at '/confidence': maximum: got 1.5, want 1","clusters":["cl_3"]}`},
			wantSystem: []string{defaultInstructions, "valid against this JSON Schema:\n" + `{"type":"object","properties":{"label":{"type":"string"}`,
				`Its "label" must differ`},
			wantTaken: true,
			wantCalls: 3,
		},
		{
			name:  "schema, second answer follows it",
			shape: shapeSchema,
			answers: map[string][]string{
				"Dogs": {`{"category": "pets"}`, `{"category": "pets", "confidence": 1}`},
				"Cats": {`{"category": "pets", "confidence": 0}`},
			},
			want: map[string]ClusterLabel{
				"cl_5": {Answer: json.RawMessage(`{"category":"pets","confidence":1}`)},
				"cl_3": {Answer: json.RawMessage(`{"category":"pets","confidence":0}`)},
			},
			wantErrs:  []string{},
			wantTaken: false, // no label in the answers
			wantCalls: 3,
		},
		{
			name:  "schema without label",
			shape: `{"type": "object", "properties": {"mood": {"enum": ["calm", "loud"]}}, "required": ["mood"]}`,
			answers: map[string][]string{
				"Dogs": {`{"mood": "loud", "label": "not declared"}`},
				"Cats": {`{"mood": "calm"}`},
			},
			want: map[string]ClusterLabel{
				"cl_5": {Answer: json.RawMessage(`{"mood":"loud","label":"not declared"}`)},
				"cl_3": {Answer: json.RawMessage(`{"mood":"calm"}`)},
			},
			wantErrs:   []string{},
			wantSystem: []string{`{"type":"object","properties":{"mood":{"enum":["calm","loud"]}},"required":["mood"]}`},
			wantTaken:  false,
			wantCalls:  2,
		},
		{
			name:   "words with custom prompt",
			shape:  `"Extract cluster category, confidence score between 0 and 1, and top 3 representative keywords"`,
			custom: "You classify pet forums.",
			answers: map[string][]string{
				"Dogs": {`Sure: {"category": "pets", "label": "  Dog   things ", "summary": " About dogs. ", "keywords": "not a list"}`},
				"Cats": {"I would rather not use JSON."},
			},
			want: map[string]ClusterLabel{"cl_5": {Label: "Dog things", Summary: "About dogs.",
				Answer: json.RawMessage(`{"category":"pets","label":"  Dog   things ","summary":" About dogs. ","keywords":"not a list"}`)}},
			wantErrs: []string{`{"error":"openai: invalid answer: no JSON object found","clusters":["cl_3"]}`},
			wantSystem: []string{"You classify pet forums.\n\nAnswer format (required", "with the fields this description asks for",
				"Extract cluster category, confidence score between 0 and 1, and top 3 representative keywords"},
			wantTaken: true,
			wantCalls: 3,
		},
		{
			name:  "labels kept unique",
			shape: `{"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}`,
			answers: map[string][]string{
				"Dogs": {`{"label": "Pets"}`},
				"Cats": {`{"label": "Pets"}`},
			},
			want: map[string]ClusterLabel{
				"cl_5": {Label: "Pets", Answer: json.RawMessage(`{"label":"Pets"}`)},
				// Asked again with "Pets" taken, the model repeats itself:
				// the label gets a suffix, the answer stays the model's.
				"cl_3": {Label: "Pets (2)", Answer: json.RawMessage(`{"label":"Pets"}`)},
			},
			wantErrs:  []string{},
			wantTaken: true,
			wantCalls: 3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, openAIWire, nil)
			seen := map[string]int{}
			f.respond = func(c call) action {
				tp := topic(c.user)
				f.mu.Lock()
				n := seen[tp]
				seen[tp]++
				f.mu.Unlock()
				a := tc.answers[tp]
				return answerRaw(f, a[min(n, len(a)-1)])
			}
			cfg := f.config()
			cfg.Concurrency = 1 // calls in order: the second sees the first's label
			l, _ := newTestLabeler(t, cfg)
			req := twoClusters(openAIWire)
			req.Options.ResponseShape = json.RawMessage(tc.shape)
			req.Options.CustomPrompt = tc.custom
			res := l.Label(context.Background(), req)
			if !reflect.DeepEqual(res.Labels, tc.want) {
				t.Errorf("Labels = %+v\nwant %+v", res.Labels, tc.want)
			}
			if !reflect.DeepEqual(res.Errors, tc.wantErrs) {
				t.Errorf("Errors = %q\nwant %q", res.Errors, tc.wantErrs)
			}
			calls := f.allCalls()
			if len(calls) != tc.wantCalls {
				t.Fatalf("%d calls, want %d", len(calls), tc.wantCalls)
			}
			for _, w := range tc.wantSystem {
				if !strings.Contains(calls[0].system, w) {
					t.Errorf("system prompt lacks %q:\n%s", w, calls[0].system)
				}
			}
			if strings.Contains(calls[0].system, `{"label": "..."`) {
				t.Errorf("system prompt asks for the default answer:\n%s", calls[0].system)
			}
			var second string
			for _, c := range calls {
				if topic(c.user) == "Cats" {
					second = c.user
					break
				}
			}
			if got := strings.Contains(second, "Labels already taken"); got != tc.wantTaken {
				t.Errorf("taken labels listed = %v, want %v:\n%s", got, tc.wantTaken, second)
			}
		})
	}
}

// TestCheckResponseShape checks which response_shape values are usable.
func TestCheckResponseShape(t *testing.T) {
	cases := []struct {
		shape   string
		wantErr string // substring; "" for none
	}{
		{`"a category and a confidence score"`, ""},
		{shapeSchema, ""},
		{`{}`, ""},
		{`{"type": ["object", "null"], "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"type": "string"}}}`, ""},
		{`{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}`, ""},
		{`{"type": "array"}`, `"type" must be "object"`},
		{`{"type": "object", "properties": {"a": {"type": "strin"}}}`, "properties/a/type"},
		{`{"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}}`, "may not refer to other documents"},
		{`{"$ref": "https://example.com/schema.json"}`, "may not refer to other documents"},
	}
	for _, tc := range cases {
		v, err := parseJSON(tc.shape)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckResponseShape(v)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: error %v, want %q", tc.shape, err, tc.wantErr)
		}
		if _, err2 := parseShape(json.RawMessage(tc.shape)); (err2 == nil) != (err == nil) {
			t.Errorf("%s: parseShape error %v, CheckResponseShape %v", tc.shape, err2, err)
		}
	}
	for _, raw := range []string{``, `null`, `"  "`} {
		if sh, err := parseShape(json.RawMessage(raw)); sh != nil || err != nil {
			t.Errorf("%q: = %v, %v; want the default answer", raw, sh, err)
		}
	}
	if _, err := parseShape(json.RawMessage(`5`)); err == nil {
		t.Error("a number was taken as a response_shape")
	}
}

func parseJSON(s string) (any, error) {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// TestExtraParametersPrecedence checks where unknown parameters go and what
// they may not change: the conversation and streaming are clusterd's, known
// keys win over extra keys of the same wire name, and extras may replace
// the defaults clusterd sets on its own (response_format, responseMimeType).
func TestExtraParametersPrecedence(t *testing.T) {
	cases := []struct {
		w      wire
		params string
		check  func(b map[string]any) error
	}{
		{openAIWire, `{"model": "evil", "messages": [], "stream": true, "stream_options": {}, "response_format": {"type": "text"},
			"logit_bias": {"50256": -100}, "temperature": 0.5, "user": "u1"}`,
			func(b map[string]any) error {
				if b["model"] != "gpt-4o-mini" || len(b["messages"].([]any)) != 2 || b["stream"] != nil || b["stream_options"] != nil {
					return fmt.Errorf("protected fields changed")
				}
				if rf, _ := b["response_format"].(map[string]any); rf["type"] != "text" {
					return fmt.Errorf("response_format = %v", b["response_format"])
				}
				if b["temperature"] != 0.5 || b["user"] != "u1" || b["logit_bias"].(map[string]any)["50256"] != -100.0 {
					return fmt.Errorf("extras not forwarded")
				}
				return nil
			}},
		{anthropicWire, `{"system": "evil", "model": "evil", "stream": true, "stop": "END", "stop_sequences": ["X"], "metadata": {"user_id": "u1"}}`,
			func(b map[string]any) error {
				if b["model"] != "claude-haiku-4-5" || b["stream"] != nil || !strings.HasPrefix(b["system"].(string), defaultInstructions) {
					return fmt.Errorf("protected fields changed")
				}
				if !reflect.DeepEqual(b["stop_sequences"], []any{"END"}) {
					return fmt.Errorf("stop_sequences = %v, want the known key's", b["stop_sequences"])
				}
				if b["metadata"].(map[string]any)["user_id"] != "u1" {
					return fmt.Errorf("metadata not forwarded")
				}
				return nil
			}},
		{googleWire, `{"responseMimeType": "text/plain", "thinkingConfig": {"thinkingBudget": 0}, "topK": 3, "top_k": 5}`,
			func(b map[string]any) error {
				gc := b["generationConfig"].(map[string]any)
				if gc["responseMimeType"] != "text/plain" || gc["topK"] != 5.0 || gc["thinkingConfig"].(map[string]any)["thinkingBudget"] != 0.0 {
					return fmt.Errorf("generationConfig = %v", gc)
				}
				if b["contents"] == nil || b["thinkingConfig"] != nil {
					return fmt.Errorf("body = %v", b)
				}
				return nil
			}},
	}
	for _, tc := range cases {
		t.Run(tc.w.provider, func(t *testing.T) {
			w := tc.w
			var bodyErr error
			w.decode = func(b map[string]any) (string, string, error) {
				bodyErr = tc.check(b)
				return "", "[[Dogs]]", nil
			}
			f := newFake(t, w, nil)
			f.respond = func(call) action { return answer(f) }
			l, _ := newTestLabeler(t, f.config())
			req := twoClusters(w)
			req.Clusters = req.Clusters[:1]
			req.Options.Parameters = json.RawMessage(tc.params)
			if res := l.Label(context.Background(), req); len(res.Errors) != 0 {
				t.Fatalf("Errors = %q", res.Errors)
			}
			if bodyErr != nil {
				t.Error(bodyErr)
			}
		})
	}
}

// TestDefaultModel checks that model_name null uses the provider's default
// model (OpenAI's without a provider either), and that a model name outside
// Mixpeek's lists reaches an OpenAI-compatible server as it is.
func TestDefaultModel(t *testing.T) {
	for _, tc := range []struct {
		w               wire
		provider, model string
		wantModel       string
	}{
		{openAIWire, "", "", DefaultOpenAIModel},
		{anthropicWire, "anthropic", "", DefaultAnthropicModel},
		{openAIWire, "openai", "qwen2.5:7b-instruct", "qwen2.5:7b-instruct"},
	} {
		w := tc.w
		var got any
		dec := w.decode
		w.decode = func(b map[string]any) (string, string, error) {
			got = b["model"]
			b["model"] = tc.w.model // the stock decoder checks it
			return dec(b)
		}
		f := newFake(t, w, nil)
		f.respond = func(call) action { return answer(f) }
		l, _ := newTestLabeler(t, f.config())
		req := twoClusters(w)
		req.Clusters = req.Clusters[:1]
		req.Options.Provider, req.Options.Model = tc.provider, tc.model
		if res := l.Label(context.Background(), req); len(res.Errors) != 0 || got != tc.wantModel {
			t.Errorf("(%q, %q): model %v, errors %q; want %s", tc.provider, tc.model, got, res.Errors, tc.wantModel)
		}
	}
}

// TestAPIKeyNeverLeaksFromShapes has the model echo the key into answers
// under a response_shape, valid and invalid: neither the kept answer nor
// the validation message holds it.
func TestAPIKeyNeverLeaksFromShapes(t *testing.T) {
	f := newFake(t, openAIWire, nil)
	f.respond = func(c call) action {
		if topic(c.user) == "Dogs" {
			return answerRaw(f, fmt.Sprintf(`{"label": "Key %s", "note": "ok"}`, testKey))
		}
		return answerRaw(f, fmt.Sprintf(`{"label": "x", "note": %q}`, testKey))
	}
	l, _ := newTestLabeler(t, f.config())
	req := twoClusters(openAIWire)
	req.Options.ResponseShape = json.RawMessage(`{"type": "object", "properties": {"label": {"type": "string"}, "note": {"const": "ok"}}}`)
	res := l.Label(context.Background(), req)
	dump := fmt.Sprintf("%+v %s %q", res.Labels, res.Labels["cl_5"].Answer, res.Errors)
	if strings.Contains(dump, testKey) || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "does not follow response_shape") {
		t.Fatalf("Result: %s", dump)
	}
	if got := string(res.Labels["cl_5"].Answer); got != `{"label":"Key [REDACTED]","note":"ok"}` {
		t.Errorf("Answer = %s", got)
	}
}
