package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// openAI speaks the Chat Completions API (and so any OpenAI-compatible
// server: Ollama, vLLM, llama.cpp server).
type openAI struct {
	t    *transport
	base string // just before /chat/completions
	key  string // may be empty for local servers
}

func (p *openAI) Name() string { return OpenAI }

type openAIMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	Temperature         *float64        `json:"temperature,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                []string        `json:"stop,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	ResponseFormat      *openAIFormat   `json:"response_format,omitempty"`
}

// openAIProtected are the request fields parameters may not set: the
// conversation, and streaming (the answer is read as one JSON body).
var openAIProtected = keySet("model", "messages", "stream", "stream_options")

// openAIOverridable are the fields clusterd sets on its own that parameters
// may replace.
var openAIOverridable = keySet("response_format")

type openAIFormat struct {
	Type string `json:"type"`
}

type openAIResponse struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// reasoningModel reports the OpenAI models that reject max_tokens in favour
// of max_completion_tokens.
func reasoningModel(model string) bool {
	m := strings.ToLower(model)
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

func (p *openAI) Complete(ctx context.Context, pr Prompt) (Completion, error) {
	req := openAIRequest{
		Model: pr.Model,
		Messages: []openAIMessage{
			{Role: "system", Content: pr.System},
			{Role: "user", Content: pr.User},
		},
		Temperature:      pr.Params.Temperature,
		TopP:             pr.Params.TopP,
		Stop:             pr.Params.Stop,
		Seed:             pr.Params.Seed,
		PresencePenalty:  pr.Params.PresencePenalty,
		FrequencyPenalty: pr.Params.FrequencyPenalty,
	}
	if reasoningModel(pr.Model) {
		req.MaxCompletionTokens = pr.Params.MaxTokens
	} else {
		req.MaxTokens = pr.Params.MaxTokens
	}
	if pr.Params.JSONMode {
		req.ResponseFormat = &openAIFormat{Type: "json_object"}
	}
	var body any = req
	if len(pr.Params.Extra) > 0 {
		m, err := mergeExtra(req, pr.Params.Extra, openAIProtected, openAIOverridable)
		if err != nil {
			return Completion{}, fmt.Errorf("%s: encoding the request: %w", OpenAI, err)
		}
		body = m
	}
	h := http.Header{}
	if p.key != "" {
		h.Set("Authorization", "Bearer "+p.key)
	}
	data, err := p.t.postJSON(ctx, OpenAI, p.base+"/chat/completions", h, body)
	if err != nil {
		return Completion{}, err
	}
	var resp openAIResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return Completion{}, fmt.Errorf("%s: %w: unreadable response", OpenAI, ErrInvalidAnswer)
	}
	if len(resp.Choices) == 0 {
		return Completion{}, fmt.Errorf("%s: %w: no choices in the response", OpenAI, ErrInvalidAnswer)
	}
	c := resp.Choices[0]
	if c.Message.Refusal != nil || c.FinishReason == "content_filter" {
		return Completion{}, fmt.Errorf("%s: %w", OpenAI, ErrRefused)
	}
	if c.Message.Content == nil || strings.TrimSpace(*c.Message.Content) == "" {
		return Completion{}, fmt.Errorf("%s: %w: empty answer", OpenAI, ErrInvalidAnswer)
	}
	return Completion{Text: *c.Message.Content, Truncated: c.FinishReason == "length"}, nil
}
