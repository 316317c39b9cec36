package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// google speaks the Gemini API's generateContent.
type google struct {
	t    *transport
	base string // just before /v1beta/models/
	key  string
}

func (p *google) Name() string { return Google }

type geminiPart struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought,omitempty"`
}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

type geminiConfig struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	MaxOutputTokens  *int     `json:"maxOutputTokens,omitempty"`
	TopP             *float64 `json:"topP,omitempty"`
	TopK             *int     `json:"topK,omitempty"`
	StopSequences    []string `json:"stopSequences,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presencePenalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequencyPenalty,omitempty"`
	ResponseMimeType string   `json:"responseMimeType,omitempty"`
}

type geminiRequest struct {
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction,omitempty"`
	// GenerationConfig is a geminiConfig, or its JSON object with the
	// extra parameters added.
	GenerationConfig any `json:"generationConfig"`
}

type geminiResponse struct {
	Candidates []struct {
		Content      geminiContent `json:"content"`
		FinishReason string        `json:"finishReason"`
	} `json:"candidates"`
	PromptFeedback struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
}

// geminiOverridable are the generationConfig fields clusterd sets on its
// own that parameters may replace.
var geminiOverridable = keySet("responseMimeType")

// geminiBlocked are the finish reasons that mean the answer was withheld.
var geminiBlocked = map[string]bool{"SAFETY": true, "RECITATION": true, "PROHIBITED_CONTENT": true, "BLOCKLIST": true, "SPII": true}

func (p *google) Complete(ctx context.Context, pr Prompt) (Completion, error) {
	gc := geminiConfig{
		Temperature:      pr.Params.Temperature,
		MaxOutputTokens:  pr.Params.MaxTokens,
		TopP:             pr.Params.TopP,
		TopK:             pr.Params.TopK,
		StopSequences:    pr.Params.Stop,
		Seed:             pr.Params.Seed,
		PresencePenalty:  pr.Params.PresencePenalty,
		FrequencyPenalty: pr.Params.FrequencyPenalty,
	}
	if pr.Params.JSONMode {
		gc.ResponseMimeType = "application/json"
	}
	req := geminiRequest{Contents: []geminiContent{{Role: "user", Parts: []geminiPart{{Text: pr.User}}}}, GenerationConfig: gc}
	if len(pr.Params.Extra) > 0 {
		m, err := mergeExtra(gc, pr.Params.Extra, nil, geminiOverridable)
		if err != nil {
			return Completion{}, fmt.Errorf("%s: encoding the request: %w", Google, err)
		}
		req.GenerationConfig = m // the conversation is outside generationConfig: nothing to protect
	}
	if pr.System != "" {
		req.SystemInstruction = &geminiContent{Parts: []geminiPart{{Text: pr.System}}}
	}
	h := http.Header{}
	if p.key != "" {
		h.Set("x-goog-api-key", p.key)
	}
	// Model names are also written "models/gemini-…"; the path adds that.
	model := url.PathEscape(strings.TrimPrefix(pr.Model, "models/"))
	data, err := p.t.postJSON(ctx, Google, p.base+"/v1beta/models/"+model+":generateContent", h, req)
	if err != nil {
		return Completion{}, err
	}
	var resp geminiResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return Completion{}, fmt.Errorf("%s: %w: unreadable response", Google, ErrInvalidAnswer)
	}
	if r := resp.PromptFeedback.BlockReason; r != "" {
		return Completion{}, fmt.Errorf("%s: %w (blockReason %s)", Google, ErrRefused, clip(p.t.secrets.redact(r), 40))
	}
	if len(resp.Candidates) == 0 {
		return Completion{}, fmt.Errorf("%s: %w: no candidates in the response", Google, ErrInvalidAnswer)
	}
	c := resp.Candidates[0]
	if geminiBlocked[c.FinishReason] {
		return Completion{}, fmt.Errorf("%s: %w (finishReason %s)", Google, ErrRefused, c.FinishReason)
	}
	var text strings.Builder
	for _, part := range c.Content.Parts {
		if !part.Thought { // thinking models may return their thoughts as parts
			text.WriteString(part.Text)
		}
	}
	if strings.TrimSpace(text.String()) == "" {
		return Completion{}, fmt.Errorf("%s: %w: empty answer", Google, ErrInvalidAnswer)
	}
	return Completion{Text: text.String(), Truncated: c.FinishReason == "MAX_TOKENS"}, nil
}
