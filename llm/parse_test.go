package llm

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseAnswer(t *testing.T) {
	cases := []struct {
		name             string
		text             string
		summary, keyword bool
		want             ClusterLabel
		wantErr          string
	}{
		{"plain", `{"label": " Cat  photos ", "summary": " Pictures. ", "keywords": ["cat", " Cat ", "photo"]}`, true, true,
			ClusterLabel{Label: "Cat photos", Summary: "Pictures.", Keywords: []string{"cat", "photo"}}, ""},
		{"fenced with prose", "Sure!\n```json\n{\"label\": \"A\", \"summary\": \"s\", \"keywords\": [\"k\"]}\n```\nDone.", true, true,
			ClusterLabel{Label: "A", Summary: "s", Keywords: []string{"k"}}, ""},
		{"braces in strings", `{"label": "Sets {a, b} \"quoted\"", "x": "}"}`, false, false, ClusterLabel{Label: `Sets {a, b} "quoted"`}, ""},
		{"prose braces first", `Think {step by step}. Answer: {"label": "B"}`, false, false, ClusterLabel{Label: "B"}, ""},
		{"nested object", `{"result": {"label": "C"}}`, false, false, ClusterLabel{Label: "C"}, ""},
		{"extra fields ignored", `{"label": "D", "keywords": 3}`, false, false, ClusterLabel{Label: "D"}, ""},
		{"no JSON", "I cannot do that.", false, false, ClusterLabel{}, "no JSON object found"},
		{"unbalanced", `{"label": "E"`, false, false, ClusterLabel{}, "no JSON object found"},
		{"no label", `{"name": "F"}`, false, false, ClusterLabel{}, `"label" is missing or not a string`},
		{"label not a string", `{"label": 5}`, false, false, ClusterLabel{}, `"label" is missing or not a string`},
		{"empty label", `{"label": "  "}`, false, false, ClusterLabel{}, `"label" is empty`},
		{"label 80 runes", `{"label": "` + strings.Repeat("é", 80) + `"}`, false, false, ClusterLabel{Label: strings.Repeat("é", 80)}, ""},
		{"label 81 runes", `{"label": "` + strings.Repeat("é", 81) + `"}`, false, false, ClusterLabel{}, `"label" is longer than 80 characters`},
		{"summary missing", `{"label": "G"}`, true, false, ClusterLabel{}, `"summary" is missing or not a string`},
		{"summary not string", `{"label": "G", "summary": ["x"]}`, true, false, ClusterLabel{}, `"summary" is missing or not a string`},
		{"keywords missing", `{"label": "H"}`, false, true, ClusterLabel{}, `"keywords" must be a list of 1 to 10 strings`},
		{"keywords empty list", `{"label": "H", "keywords": []}`, false, true, ClusterLabel{}, `"keywords" must be a list of 1 to 10 strings`},
		{"keywords 11", `{"label": "H", "keywords": ["1","2","3","4","5","6","7","8","9","10","11"]}`, false, true, ClusterLabel{}, `"keywords" must be a list of 1 to 10 strings`},
		{"keywords not strings", `{"label": "H", "keywords": [1]}`, false, true, ClusterLabel{}, `"keywords" must be a list of 1 to 10 strings`},
		{"keyword empty", `{"label": "H", "keywords": ["a", " "]}`, false, true, ClusterLabel{}, `"keywords" has an empty keyword`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAnswer(tc.text, tc.summary, tc.keyword)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("= %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseParams(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	i64 := func(v int64) *int64 { return &v }
	cases := []struct {
		raw     string
		want    Params
		wantErr string
	}{
		{"", Params{JSONMode: true}, ""},
		{"null", Params{JSONMode: true}, ""},
		{`{"temperature": 0, "max_output_tokens": 200, "top_k": 5, "stop": ["a", "b"], "seed": -3, "json_mode": false, "frequency_penalty": null, "other": true}`,
			Params{Temperature: f(0), MaxTokens: i(200), TopK: i(5), Stop: []string{"a", "b"}, Seed: i64(-3), Extra: map[string]json.RawMessage{"other": json.RawMessage("true")}}, ""},
		{`{"json_output": false, "stop": "x"}`, Params{Stop: []string{"x"}}, ""},
		{`{"max_tokens": 100, "max_completion_tokens": 50}`, Params{MaxTokens: i(100), JSONMode: true}, ""},
		{`[1]`, Params{}, "parameters: Input should be a valid dictionary or instance of LLMParameters"},
		{`{"temperature": "hot"}`, Params{}, "parameters.temperature: Input should be a valid number"},
		{`{"max_tokens": 0}`, Params{}, "parameters.max_tokens: Input should be greater than or equal to 1"},
		{`{"max_tokens": 1.5}`, Params{}, "parameters.max_tokens: Input should be a valid integer, got a number with a fractional part"},
		{`{"seed": 1e12}`, Params{}, "parameters.seed: Input should be less than or equal to 2147483647"},
		{`{"stop": 3}`, Params{}, "parameters.stop: Input should be a valid string, a valid list or null"},
		{`{"json_mode": "yes"}`, Params{}, "parameters.json_mode: Input should be a valid boolean"},
	}
	for _, tc := range cases {
		got, err := ParseParams(json.RawMessage(tc.raw))
		if tc.wantErr != "" {
			if !errors.Is(err, ErrConfig) || !strings.HasSuffix(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.raw, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestResolveProvider(t *testing.T) {
	cases := []struct {
		provider, model   string
		wantName, wantMod string
		wantErr           bool
	}{
		{"", "gpt-4o", OpenAI, "gpt-4o", false},
		{"", "o1-mini", OpenAI, "o1-mini", false},
		{"", "o3", OpenAI, "o3", false},
		{"", "o4-mini", OpenAI, "o4-mini", false},
		{"", "chatgpt-4o-latest", OpenAI, "chatgpt-4o-latest", false},
		{"", "claude-sonnet-4-5", Anthropic, "claude-sonnet-4-5", false},
		{"", "gemini-2.5-pro", Google, "gemini-2.5-pro", false},
		{"", "models/gemini-2.0-flash", Google, "models/gemini-2.0-flash", false},
		{"", "", OpenAI, DefaultOpenAIModel, false},
		// Mixpeek's OpenAIModel, AnthropicModel and GoogleModel names.
		{"", "gpt-4o-mini-2024-07-18", OpenAI, "gpt-4o-mini-2024-07-18", false},
		{"", "gpt-4.1-2025-04-14", OpenAI, "gpt-4.1-2025-04-14", false},
		{"", "o3-mini-2025-01-31", OpenAI, "o3-mini-2025-01-31", false},
		{"", "claude-3-5-haiku-20241022", Anthropic, "claude-3-5-haiku-20241022", false},
		{"", "gemini-2.0-flash-exp", Google, "gemini-2.0-flash-exp", false},
		{"Anthropic", "", Anthropic, DefaultAnthropicModel, false},
		{"google", "", Google, DefaultGoogleModel, false},
		{"openai", "llama3.1:8b", OpenAI, "llama3.1:8b", false},
		{"", "llama3.1:8b", "", "", true},
		{"", "mistral-large", "", "", true},
		{"cohere", "gpt-4o", "", "", true},
	}
	for _, tc := range cases {
		name, model, err := ResolveProvider(tc.provider, tc.model)
		if tc.wantErr {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("(%q, %q): error %v, want ErrConfig", tc.provider, tc.model, err)
			}
			continue
		}
		if err != nil || name != tc.wantName || model != tc.wantMod {
			t.Errorf("(%q, %q) = %q, %q, %v; want %q, %q", tc.provider, tc.model, name, model, err, tc.wantName, tc.wantMod)
		}
	}
}

func TestRetryAfterAndBackoff(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", -1},
		{"3", 3 * time.Second},
		{" 0 ", 0},
		{"-1", -1},
		{"soon", -1},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"99999999999999", 24 * time.Hour},
	}
	for _, tc := range cases {
		if got := parseRetryAfter(tc.header, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}

	tr := newTransport(Config{}.withDefaults())
	if got := tr.wait(1, time.Hour); got != DefaultMaxRetryAfter {
		t.Errorf("wait(Retry-After 1h) = %v, want the %v cap", got, DefaultMaxRetryAfter)
	}
	if got := tr.wait(1, 0); got != 0 {
		t.Errorf("wait(Retry-After 0) = %v", got)
	}
	for _, jitter := range []struct {
		name string
		fn   func(int64) int64
		want []time.Duration // retries 1..6
	}{
		{"lowest", func(int64) int64 { return 0 }, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}},
		{"highest", func(n int64) int64 { return n - 1 }, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}},
	} {
		tr.jitter = jitter.fn
		var got []time.Duration
		for n := 1; n <= 6; n++ {
			got = append(got, tr.wait(n, -1))
		}
		if !slices.Equal(got, jitter.want) {
			t.Errorf("%s jitter: backoffs %v, want %v", jitter.name, got, jitter.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	cases := []struct {
		body string
		want string
	}{
		{`{"error": {"message": "Rate limit", "type": "x"}}`, "Rate limit"},
		{`{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`, "Overloaded"},
		{`{"error": "model 'x' not found"}`, "model 'x' not found"},
		{`{"object": "error", "message": "bad"}`, "bad"},
		{`{"detail": "Not Found"}`, "Not Found"},
		{`upstream timeout`, "upstream timeout"},
		{`<html><body>502</body></html>`, "Bad Gateway"},
		{``, "Bad Gateway"},
	}
	for _, tc := range cases {
		if got := errorMessage(502, []byte(tc.body)); got != tc.want {
			t.Errorf("errorMessage(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	long := clip(strings.Repeat("word ", 100), maxErrorMessage)
	if n := len([]rune(long)); n != maxErrorMessage || !strings.HasSuffix(long, "…") {
		t.Errorf("clip kept %d runes: %q", n, long)
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor("abc", "", "xxabcxx", "abc")
	if got := r.redact("key xxabcxx and abc"); got != "key [REDACTED] and [REDACTED]" {
		t.Errorf("redact = %q", got)
	}
}

func TestNaturalCompare(t *testing.T) {
	ids := []string{"cl_10", "cl_2", "cl_1", "cl_02", "b", "a10", "a9", "cl_1_3", "cl_1_10"}
	slices.SortFunc(ids, naturalCompare)
	want := []string{"a9", "a10", "b", "cl_1", "cl_1_3", "cl_1_10", "cl_02", "cl_2", "cl_10"}
	if !slices.Equal(ids, want) {
		t.Errorf("sorted %q, want %q", ids, want)
	}
}
