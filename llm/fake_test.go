package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is the API key the fake servers expect; no test output may hold it.
const testKey = "sk-test-S3CRET-0123456789abcdef"

// wire is one provider's wire format as its fake server speaks it.
type wire struct {
	provider string
	model    string
	// path is the request path the provider must post to.
	path string
	// base makes the provider's base URL from the server's URL.
	base func(srv string) string
	// checkHeaders checks authentication and version headers.
	checkHeaders func(h http.Header) error
	// decode checks the body's fields and returns the system and user text.
	decode func(body map[string]any) (system, user string, err error)
	// ok, refusal and failure are response bodies as the provider documents.
	ok      func(text string) any
	refusal func() any
	failure func(status int, msg string) any
}

var openAIWire = wire{
	provider: OpenAI, model: "gpt-4o-mini", path: "/v1/chat/completions",
	base: func(srv string) string { return srv + "/v1" },
	checkHeaders: func(h http.Header) error {
		if got := h.Get("Authorization"); got != "Bearer "+testKey {
			return fmt.Errorf("Authorization = %q", got)
		}
		return nil
	},
	decode: func(b map[string]any) (string, string, error) {
		if b["model"] != "gpt-4o-mini" {
			return "", "", fmt.Errorf("model = %v", b["model"])
		}
		if rf, _ := b["response_format"].(map[string]any); rf["type"] != "json_object" {
			return "", "", fmt.Errorf("response_format = %v", b["response_format"])
		}
		msgs, _ := b["messages"].([]any)
		if len(msgs) != 2 {
			return "", "", fmt.Errorf("messages = %v", b["messages"])
		}
		sys, _ := msgs[0].(map[string]any)
		usr, _ := msgs[1].(map[string]any)
		if sys["role"] != "system" || usr["role"] != "user" {
			return "", "", fmt.Errorf("roles = %v, %v", sys["role"], usr["role"])
		}
		s, _ := sys["content"].(string)
		u, _ := usr["content"].(string)
		return s, u, nil
	},
	ok: func(text string) any {
		return map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": text, "refusal": nil}}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		}
	},
	refusal: func() any {
		return map[string]any{
			"id": "chatcmpl-2", "object": "chat.completion", "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": nil, "refusal": "I'm sorry, I can't help with that."}}},
		}
	},
	failure: func(_ int, msg string) any {
		return map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "param": nil, "code": nil}}
	},
}

var anthropicWire = wire{
	provider: Anthropic, model: "claude-haiku-4-5", path: "/v1/messages",
	base: func(srv string) string { return srv },
	checkHeaders: func(h http.Header) error {
		if got := h.Get("x-api-key"); got != testKey {
			return fmt.Errorf("x-api-key = %q", got)
		}
		if got := h.Get("anthropic-version"); got != "2023-06-01" {
			return fmt.Errorf("anthropic-version = %q", got)
		}
		if h.Get("Authorization") != "" {
			return fmt.Errorf("unexpected Authorization header")
		}
		return nil
	},
	decode: func(b map[string]any) (string, string, error) {
		if b["model"] != "claude-haiku-4-5" {
			return "", "", fmt.Errorf("model = %v", b["model"])
		}
		if _, ok := b["max_tokens"].(float64); !ok {
			return "", "", fmt.Errorf("max_tokens = %v", b["max_tokens"])
		}
		msgs, _ := b["messages"].([]any)
		if len(msgs) != 1 {
			return "", "", fmt.Errorf("messages = %v", b["messages"])
		}
		usr, _ := msgs[0].(map[string]any)
		if usr["role"] != "user" {
			return "", "", fmt.Errorf("role = %v", usr["role"])
		}
		s, _ := b["system"].(string)
		u, _ := usr["content"].(string)
		return s, u, nil
	},
	ok: func(text string) any {
		return map[string]any{
			"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
			"content":     []any{map[string]any{"type": "text", "text": text}},
			"stop_reason": "end_turn", "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 10, "output_tokens": 5},
		}
	},
	refusal: func() any {
		return map[string]any{
			"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
			"content": []any{}, "stop_reason": "refusal", "stop_sequence": nil,
		}
	},
	failure: func(status int, msg string) any {
		typ := map[int]string{429: "rate_limit_error", 400: "invalid_request_error", 401: "authentication_error"}[status]
		if typ == "" {
			typ = "api_error"
		}
		return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}
	},
}

var googleWire = wire{
	provider: Google, model: "gemini-2.5-flash", path: "/v1beta/models/gemini-2.5-flash:generateContent",
	base: func(srv string) string { return srv },
	checkHeaders: func(h http.Header) error {
		if got := h.Get("x-goog-api-key"); got != testKey {
			return fmt.Errorf("x-goog-api-key = %q", got)
		}
		return nil
	},
	decode: func(b map[string]any) (string, string, error) {
		gc, _ := b["generationConfig"].(map[string]any)
		if gc["responseMimeType"] != "application/json" {
			return "", "", fmt.Errorf("generationConfig = %v", b["generationConfig"])
		}
		contents, _ := b["contents"].([]any)
		if len(contents) != 1 {
			return "", "", fmt.Errorf("contents = %v", b["contents"])
		}
		c, _ := contents[0].(map[string]any)
		if c["role"] != "user" {
			return "", "", fmt.Errorf("role = %v", c["role"])
		}
		text := func(v any) string {
			m, _ := v.(map[string]any)
			parts, _ := m["parts"].([]any)
			if len(parts) == 0 {
				return ""
			}
			p, _ := parts[0].(map[string]any)
			s, _ := p["text"].(string)
			return s
		}
		return text(b["systemInstruction"]), text(c), nil
	},
	ok: func(text string) any {
		return map[string]any{
			"candidates": []any{map[string]any{"index": 0, "finishReason": "STOP",
				"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}}},
			"usageMetadata": map[string]any{"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
			"modelVersion":  "gemini-2.5-flash",
		}
	},
	refusal: func() any {
		return map[string]any{
			"candidates": []any{map[string]any{"index": 0, "finishReason": "SAFETY",
				"safetyRatings": []any{map[string]any{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true}}}},
		}
	},
	failure: func(status int, msg string) any {
		st := map[int]string{429: "RESOURCE_EXHAUSTED", 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED"}[status]
		if st == "" {
			st = "INTERNAL"
		}
		return map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}}
	},
}

var wires = []wire{openAIWire, anthropicWire, googleWire}

// call is one request the fake server received.
type call struct {
	n            int // 1-based, in arrival order
	system, user string
	body         map[string]any
}

// action answers one call.
type action func(w http.ResponseWriter, r *http.Request, c call)

// fakeServer is an in-process provider endpoint.
type fakeServer struct {
	t    *testing.T
	wire wire
	srv  *httptest.Server
	// respond picks the action for a call.
	respond func(c call) action

	mu          sync.Mutex
	arrived     int // requests received, numbering calls in arrival order
	calls       []call
	inflight    int
	maxInflight int
}

func newFake(t *testing.T, w wire, respond func(c call) action) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, wire: w, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.arrived++
	n := f.arrived
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if r.Method != http.MethodPost || r.URL.Path != f.wire.path {
		f.t.Errorf("%s: request %s %s, want POST %s", f.wire.provider, r.Method, r.URL.Path, f.wire.path)
	}
	if strings.Contains(r.URL.String(), testKey) || r.URL.RawQuery != "" {
		f.t.Errorf("%s: the URL carries a query or the key: %s", f.wire.provider, r.URL)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s: Content-Type = %q", f.wire.provider, ct)
	}
	if err := f.wire.checkHeaders(r.Header); err != nil {
		f.t.Errorf("%s: %v", f.wire.provider, err)
	}
	var body map[string]any
	data, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(data, &body); err != nil {
		f.t.Errorf("%s: body is not JSON: %v", f.wire.provider, err)
	}
	system, user, err := f.wire.decode(body)
	if err != nil {
		f.t.Errorf("%s: %v", f.wire.provider, err)
	}
	c := call{n: n, system: system, user: user, body: body}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	f.respond(c)(w, r, c)
}

func (f *fakeServer) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeServer) allCalls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// config returns a Config pointing the fake's provider at it, with the test
// key for all providers.
func (f *fakeServer) config() Config {
	c := Config{OpenAIAPIKey: testKey, AnthropicAPIKey: testKey, GoogleAPIKey: testKey, Timeout: 5 * time.Second}
	base := f.wire.base(f.srv.URL)
	switch f.wire.provider {
	case OpenAI:
		c.OpenAIBaseURL = base
	case Anthropic:
		c.AnthropicBaseURL = base
	case Google:
		c.GoogleBaseURL = base
	}
	return c
}

// sleeps records the waits of a labeler whose sleep is instant.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newTestLabeler builds a Labeler for c whose backoff sleeps are recorded
// instead of waited.
func newTestLabeler(t *testing.T, c Config) (*Labeler, *sleeps) {
	t.Helper()
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	s := &sleeps{}
	l.t.sleep = func(ctx context.Context, d time.Duration) error {
		s.mu.Lock()
		s.d = append(s.d, d)
		s.mu.Unlock()
		return ctx.Err()
	}
	return l, s
}

// markerRE finds the topic marker "[[Topic]]" the tests put in documents.
var markerRE = regexp.MustCompile(`\[\[(\w+)\]\]`)

// topic is the marker of the first document in a prompt.
func topic(user string) string {
	if m := markerRE.FindStringSubmatch(user); m != nil {
		return m[1]
	}
	return "Unknown"
}

// answerText is a model answer labeling topic, wrapped in prose and a code
// fence as models like to do.
func answerText(topic string) string {
	return fmt.Sprintf("Here is the label you asked for:\n```json\n"+
		`{"label": %q, "summary": "Documents about %s.", "keywords": [%q, "topic"]}`+
		"\n```\nHope this {helps}.", topic, strings.ToLower(topic), strings.ToLower(topic))
}

// wantLabel is the ClusterLabel of answerText(topic).
func wantLabel(topic string) ClusterLabel {
	lt := strings.ToLower(topic)
	return ClusterLabel{Label: topic, Summary: "Documents about " + lt + ".", Keywords: []string{lt, "topic"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Actions.

func answer(f *fakeServer) action {
	return func(w http.ResponseWriter, _ *http.Request, c call) {
		writeJSON(w, 200, f.wire.ok(answerText(topic(c.user))))
	}
}

func answerRaw(f *fakeServer, text string) action {
	return func(w http.ResponseWriter, _ *http.Request, _ call) { writeJSON(w, 200, f.wire.ok(text)) }
}

func refuse(f *fakeServer) action {
	return func(w http.ResponseWriter, _ *http.Request, _ call) { writeJSON(w, 200, f.wire.refusal()) }
}

func fail(f *fakeServer, status int, msg string, header map[string]string) action {
	return func(w http.ResponseWriter, _ *http.Request, _ call) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		writeJSON(w, status, f.wire.failure(status, msg))
	}
}

// hang never answers: it waits for the client to give up.
func hang(w http.ResponseWriter, r *http.Request, _ call) { <-r.Context().Done() }

// resetConn drops the connection without answering.
func resetConn(w http.ResponseWriter, _ *http.Request, _ call) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// twoClusters is the request most provider tests send.
func twoClusters(w wire) Request {
	return Request{
		Clusters: []Cluster{
			{ID: "cl_5", Texts: []string{"[[Dogs]] barking at night", "walks in the park"}, Keywords: []string{"dog", "bark"}},
			{ID: "cl_3", Texts: []string{"[[Cats]] purring on the sofa", "kittens and yarn"}, Keywords: []string{"cat", "purr"}},
		},
		Options: Options{Provider: w.provider, Model: w.model},
	}
}
