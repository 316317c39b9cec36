package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestProviders runs every scenario against every provider's fake server and
// checks the whole Result.
func TestProviders(t *testing.T) {
	type scenario struct {
		name string
		// respond picks each call's action.
		respond func(f *fakeServer, c call) action
		// config adjusts the Config.
		config func(c *Config)
		// wantLabels are the topics labeled; wantErrors the exact
		// llm_labeling_errors, "%s" standing for the provider name.
		wantLabels []string
		wantErrors []string
		wantCalls  int
		// checkSleeps checks the recorded backoff waits.
		checkSleeps func(t *testing.T, d []time.Duration)
		// check inspects the calls and the result further.
		check func(t *testing.T, calls []call, res Result)
	}
	noSleep := func(t *testing.T, d []time.Duration) {
		if len(d) != 0 {
			t.Errorf("slept %v, want no retries", d)
		}
	}
	scenarios := []scenario{{
		name:        "success",
		respond:     func(f *fakeServer, _ call) action { return answer(f) },
		wantLabels:  []string{"Cats", "Dogs"},
		wantErrors:  []string{},
		wantCalls:   2,
		checkSleeps: noSleep,
		check: func(t *testing.T, calls []call, _ Result) {
			for _, c := range calls {
				if !strings.Contains(c.system, `{"label": "...", "summary": "...", "keywords": ["...", "..."]}`) {
					t.Errorf("system prompt lacks the JSON shape:\n%s", c.system)
				}
				if !strings.Contains(c.user, "1. [[") || !strings.Contains(c.user, "2. ") || !strings.Contains(c.user, "Keywords of the cluster (TF-IDF, as hints): ") {
					t.Errorf("user prompt lacks numbered documents or hints:\n%s", c.user)
				}
			}
		},
	}, {
		name: "429 then success honours Retry-After",
		respond: func(f *fakeServer, c call) action {
			if c.n == 1 {
				return fail(f, 429, "Rate limit reached", map[string]string{"Retry-After": "2"})
			}
			return answer(f)
		},
		wantLabels: []string{"Cats", "Dogs"},
		wantErrors: []string{},
		wantCalls:  3,
		checkSleeps: func(t *testing.T, d []time.Duration) {
			if !reflect.DeepEqual(d, []time.Duration{2 * time.Second}) {
				t.Errorf("slept %v, want [2s] (the Retry-After)", d)
			}
		},
	}, {
		name:    "timeout",
		respond: func(*fakeServer, call) action { return hang },
		config: func(c *Config) {
			c.Timeout = 100 * time.Millisecond
			c.MaxRetries = 1
		},
		wantErrors: []string{`{"error":"%s: request timed out after 100ms (gave up after 2 attempts)","clusters":["cl_3","cl_5"]}`},
		wantCalls:  4,
		checkSleeps: func(t *testing.T, d []time.Duration) {
			if len(d) != 2 {
				t.Errorf("slept %v, want one backoff per cluster", d)
			}
		},
		check: func(t *testing.T, _ []call, res Result) {
			if !errors.Is(res.Failed["cl_3"], ErrTimeout) {
				t.Errorf("Failed[cl_3] = %v, want ErrTimeout", res.Failed["cl_3"])
			}
		},
	}, {
		name:       "500 retried then failing",
		respond:    func(f *fakeServer, _ call) action { return fail(f, 500, "boom", nil) },
		wantErrors: []string{`{"error":"%s: HTTP 500: boom (gave up after 4 attempts)","clusters":["cl_3","cl_5"]}`},
		wantCalls:  8,
		checkSleeps: func(t *testing.T, d []time.Duration) {
			if len(d) != 6 {
				t.Fatalf("slept %v, want 3 backoffs per cluster", d)
			}
			for _, x := range d { // backoff 0.5 s, 1 s, 2 s, each jittered to [d/2, d]
				if x < 250*time.Millisecond || x > 2*time.Second {
					t.Errorf("backoff %v out of range", x)
				}
			}
		},
		check: func(t *testing.T, _ []call, res Result) {
			var ae *APIError
			if !errors.As(res.Failed["cl_5"], &ae) || ae.StatusCode != 500 || ae.Attempts != 4 {
				t.Errorf("Failed[cl_5] = %#v, want an APIError 500 after 4 attempts", res.Failed["cl_5"])
			}
		},
	}, {
		name:        "400 not retried",
		respond:     func(f *fakeServer, _ call) action { return fail(f, 400, "bad request: unknown field", nil) },
		wantErrors:  []string{`{"error":"%s: HTTP 400: bad request: unknown field","clusters":["cl_3","cl_5"]}`},
		wantCalls:   2,
		checkSleeps: noSleep,
	}, {
		name:        "malformed answer asked twice",
		respond:     func(f *fakeServer, _ call) action { return answerRaw(f, "The cluster is about pets, I think.") },
		wantErrors:  []string{`{"error":"%s: invalid answer: no JSON object found","clusters":["cl_3","cl_5"]}`},
		wantCalls:   4,
		checkSleeps: noSleep,
		check: func(t *testing.T, calls []call, res Result) {
			retried := 0
			for _, c := range calls {
				if strings.Contains(c.user, "Your previous answer was not valid (no JSON object found)") {
					retried++
				}
			}
			if retried != 2 {
				t.Errorf("%d calls said why the answer was invalid, want 2", retried)
			}
			if !errors.Is(res.Failed["cl_3"], ErrInvalidAnswer) {
				t.Errorf("Failed[cl_3] = %v, want ErrInvalidAnswer", res.Failed["cl_3"])
			}
		},
	}, {
		name: "malformed answer then valid",
		respond: func(f *fakeServer, c call) action {
			if strings.Contains(c.user, "previous answer was not valid") {
				return answer(f)
			}
			return answerRaw(f, `{"label": "", "summary": "x", "keywords": ["a"]}`)
		},
		wantLabels:  []string{"Cats", "Dogs"},
		wantErrors:  []string{},
		wantCalls:   4,
		checkSleeps: noSleep,
	}, {
		name:        "refusal",
		respond:     func(f *fakeServer, _ call) action { return refuse(f) },
		wantErrors:  []string{`{"error":"%s: the model refused to label the cluster%s","clusters":["cl_3","cl_5"]}`},
		wantCalls:   2,
		checkSleeps: noSleep,
		check: func(t *testing.T, _ []call, res Result) {
			if !errors.Is(res.Failed["cl_3"], ErrRefused) {
				t.Errorf("Failed[cl_3] = %v, want ErrRefused", res.Failed["cl_3"])
			}
		},
	}, {
		name: "connection reset retried",
		respond: func(f *fakeServer, c call) action {
			if c.n == 1 {
				return resetConn
			}
			return answer(f)
		},
		wantLabels: []string{"Cats", "Dogs"},
		wantErrors: []string{},
		wantCalls:  3,
		checkSleeps: func(t *testing.T, d []time.Duration) {
			if len(d) != 1 {
				t.Errorf("slept %v, want one backoff", d)
			}
		},
	}}
	for _, w := range wires {
		for _, sc := range scenarios {
			t.Run(w.provider+"/"+sc.name, func(t *testing.T) {
				t.Parallel()
				f := newFake(t, w, nil)
				f.respond = func(c call) action { return sc.respond(f, c) }
				cfg := f.config()
				if sc.config != nil {
					sc.config(&cfg)
				}
				l, sl := newTestLabeler(t, cfg)
				res := l.Label(context.Background(), twoClusters(w))

				want := map[string]ClusterLabel{}
				for _, topic := range sc.wantLabels {
					want[map[string]string{"Cats": "cl_3", "Dogs": "cl_5"}[topic]] = wantLabel(topic)
				}
				if !reflect.DeepEqual(res.Labels, want) {
					t.Errorf("Labels = %+v\nwant %+v", res.Labels, want)
				}
				refusalDetail := map[string]string{Google: " (finishReason SAFETY)"}[w.provider]
				wantErrs := []string{}
				for _, e := range sc.wantErrors {
					if strings.Count(e, "%s") == 2 {
						e = fmt.Sprintf(e, w.provider, refusalDetail)
					} else {
						e = fmt.Sprintf(e, w.provider)
					}
					wantErrs = append(wantErrs, e)
				}
				if !reflect.DeepEqual(res.Errors, wantErrs) {
					t.Errorf("Errors = %q\nwant %q", res.Errors, wantErrs)
				}
				for _, e := range res.Errors {
					if !json.Valid([]byte(e)) {
						t.Errorf("error %q is not JSON", e)
					}
				}
				if got := f.callCount(); got != sc.wantCalls {
					t.Errorf("%d calls, want %d", got, sc.wantCalls)
				}
				if sc.checkSleeps != nil {
					sc.checkSleeps(t, sl.get())
				}
				if sc.check != nil {
					sc.check(t, f.allCalls(), res)
				}
			})
		}
	}
}

// TestParametersMapping checks that parameters reach each provider's own
// generation fields, and that unknown keys are forwarded (top level for
// OpenAI and Anthropic, generationConfig for Gemini).
func TestParametersMapping(t *testing.T) {
	params := json.RawMessage(`{"temperature": 0.2, "max_tokens": 300, "top_p": 0.9, "top_k": 40, "stop": "END", "seed": 7, "presence_penalty": 0.1, "unknown": {"x": 1}}`)
	cases := []struct {
		w      wire
		model  string
		want   map[string]any // dotted path → value
		absent []string
	}{
		{openAIWire, "gpt-4o-mini", map[string]any{"temperature": 0.2, "max_tokens": 300.0, "top_p": 0.9, "stop": []any{"END"}, "seed": 7.0, "presence_penalty": 0.1,
			"unknown": map[string]any{"x": 1.0}}, []string{"top_k", "max_completion_tokens"}},
		{anthropicWire, "claude-haiku-4-5", map[string]any{"temperature": 0.2, "max_tokens": 300.0, "top_p": 0.9, "top_k": 40.0, "stop_sequences": []any{"END"},
			"unknown": map[string]any{"x": 1.0}}, []string{"seed", "presence_penalty"}},
		{googleWire, "gemini-2.5-flash", map[string]any{"generationConfig.temperature": 0.2, "generationConfig.maxOutputTokens": 300.0,
			"generationConfig.topP": 0.9, "generationConfig.topK": 40.0, "generationConfig.stopSequences": []any{"END"},
			"generationConfig.seed": 7.0, "generationConfig.presencePenalty": 0.1, "generationConfig.unknown": map[string]any{"x": 1.0}},
			[]string{"temperature", "unknown"}},
	}
	for _, tc := range cases {
		t.Run(tc.w.provider, func(t *testing.T) {
			f := newFake(t, tc.w, nil)
			f.respond = func(call) action { return answer(f) }
			l, _ := newTestLabeler(t, f.config())
			req := twoClusters(tc.w)
			req.Clusters = req.Clusters[:1]
			req.Options.Parameters = params
			req.Options.Model = tc.model
			req.Options.Provider = ""
			if res := l.Label(context.Background(), req); len(res.Errors) != 0 {
				t.Fatalf("Errors = %q", res.Errors)
			}
			body := f.allCalls()[0].body
			lookup := func(path string) (any, bool) {
				var v any = body
				for _, k := range strings.Split(path, ".") {
					m, ok := v.(map[string]any)
					if !ok {
						return nil, false
					}
					if v, ok = m[k]; !ok {
						return nil, false
					}
				}
				return v, true
			}
			for path, want := range tc.want {
				if got, _ := lookup(path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			for _, path := range tc.absent {
				if got, ok := lookup(path); ok {
					t.Errorf("%s = %v, want absent", path, got)
				}
			}
		})
	}
}

// TestOpenAIReasoningModelsAndLocalServers checks max_completion_tokens for
// reasoning models, json_mode off, and no Authorization without a key.
func TestOpenAIReasoningModelsAndLocalServers(t *testing.T) {
	w := openAIWire
	w.model = "o3-mini"
	w.checkHeaders = func(h http.Header) error {
		if _, ok := h["Authorization"]; ok {
			return fmt.Errorf("Authorization sent without a key")
		}
		return nil
	}
	w.decode = func(b map[string]any) (string, string, error) {
		if b["max_completion_tokens"] != 50.0 || b["max_tokens"] != nil || b["response_format"] != nil {
			return "", "", fmt.Errorf("body = %v", b)
		}
		msgs := b["messages"].([]any)
		return msgs[0].(map[string]any)["content"].(string), msgs[1].(map[string]any)["content"].(string), nil
	}
	f := newFake(t, w, nil)
	f.respond = func(call) action { return answer(f) }
	cfg := f.config()
	cfg.OpenAIAPIKey = ""
	l, _ := newTestLabeler(t, cfg)
	req := twoClusters(w)
	req.Options.Provider = ""
	req.Options.Parameters = json.RawMessage(`{"max_completion_tokens": 50, "json_mode": false}`)
	res := l.Label(context.Background(), req)
	if len(res.Errors) != 0 || len(res.Labels) != 2 {
		t.Fatalf("Result = %+v", res)
	}
}

// TestGoogleBlockedPrompt checks promptFeedback.blockReason as a refusal.
func TestGoogleBlockedPrompt(t *testing.T) {
	f := newFake(t, googleWire, nil)
	f.respond = func(call) action {
		return func(w2 http.ResponseWriter, _ *http.Request, _ call) {
			writeJSON(w2, 200, map[string]any{"promptFeedback": map[string]any{"blockReason": "PROHIBITED_CONTENT"}})
		}
	}
	l, _ := newTestLabeler(t, f.config())
	res := l.Label(context.Background(), twoClusters(googleWire))
	want := []string{`{"error":"google: the model refused to label the cluster (blockReason PROHIBITED_CONTENT)","clusters":["cl_3","cl_5"]}`}
	if !reflect.DeepEqual(res.Errors, want) {
		t.Errorf("Errors = %q, want %q", res.Errors, want)
	}
}
