package llm

import (
	"context"
	"fmt"
	"strings"
)

// Provider names, as in llm_labeling.provider.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Google    = "google"
)

// Default models, used when llm_labeling.model_name is empty.
const (
	DefaultOpenAIModel    = "gpt-4o-mini"
	DefaultAnthropicModel = "claude-haiku-4-5"
	DefaultGoogleModel    = "gemini-2.5-flash"
)

// Provider is one LLM API.
type Provider interface {
	// Name is the provider's name: OpenAI, Anthropic or Google.
	Name() string
	// Complete sends one prompt (retrying transient failures as the
	// package documentation describes) and returns the model's text.
	// A refusal is an error wrapping ErrRefused; an answer without text is
	// one wrapping ErrInvalidAnswer. Errors never hold the API key.
	Complete(ctx context.Context, p Prompt) (Completion, error)
}

// Prompt is one request to a model.
type Prompt struct {
	Model  string
	System string // the system instruction
	User   string // the single user message
	Params Params
}

// Completion is a model's answer.
type Completion struct {
	Text string
	// Truncated is true when the model stopped at its token limit, so the
	// text may be cut short.
	Truncated bool
}

// ResolveProvider returns the provider and model to use for
// llm_labeling.provider and model_name. An explicit provider wins (matched
// case-insensitively; the model is then passed as is, so a proxy may serve
// any model name). Otherwise the provider is inferred from the model name:
// gpt-*, o1*, o3*, o4*, chatgpt-* and ft:gpt-* are OpenAI; claude-* is
// Anthropic; gemini-* (optionally models/gemini-*) is Google. An empty model
// becomes the provider's default model (OpenAI's when neither is given).
// Anything else is an error wrapping [ErrConfig].
func ResolveProvider(provider, model string) (name, modelName string, err error) {
	model = strings.TrimSpace(model)
	name = strings.ToLower(strings.TrimSpace(provider))
	if name == "" {
		name, err = inferProvider(model)
		if err != nil {
			return "", "", err
		}
	}
	def, ok := map[string]string{OpenAI: DefaultOpenAIModel, Anthropic: DefaultAnthropicModel, Google: DefaultGoogleModel}[name]
	if !ok {
		return "", "", fmt.Errorf("%w: unknown provider %q (want openai, anthropic or google)", ErrConfig, provider)
	}
	if model == "" {
		model = def
	}
	return name, model, nil
}

func inferProvider(model string) (string, error) {
	m := strings.ToLower(model)
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(m, p) {
				return true
			}
		}
		return false
	}
	switch {
	case m == "":
		return OpenAI, nil
	case has("gpt-", "o1", "o3", "o4", "chatgpt-", "ft:gpt-"):
		return OpenAI, nil
	case has("claude-"):
		return Anthropic, nil
	case has("gemini-", "models/gemini-"):
		return Google, nil
	}
	return "", fmt.Errorf("%w: cannot infer the provider of model_name %q; set provider to openai, anthropic or google", ErrConfig, model)
}

// NewProvider returns the named provider (OpenAI, Anthropic or Google)
// configured from c, with its own transport; a [Labeler] builds its own.
func NewProvider(name string, c Config) (Provider, error) {
	ps, _, err := newProviders(c.withDefaults())
	if err != nil {
		return nil, err
	}
	p, ok := ps[name]
	if !ok {
		return nil, fmt.Errorf("%w: unknown provider %q (want openai, anthropic or google)", ErrConfig, name)
	}
	return p, nil
}

// newProviders builds the three providers of c (defaults applied) around
// one shared transport, which it also returns.
func newProviders(c Config) (map[string]Provider, *transport, error) {
	oa, err := checkBaseURL(EnvOpenAIBaseURL, c.OpenAIBaseURL)
	if err != nil {
		return nil, nil, err
	}
	an, err := checkBaseURL(EnvAnthropicBaseURL, c.AnthropicBaseURL)
	if err != nil {
		return nil, nil, err
	}
	gg, err := checkBaseURL(EnvGoogleBaseURL, c.GoogleBaseURL)
	if err != nil {
		return nil, nil, err
	}
	t := newTransport(c)
	return map[string]Provider{
		OpenAI:    &openAI{t: t, base: oa, key: c.OpenAIAPIKey},
		Anthropic: &anthropic{t: t, base: an, key: c.AnthropicAPIKey},
		Google:    &google{t: t, base: gg, key: c.GoogleAPIKey},
	}, t, nil
}

// missingKey reports the official endpoints configured without a key:
// calling them could only fail with 401, so the run's clusters fail at once
// with a clear message instead. Custom base URLs (local servers, proxies)
// may need no key.
func missingKey(name string, c Config) error {
	base, key, def, env := c.OpenAIBaseURL, c.OpenAIAPIKey, DefaultOpenAIBaseURL, EnvOpenAIAPIKey
	switch name {
	case Anthropic:
		base, key, def, env = c.AnthropicBaseURL, c.AnthropicAPIKey, DefaultAnthropicBaseURL, EnvAnthropicAPIKey
	case Google:
		base, key, def, env = c.GoogleBaseURL, c.GoogleAPIKey, DefaultGoogleBaseURL, EnvGoogleAPIKey
	}
	if key == "" && strings.TrimRight(base, "/") == def {
		return fmt.Errorf("%s: %w (set %s)", name, ErrNoAPIKey, env)
	}
	return nil
}
