package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxResponseBytes bounds what is read of a response: a label answer is a
// few hundred bytes, and a misbehaving server must not exhaust memory.
const maxResponseBytes = 4 << 20

// transport posts JSON to providers with per-attempt timeouts, retries,
// backoff and redaction (see the package documentation). All providers of a
// Labeler share one.
type transport struct {
	client        *http.Client
	timeout       time.Duration
	maxRetries    int
	backoffBase   time.Duration
	backoffMax    time.Duration
	maxRetryAfter time.Duration
	secrets       redactor
	// sleep waits d or until ctx is done; now is the clock for Retry-After
	// dates; jitter returns a random number in [0, n). Tests replace them
	// to keep retries instant and observable.
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func(n int64) int64
}

func newTransport(c Config) *transport {
	client := &http.Client{}
	if c.HTTPClient != nil {
		cc := *c.HTTPClient
		client = &cc
	}
	// A redirect would carry x-api-key / x-goog-api-key (which net/http
	// does not strip) to wherever the server points: never follow one.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &transport{
		client:        client,
		timeout:       c.Timeout,
		maxRetries:    c.MaxRetries,
		backoffBase:   c.BackoffBase,
		backoffMax:    c.BackoffMax,
		maxRetryAfter: c.MaxRetryAfter,
		secrets:       newRedactor(c.OpenAIAPIKey, c.AnthropicAPIKey, c.GoogleAPIKey),
		sleep:         sleepContext,
		now:           time.Now,
		jitter:        rand.Int64N,
	}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attemptError is the outcome of one failed attempt.
type attemptError struct {
	err        error         // *APIError or *NetworkError (Attempts still 0)
	retry      bool          // whether another attempt may succeed
	retryAfter time.Duration // the server's Retry-After; < 0 when absent
}

// postJSON posts body as JSON to endpoint with header and returns the body of
// the first 2xx answer, retrying 429, 5xx, timeouts and lost connections.
// Errors are *APIError, *NetworkError, or ctx's error once ctx is done; all
// name the provider and are redacted.
func (t *transport) postJSON(ctx context.Context, provider, endpoint string, header http.Header, body any) ([]byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the request: %w", provider, err)
	}
	for attempt := 1; ; attempt++ {
		data, ae := t.attempt(ctx, provider, endpoint, header, payload)
		if ae == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", provider, ctx.Err())
		}
		if !ae.retry || attempt > t.maxRetries {
			switch e := ae.err.(type) {
			case *APIError:
				e.Attempts = attempt
			case *NetworkError:
				e.Attempts = attempt
			}
			return nil, ae.err
		}
		if err := t.sleep(ctx, t.wait(attempt, ae.retryAfter)); err != nil {
			return nil, fmt.Errorf("%s: %w", provider, err)
		}
	}
}

// wait is the pause before retry number n (1-based): the server's
// Retry-After when it gave one (capped), else exponential backoff with
// jitter in [d/2, d].
func (t *transport) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter >= 0 {
		return min(retryAfter, t.maxRetryAfter)
	}
	d := t.backoffBase
	for i := 1; i < n && d < t.backoffMax; i++ {
		d *= 2
	}
	d = min(d, t.backoffMax)
	half := d / 2
	return half + time.Duration(t.jitter(int64(d-half)+1))
}

// attempt makes one HTTP request under its own timeout.
func (t *transport) attempt(ctx context.Context, provider, endpoint string, header http.Header, payload []byte) ([]byte, *attemptError) {
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		// The base URL was checked by New; say nothing more, as the URL
		// may hold credentials.
		return nil, &attemptError{err: &NetworkError{Provider: provider, Message: "invalid request URL"}, retryAfter: -1}
	}
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, t.networkError(provider, actx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, t.networkError(provider, actx, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if len(data) > maxResponseBytes {
			return nil, &attemptError{err: &NetworkError{Provider: provider, Message: "response larger than 4 MiB"}, retryAfter: -1}
		}
		return data, nil
	}
	code := resp.StatusCode
	return nil, &attemptError{
		err:        &APIError{Provider: provider, StatusCode: code, Message: clip(t.secrets.redact(errorMessage(code, data)), maxErrorMessage)},
		retry:      code == http.StatusTooManyRequests || code >= 500,
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), t.now()),
	}
}

// networkError classifies a failed request or body read: timeouts and lost
// connections are worth retrying, other failures (refused connection, DNS,
// TLS) are not. The message leaves out the URL.
func (t *transport) networkError(provider string, actx context.Context, err error) *attemptError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	ne := &NetworkError{Provider: provider, Message: t.secrets.redact(err.Error())}
	var nerr net.Error
	switch {
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		ne.TimedOut, ne.Timeout = true, t.timeout
	case errors.As(err, &nerr) && nerr.Timeout():
		ne.TimedOut = true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// A reset, or a server that closed the connection mid-answer.
	default:
		return &attemptError{err: ne, retryAfter: -1}
	}
	return &attemptError{err: ne, retry: true, retryAfter: -1}
}

// errorMessage extracts the human message of an error body. OpenAI,
// Anthropic and Google all use {"error": {"message": ...}}; some
// OpenAI-compatible servers use {"error": "..."}, {"message": ...} or
// {"detail": ...}. Anything else is shown as text.
func errorMessage(code int, body []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(e.Error, &inner) == nil && inner.Message != "":
			return inner.Message
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return s
		case e.Message != "":
			return e.Message
		case json.Unmarshal(e.Detail, &s) == nil && s != "":
			return s
		}
	}
	if s := strings.TrimSpace(string(body)); s != "" && !strings.HasPrefix(s, "<") {
		return s
	}
	return statusMessage(code)
}

// parseRetryAfter reads a Retry-After value (delay seconds or an HTTP date)
// as a duration from now; it returns -1 when the header is absent or
// unreadable, and 0 for dates in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return -1
		}
		// Cap before converting so a huge value cannot overflow.
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return -1
}
