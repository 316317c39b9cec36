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

// TestAPIKeyNeverLeaks has servers echo the key in error messages and in the
// model's answers, and checks that nothing returned holds it.
func TestAPIKeyNeverLeaks(t *testing.T) {
	for _, w := range wires {
		t.Run(w.provider, func(t *testing.T) {
			f := newFake(t, w, nil)
			f.respond = func(c call) action {
				switch topic(c.user) {
				case "Auth":
					return fail(f, 401, "Incorrect API key provided: "+testKey, nil)
				case "Server":
					return fail(f, 503, "upstream rejected key "+testKey, map[string]string{"Retry-After": "0"})
				case "Refused":
					if w.provider == Google {
						return func(rw http.ResponseWriter, _ *http.Request, _ call) {
							writeJSON(rw, 200, map[string]any{"promptFeedback": map[string]any{"blockReason": testKey}})
						}
					}
					return refuse(f)
				}
				return answerRaw(f, fmt.Sprintf(`{"label": "Key %s", "summary": "echo %s", "keywords": ["%s"]}`, testKey, testKey, testKey))
			}
			l, _ := newTestLabeler(t, f.config())
			req := Request{
				Clusters: []Cluster{
					{ID: "cl_1", Texts: []string{"[[Auth]]"}},
					{ID: "cl_2", Texts: []string{"[[Server]]"}},
					{ID: "cl_3", Texts: []string{"[[Echo]]"}},
					{ID: "cl_4", Texts: []string{"[[Refused]]"}},
				},
				Options: Options{Provider: w.provider, Model: w.model},
			}
			res := l.Label(context.Background(), req)
			dump := fmt.Sprintf("%+v %q", res.Labels, res.Errors)
			for id, err := range res.Failed {
				dump += id + err.Error()
			}
			if strings.Contains(dump, testKey) {
				t.Fatalf("the API key leaked: %s", dump)
			}
			want := ClusterLabel{Label: "Key [REDACTED]", Summary: "echo [REDACTED]", Keywords: []string{"[REDACTED]"}}
			if got := res.Labels["cl_3"]; !reflect.DeepEqual(got, want) {
				t.Errorf("Labels[cl_3] = %+v, want %+v", got, want)
			}
			wantErrs := []string{
				fmt.Sprintf(`{"error":"%s: HTTP 401: Incorrect API key provided: [REDACTED]","clusters":["cl_1"]}`, w.provider),
				fmt.Sprintf(`{"error":"%s: HTTP 503: upstream rejected key [REDACTED] (gave up after 4 attempts)","clusters":["cl_2"]}`, w.provider),
			}
			if len(res.Errors) != 3 || !reflect.DeepEqual(res.Errors[:2], wantErrs) {
				t.Errorf("Errors = %q, want %q and a refusal", res.Errors, wantErrs)
			}
		})
	}
}

// TestUniqueLabels checks that taken labels are in prompts, duplicates are
// re-asked with the full taken list, and leftovers get a suffix.
func TestUniqueLabels(t *testing.T) {
	f := newFake(t, openAIWire, nil)
	asked := map[string]int{} // calls per cluster, by its "id:" marker
	f.respond = func(c call) action {
		id := c.user[strings.Index(c.user, "id:")+3:][:4]
		f.mu.Lock()
		asked[id]++
		n := asked[id]
		f.mu.Unlock()
		label := topic(c.user)
		if n == 2 && id == "cl_2" {
			label = "Kittens"
		}
		return answerRaw(f, fmt.Sprintf(`{"label": %q, "summary": "s", "keywords": ["k"]}`, label))
	}
	cfg := f.config()
	cfg.Concurrency = 1 // calls in request order, so the taken lists are known
	l, _ := newTestLabeler(t, cfg)
	req := Request{
		Clusters: []Cluster{
			{ID: "cl_1", Texts: []string{"[[Cats]] id:cl_1"}},
			{ID: "cl_2", Texts: []string{"[[Cats]] id:cl_2"}},
			{ID: "cl_3", Texts: []string{"[[cats]] id:cl_3"}},
			{ID: "cl_4", Texts: []string{"[[Dogs]] id:cl_4"}},
		},
		Options: Options{Provider: OpenAI},
	}
	res := l.Label(context.Background(), req)
	got := map[string]string{}
	for id, lab := range res.Labels {
		got[id] = lab.Label
	}
	want := map[string]string{"cl_1": "Cats", "cl_2": "Kittens", "cl_3": "cats (2)", "cl_4": "Dogs"}
	if !reflect.DeepEqual(got, want) || len(res.Errors) != 0 {
		t.Fatalf("labels = %v, errors %q; want %v", got, res.Errors, want)
	}
	calls := f.allCalls()
	if len(calls) != 6 {
		t.Fatalf("%d calls, want 4 + 2 re-asks", len(calls))
	}
	if !strings.Contains(calls[1].user, "Labels already taken by other clusters (do not reuse them):\n- Cats\n") {
		t.Errorf("second call does not list the first label as taken:\n%s", calls[1].user)
	}
	if !strings.Contains(calls[5].user, "- Cats\n- Kittens\n- Dogs\n") {
		t.Errorf("last re-ask lacks the full taken list:\n%s", calls[5].user)
	}
}

func TestSuffixDuplicates(t *testing.T) {
	long := strings.Repeat("x", MaxLabelLength)
	cases := []struct{ in, want []string }{
		{[]string{"Cats", "cats", "Cats (2)", "Cats"}, []string{"Cats", "cats (3)", "Cats (2)", "Cats (4)"}},
		{[]string{long, long}, []string{long, strings.Repeat("x", MaxLabelLength-4) + " (2)"}},
		{[]string{"A", "", "B"}, []string{"A", "", "B"}}, // "" is a failed cluster
	}
	for _, tc := range cases {
		answers := make([]*ClusterLabel, len(tc.in))
		for i, s := range tc.in {
			if s != "" {
				answers[i] = &ClusterLabel{Label: s}
			}
		}
		suffixDuplicates(answers)
		for i, a := range answers {
			if got := ""; a != nil {
				got = a.Label
				if got != tc.want[i] {
					t.Errorf("%q: [%d] = %q, want %q", tc.in, i, got, tc.want[i])
				}
			}
		}
	}
}

// TestCache checks hits (no HTTP call), misses on other inputs, expiry, and
// that TTL 0 disables caching.
func TestCache(t *testing.T) {
	f := newFake(t, anthropicWire, nil)
	f.respond = func(call) action { return answer(f) }
	l, _ := newTestLabeler(t, f.config())
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l.t.now = func() time.Time { return now }
	req := twoClusters(anthropicWire)
	req.Options.CacheTTLSeconds = 60

	steps := []struct {
		name      string
		mutate    func(r *Request)
		advance   time.Duration
		wantCalls int // new calls made by this step
	}{
		{"first request", nil, 0, 2},
		{"identical request", nil, 30 * time.Second, 0},
		{"same documents under other IDs", func(r *Request) { r.Clusters[0].ID, r.Clusters[1].ID = "cl_8", "cl_9" }, 0, 0},
		{"other custom prompt", func(r *Request) { r.Options.CustomPrompt = "Use French." }, 0, 2},
		{"custom prompt shows the IDs", func(r *Request) {
			r.Options.CustomPrompt = "Use French."
			r.Clusters[0].ID, r.Clusters[1].ID = "cl_8", "cl_9"
		}, 0, 2},
		{"response shape", func(r *Request) { r.Options.ResponseShape = json.RawMessage(`"a label and a mood"`) }, 0, 2},
		{"other response shape", func(r *Request) { r.Options.ResponseShape = json.RawMessage(`{"type": "object"}`) }, 0, 2},
		{"other document", func(r *Request) { r.Clusters[0].Texts = []string{"[[Dogs]] howling"} }, 0, 1},
		{"after the TTL", nil, 31 * time.Second, 2},
		{"TTL 0 does not read", func(r *Request) { r.Options.CacheTTLSeconds = 0 }, 0, 2},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		r := twoClusters(anthropicWire)
		r.Options = req.Options
		if st.mutate != nil {
			st.mutate(&r)
		}
		before := f.callCount()
		res := l.Label(context.Background(), r)
		if len(res.Errors) != 0 || len(res.Labels) != 2 {
			t.Fatalf("%s: %+v", st.name, res)
		}
		if got := f.callCount() - before; got != st.wantCalls {
			t.Errorf("%s: %d calls, want %d", st.name, got, st.wantCalls)
		}
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newCache(2)
	now := time.Unix(0, 0)
	later := now.Add(time.Hour)
	c.put("a", ClusterLabel{Label: "A"}, later)
	c.put("b", ClusterLabel{Label: "B"}, later)
	c.get("a", now)
	c.put("c", ClusterLabel{Label: "C", Keywords: []string{"k"}}, later)
	if _, ok := c.get("b", now); ok {
		t.Error("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k, now); !ok {
			t.Errorf("%s missing", k)
		}
	}
	got, _ := c.get("c", now)
	got.Keywords[0] = "changed"
	if again, _ := c.get("c", now); again.Keywords[0] != "k" {
		t.Error("a caller could change a cached answer")
	}
	if _, ok := c.get("a", later); ok {
		t.Error("an expired entry was returned")
	}
}

// TestConcurrencyBound checks that no more than Config.Concurrency calls are
// in flight.
func TestConcurrencyBound(t *testing.T) {
	f := newFake(t, openAIWire, nil)
	f.respond = func(call) action {
		return func(w http.ResponseWriter, r *http.Request, c call) {
			time.Sleep(20 * time.Millisecond)
			answer(f)(w, r, c)
		}
	}
	cfg := f.config()
	cfg.Concurrency = 2
	l, _ := newTestLabeler(t, cfg)
	var req Request
	for i := range 8 {
		req.Clusters = append(req.Clusters, Cluster{ID: fmt.Sprintf("cl_%d", i), Texts: []string{fmt.Sprintf("[[T%d]]", i)}})
	}
	res := l.Label(context.Background(), req)
	if len(res.Labels) != 8 {
		t.Fatalf("Result = %+v", res)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxInflight > 2 {
		t.Errorf("%d calls in flight, want at most 2", f.maxInflight)
	}
}

// TestRunWideErrors checks errors that fail every cluster without a call.
func TestRunWideErrors(t *testing.T) {
	clusters := []Cluster{{ID: "cl_10", Texts: []string{"a"}}, {ID: "cl_2", Texts: []string{"b"}}, {ID: "cl_3"}}
	cases := []struct {
		name string
		cfg  Config
		opts Options
		want []string
		is   error
	}{
		{"unknown provider", Config{OpenAIAPIKey: "sk-0123456789"}, Options{Provider: "mistral"},
			[]string{`{"error":"invalid llm_labeling configuration: unknown provider \"mistral\" (want openai, anthropic or google)","clusters":["cl_2","cl_3","cl_10"]}`}, ErrConfig},
		{"uninferable model", Config{}, Options{Model: "llama3"},
			[]string{`{"error":"invalid llm_labeling configuration: cannot infer the provider of model_name \"llama3\"; set provider to openai, anthropic or google","clusters":["cl_2","cl_3","cl_10"]}`}, ErrConfig},
		{"bad parameters", Config{GoogleAPIKey: "AIza0123456789"}, Options{Model: "gemini-2.5-pro", Parameters: json.RawMessage(`{"temperature": "hot"}`)},
			[]string{`{"error":"invalid llm_labeling configuration: parameters.temperature: Input should be a valid number","clusters":["cl_2","cl_3","cl_10"]}`}, ErrConfig},
		{"no key for the official endpoint", Config{}, Options{Model: "claude-sonnet-4-5"},
			[]string{`{"error":"anthropic: no API key configured (set CLUSTERD_ANTHROPIC_API_KEY)","clusters":["cl_2","cl_3","cl_10"]}`}, ErrNoAPIKey},
		{"cluster without input", Config{OpenAIAPIKey: "sk-0123456789", MaxRetries: -1, OpenAIBaseURL: "http://127.0.0.1:1/v1"}, Options{},
			nil, ErrNoInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newTestLabeler(t, tc.cfg)
			res := l.Label(context.Background(), Request{Clusters: clusters, Options: tc.opts})
			if tc.want != nil && !reflect.DeepEqual(res.Errors, tc.want) {
				t.Errorf("Errors = %q\nwant %q", res.Errors, tc.want)
			}
			if !errors.Is(res.Failed["cl_3"], tc.is) {
				t.Errorf("Failed[cl_3] = %v, want %v", res.Failed["cl_3"], tc.is)
			}
		})
	}
}

// TestConnectionRefusedNotRetried checks that a refused connection fails at
// once, naming the provider but not the URL.
func TestConnectionRefusedNotRetried(t *testing.T) {
	f := newFake(t, openAIWire, nil)
	cfg := f.config()
	f.srv.Close()
	l, sl := newTestLabeler(t, cfg)
	res := l.Label(context.Background(), twoClusters(openAIWire))
	var ne *NetworkError
	if !errors.As(res.Failed["cl_3"], &ne) || ne.TimedOut || ne.Attempts != 1 {
		t.Fatalf("Failed[cl_3] = %#v, want a NetworkError after 1 attempt", res.Failed["cl_3"])
	}
	if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0], `{"error":"openai: request failed: `) || strings.Contains(res.Errors[0], "/chat/completions") {
		t.Errorf("Errors = %q", res.Errors)
	}
	if len(sl.get()) != 0 {
		t.Errorf("slept %v, want no retry", sl.get())
	}
}

func TestCanceledContext(t *testing.T) {
	f := newFake(t, googleWire, nil)
	f.respond = func(call) action { return answer(f) }
	l, _ := newTestLabeler(t, f.config())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := l.Label(ctx, twoClusters(googleWire))
	want := []string{`{"error":"google: context canceled","clusters":["cl_3","cl_5"]}`}
	if !reflect.DeepEqual(res.Errors, want) || !errors.Is(res.Failed["cl_3"], context.Canceled) {
		t.Errorf("Errors = %q, want %q", res.Errors, want)
	}
}

// TestPromptInputs checks sampling, truncation, options and custom_prompt.
func TestPromptInputs(t *testing.T) {
	f := newFake(t, openAIWire, nil)
	f.respond = func(call) action { return answerRaw(f, `{"label": "Pets"}`) }
	l, _ := newTestLabeler(t, f.config())
	no := false
	res := l.Label(context.Background(), Request{
		Clusters: []Cluster{{ID: "cl_1", Texts: []string{"", "  first\n\tdocument about pets  ", "second " + strings.Repeat("y", 50), "third"}, Keywords: []string{"pet", " "}}},
		Options:  Options{MaxSamplesPerCluster: 2, SampleTextMaxLength: 20, IncludeSummary: &no, IncludeKeywords: &no, CustomPrompt: "Answer in French."},
	})
	if want := (ClusterLabel{Label: "Pets"}); !reflect.DeepEqual(res.Labels["cl_1"], want) {
		t.Fatalf("Labels = %+v, errors %q", res.Labels, res.Errors)
	}
	c := f.allCalls()[0]
	// The custom prompt replaces clusterd's task description; the cluster's
	// ID and information follow it, and so does the answer format.
	wantUser := "Cluster ID: cl_1\n\nRepresentative documents:\n1. first document abou…\n2. second yyyyyyyyyyyy…\n\n" +
		"Keywords of the cluster (TF-IDF, as hints): pet\n"
	if c.user != wantUser {
		t.Errorf("user prompt =\n%q\nwant\n%q", c.user, wantUser)
	}
	if !strings.HasPrefix(c.system, "Answer in French.\n") || strings.Contains(c.system, defaultInstructions) {
		t.Errorf("the custom prompt does not replace the instructions:\n%s", c.system)
	}
	if strings.Contains(c.system, `"summary"`) || strings.Contains(c.system, `"keywords"`) || !strings.Contains(c.system, `{"label": "..."}`) {
		t.Errorf("system prompt asks for fields that were turned off:\n%s", c.system)
	}
}

func TestConfigFromEnvAndNew(t *testing.T) {
	t.Setenv(EnvOpenAIBaseURL, " http://localhost:11434/v1/ ")
	t.Setenv(EnvOpenAIAPIKey, "")
	t.Setenv(EnvAnthropicBaseURL, "")
	t.Setenv(EnvAnthropicAPIKey, "a-key\n")
	t.Setenv(EnvGoogleBaseURL, "https://proxy.example/google")
	t.Setenv(EnvGoogleAPIKey, "g-key")
	c := ConfigFromEnv()
	want := Config{OpenAIBaseURL: "http://localhost:11434/v1/", AnthropicAPIKey: "a-key", GoogleBaseURL: "https://proxy.example/google", GoogleAPIKey: "g-key"}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("ConfigFromEnv() = %+v, want %+v", c, want)
	}
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.providers[OpenAI].(*openAI).base; got != "http://localhost:11434/v1" {
		t.Errorf("OpenAI base = %q", got)
	}
	if err := missingKey(OpenAI, l.cfg); err != nil {
		t.Errorf("a custom OpenAI base URL needs no key: %v", err)
	}
	for _, bad := range []string{"localhost:11434", "ftp://x", "http://x/v1?key=1", "http://"} {
		if _, err := New(Config{OpenAIBaseURL: bad}); !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), bad) {
			t.Errorf("New(base %q) = %v, want ErrConfig without the URL", bad, err)
		}
	}
	if p, err := NewProvider(Google, Config{}); err != nil || p.Name() != Google {
		t.Errorf("NewProvider(google) = %v, %v", p, err)
	}
	if _, err := NewProvider("azure", Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("NewProvider(azure) = %v, want ErrConfig", err)
	}
}

// TestRedirectNotFollowed checks that a redirect is an error, so the key
// header is never sent where the server points.
func TestRedirectNotFollowed(t *testing.T) {
	f := newFake(t, anthropicWire, nil)
	f.respond = func(call) action {
		return func(w http.ResponseWriter, r *http.Request, _ call) {
			http.Redirect(w, r, "http://attacker.invalid/steal", http.StatusTemporaryRedirect)
		}
	}
	l, _ := newTestLabeler(t, f.config())
	res := l.Label(context.Background(), twoClusters(anthropicWire))
	want := []string{`{"error":"anthropic: HTTP 307: Temporary Redirect","clusters":["cl_3","cl_5"]}`}
	if !reflect.DeepEqual(res.Errors, want) || f.callCount() != 2 {
		t.Errorf("Errors = %q after %d calls, want %q after 2", res.Errors, f.callCount(), want)
	}
}

func TestConfigPrintsNoKeys(t *testing.T) {
	c := Config{OpenAIAPIKey: testKey, AnthropicAPIKey: testKey + "a", GoogleAPIKey: testKey + "g", OpenAIBaseURL: "http://x"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c)} {
		if strings.Contains(s, testKey) || !strings.Contains(s, "http://x") {
			t.Errorf("printed config %s", s)
		}
	}
}
