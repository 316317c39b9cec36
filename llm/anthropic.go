package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// anthropicVersion is the Messages API version the request format follows.
const anthropicVersion = "2023-06-01"

// defaultAnthropicMaxTokens is sent when parameters have no max_tokens: the
// Messages API requires the field, and a label object needs far less.
const defaultAnthropicMaxTokens = 1024

// anthropic speaks the Messages API.
type anthropic struct {
	t    *transport
	base string // just before /v1/messages
	key  string
}

func (p *anthropic) Name() string { return Anthropic }

type anthropicRequest struct {
	Model         string             `json:"model"`
	MaxTokens     int                `json:"max_tokens"`
	System        string             `json:"system,omitempty"`
	Messages      []anthropicMessage `json:"messages"`
	Temperature   *float64           `json:"temperature,omitempty"`
	TopP          *float64           `json:"top_p,omitempty"`
	TopK          *int               `json:"top_k,omitempty"`
	StopSequences []string           `json:"stop_sequences,omitempty"`
}

// anthropicProtected are the request fields parameters may not set: the
// conversation, and streaming (the answer is read as one JSON body).
var anthropicProtected = keySet("model", "messages", "system", "stream")

type anthropicMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type anthropicResponse struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
}

func (p *anthropic) Complete(ctx context.Context, pr Prompt) (Completion, error) {
	req := anthropicRequest{
		Model:         pr.Model,
		MaxTokens:     defaultAnthropicMaxTokens,
		System:        pr.System,
		Messages:      []anthropicMessage{{Role: "user", Content: pr.User}},
		Temperature:   pr.Params.Temperature,
		TopP:          pr.Params.TopP,
		TopK:          pr.Params.TopK,
		StopSequences: pr.Params.Stop,
	}
	if pr.Params.MaxTokens != nil {
		req.MaxTokens = *pr.Params.MaxTokens
	}
	var body any = req
	if len(pr.Params.Extra) > 0 {
		m, err := mergeExtra(req, pr.Params.Extra, anthropicProtected, nil)
		if err != nil {
			return Completion{}, fmt.Errorf("%s: encoding the request: %w", Anthropic, err)
		}
		body = m
	}
	h := http.Header{}
	if p.key != "" {
		h.Set("x-api-key", p.key)
	}
	h.Set("anthropic-version", anthropicVersion)
	data, err := p.t.postJSON(ctx, Anthropic, p.base+"/v1/messages", h, body)
	if err != nil {
		return Completion{}, err
	}
	var resp anthropicResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return Completion{}, fmt.Errorf("%s: %w: unreadable response", Anthropic, ErrInvalidAnswer)
	}
	if resp.StopReason == "refusal" {
		return Completion{}, fmt.Errorf("%s: %w", Anthropic, ErrRefused)
	}
	var text strings.Builder
	for _, b := range resp.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	if strings.TrimSpace(text.String()) == "" {
		return Completion{}, fmt.Errorf("%s: %w: empty answer", Anthropic, ErrInvalidAnswer)
	}
	truncated := resp.StopReason == "max_tokens" || resp.StopReason == "model_context_window_exceeded"
	return Completion{Text: text.String(), Truncated: truncated}, nil
}
