package llm

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Sentinel errors that callers may test with errors.Is. Every error the
// package returns also names the provider ("openai: ...") and is redacted.
var (
	// ErrConfig marks an invalid llm_labeling configuration: an unknown
	// provider, a model_name whose provider cannot be inferred, or
	// parameters of the wrong type. It fails the labeling of every cluster.
	ErrConfig = errors.New("invalid llm_labeling configuration")
	// ErrNoAPIKey means the provider's official endpoint is configured but
	// its API key is not. It fails the labeling of every cluster.
	ErrNoAPIKey = errors.New("no API key configured")
	// ErrRefused means the model (or the provider's safety system) declined
	// to answer. Refusals are not retried.
	ErrRefused = errors.New("the model refused to label the cluster")
	// ErrInvalidAnswer means the model's answer (asked twice) held no valid
	// JSON label object.
	ErrInvalidAnswer = errors.New("invalid answer")
	// ErrTimeout means the last HTTP attempt timed out; it is matched by a
	// [*NetworkError] whose TimedOut is true.
	ErrTimeout = errors.New("request timed out")
	// ErrNoInput means a cluster had neither representative documents nor
	// keywords to label from, so no call was made.
	ErrNoInput = errors.New("no representative documents or keywords to label from")
)

// maxErrorMessage bounds, in characters, the provider message kept in an
// [APIError]: error bodies can be long HTML pages, and the message ends up in
// the run's llm_labeling_errors.
const maxErrorMessage = 300

// APIError is a non-2xx HTTP answer from a provider, after any retries.
type APIError struct {
	Provider   string
	StatusCode int
	// Message is the provider's error message (or the status text),
	// whitespace-collapsed, redacted and at most 300 characters long.
	Message string
	// Attempts is the number of HTTP attempts made (1 when not retried).
	Attempts int
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s%s", e.Provider, e.StatusCode, e.Message, attemptsSuffix(e.Attempts))
}

// NetworkError is a request that got no HTTP answer: a timeout, a reset or
// refused connection, a DNS failure.
type NetworkError struct {
	Provider string
	// TimedOut is true when the attempt timed out; Timeout is then the
	// per-attempt limit (0 when the timeout came from the HTTP client).
	TimedOut bool
	Timeout  time.Duration
	// Message describes the failure (without the URL), redacted.
	Message string
	// Attempts is the number of HTTP attempts made.
	Attempts int
}

func (e *NetworkError) Error() string {
	if e.TimedOut {
		after := ""
		if e.Timeout > 0 {
			after = " after " + e.Timeout.String()
		}
		return fmt.Sprintf("%s: %s%s%s", e.Provider, ErrTimeout, after, attemptsSuffix(e.Attempts))
	}
	return fmt.Sprintf("%s: request failed: %s%s", e.Provider, e.Message, attemptsSuffix(e.Attempts))
}

// Is makes errors.Is(err, ErrTimeout) true for timed-out requests.
func (e *NetworkError) Is(target error) bool { return target == ErrTimeout && e.TimedOut }

func attemptsSuffix(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" (gave up after %d attempts)", n)
}

// redactor replaces API keys in strings. Keys are sorted longest first so
// that a key containing another is replaced whole.
type redactor []string

// redacted is what replaces an API key.
const redacted = "[REDACTED]"

func newRedactor(keys ...string) redactor {
	var r redactor
	for _, k := range keys {
		if k != "" && !slices.Contains(r, k) {
			r = append(r, k)
		}
	}
	slices.SortFunc(r, func(a, b string) int { return len(b) - len(a) })
	return r
}

func (r redactor) redact(s string) string {
	for _, k := range r {
		s = strings.ReplaceAll(s, k, redacted)
	}
	return s
}

// clip collapses whitespace in s and cuts it to at most max characters,
// ending with an ellipsis when cut.
func clip(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return strings.TrimRight(string(r[:max-1]), " ") + "…"
}

// statusMessage is the text of an HTTP status for errors without a body.
func statusMessage(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "unexpected status"
}
