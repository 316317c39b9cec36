package llm

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Default endpoints and limits; see [Config].
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultGoogleBaseURL    = "https://generativelanguage.googleapis.com"

	DefaultTimeout       = 30 * time.Second
	DefaultConcurrency   = 4
	DefaultMaxRetries    = 3
	DefaultBackoffBase   = 500 * time.Millisecond
	DefaultBackoffMax    = 8 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultCacheSize     = 10000
)

// Environment variables read by [ConfigFromEnv].
const (
	EnvOpenAIBaseURL    = "CLUSTERD_OPENAI_BASE_URL"
	EnvOpenAIAPIKey     = "CLUSTERD_OPENAI_API_KEY"
	EnvAnthropicBaseURL = "CLUSTERD_ANTHROPIC_BASE_URL"
	EnvAnthropicAPIKey  = "CLUSTERD_ANTHROPIC_API_KEY"
	EnvGoogleBaseURL    = "CLUSTERD_GOOGLE_BASE_URL"
	EnvGoogleAPIKey     = "CLUSTERD_GOOGLE_API_KEY"
)

// Config is the server-side configuration of a [Labeler]: where each provider
// is and its API key, plus the robustness limits. It never comes from a
// request, so a request can neither redirect calls nor supply credentials.
// Zero values mean the documented defaults.
type Config struct {
	// OpenAIBaseURL is the URL just before /chat/completions, e.g.
	// http://localhost:11434/v1 for Ollama. Default DefaultOpenAIBaseURL.
	OpenAIBaseURL string
	// OpenAIAPIKey is sent as "Authorization: Bearer KEY"; it may be empty
	// for a local OpenAI-compatible server (no header is sent then).
	OpenAIAPIKey string
	// AnthropicBaseURL is the URL just before /v1/messages. Default
	// DefaultAnthropicBaseURL.
	AnthropicBaseURL string
	// AnthropicAPIKey is sent as "x-api-key".
	AnthropicAPIKey string
	// GoogleBaseURL is the URL just before /v1beta/models/. Default
	// DefaultGoogleBaseURL.
	GoogleBaseURL string
	// GoogleAPIKey is sent as "x-goog-api-key".
	GoogleAPIKey string

	// Timeout limits each HTTP attempt (not the whole call with its
	// retries). Default 30 s.
	Timeout time.Duration
	// Concurrency is the most provider calls in flight at once, across all
	// Label calls of the Labeler. Default 4.
	Concurrency int
	// MaxRetries is the most retries of one call (so MaxRetries+1 attempts).
	// Default 3; a negative value disables retries.
	MaxRetries int
	// BackoffBase is the wait before the first retry when the answer has no
	// Retry-After; it doubles with each retry, up to BackoffMax. Defaults
	// 500 ms and 8 s.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter caps the wait a Retry-After header may ask for.
	// Default 30 s.
	MaxRetryAfter time.Duration
	// CacheSize is the most answers kept in the cache (least recently used
	// evicted first). Default 10000; a negative value disables the cache.
	CacheSize int
	// HTTPClient sends the requests. Default: a client without a global
	// timeout (Timeout applies per attempt). Whatever its CheckRedirect,
	// redirects are not followed, so key headers never reach another host.
	HTTPClient *http.Client
}

// ConfigFromEnv reads the base URLs and API keys from the CLUSTERD_*
// environment variables (Env* constants; surrounding whitespace trimmed).
// Unset variables leave the defaults; the other fields keep their defaults.
func ConfigFromEnv() Config {
	env := func(name string) string { return strings.TrimSpace(os.Getenv(name)) }
	return Config{
		OpenAIBaseURL:    env(EnvOpenAIBaseURL),
		OpenAIAPIKey:     env(EnvOpenAIAPIKey),
		AnthropicBaseURL: env(EnvAnthropicBaseURL),
		AnthropicAPIKey:  env(EnvAnthropicAPIKey),
		GoogleBaseURL:    env(EnvGoogleBaseURL),
		GoogleAPIKey:     env(EnvGoogleAPIKey),
	}
}

// String prints c with its API keys replaced by "[REDACTED]" (empty keys
// stay empty), so that logging a Config cannot leak them.
func (c Config) String() string { return fmt.Sprintf("%+v", c.printable()) }

// GoString is String for the %#v verb.
func (c Config) GoString() string { return fmt.Sprintf("%#v", c.printable()) }

// printable is c without keys, of a type without String methods.
func (c Config) printable() any {
	type plain Config
	p := plain(c)
	for _, k := range []*string{&p.OpenAIAPIKey, &p.AnthropicAPIKey, &p.GoogleAPIKey} {
		if *k != "" {
			*k = redacted
		}
	}
	return p
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.OpenAIBaseURL, DefaultOpenAIBaseURL)
	def(&c.AnthropicBaseURL, DefaultAnthropicBaseURL)
	def(&c.GoogleBaseURL, DefaultGoogleBaseURL)
	defDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defDur(&c.Timeout, DefaultTimeout)
	defDur(&c.BackoffBase, DefaultBackoffBase)
	defDur(&c.BackoffMax, DefaultBackoffMax)
	defDur(&c.MaxRetryAfter, DefaultMaxRetryAfter)
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	switch {
	case c.CacheSize == 0:
		c.CacheSize = DefaultCacheSize
	case c.CacheSize < 0:
		c.CacheSize = 0
	}
	return c
}

// checkBaseURL validates a provider base URL and returns it without a
// trailing slash. The URL itself is never echoed, in case it carries
// credentials.
func checkBaseURL(env, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %s must be an http(s) URL without query or fragment", ErrConfig, env)
	}
	return strings.TrimRight(raw, "/"), nil
}
