package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Limits of a valid answer.
const (
	// MaxLabelLength is the most characters (runes) of a label.
	MaxLabelLength = 80
	// MaxKeywords is the most keywords of an answer (at least one when asked).
	MaxKeywords = 10
)

// Bounds of the lenient JSON search, so that a huge or brace-ridden answer
// costs little: a label object is a few hundred bytes.
const (
	maxAnswerScan     = 64 << 10
	maxJSONCandidates = 32
)

// ClusterLabel is one cluster's validated answer.
type ClusterLabel struct {
	// Label is unique within the run (see Labeler.Label), 1 to 80
	// characters, whitespace collapsed.
	Label string
	// Summary is the model's summary; empty when not asked for.
	Summary string
	// Keywords are 1 to 10 distinct keywords (case-insensitively); nil when
	// not asked for.
	Keywords []string
	// Answer is the model's JSON object, compacted, when the run has a
	// response_shape (nil otherwise). Label, Summary and Keywords are then
	// taken from it as the shape allows, and any of them may be empty.
	Answer json.RawMessage
}

// parseAnswer finds the model's JSON object in text and validates it. The
// error is the reason, for the caller to wrap with ErrInvalidAnswer.
func parseAnswer(text string, wantSummary, wantKeywords bool) (ClusterLabel, error) {
	obj, err := findLabelObject(text)
	if err != nil {
		return ClusterLabel{}, err
	}
	var out ClusterLabel
	var label string
	if json.Unmarshal(obj["label"], &label) != nil {
		return ClusterLabel{}, errors.New(`"label" is missing or not a string`)
	}
	out.Label = strings.Join(strings.Fields(label), " ")
	switch n := len([]rune(out.Label)); {
	case n == 0:
		return ClusterLabel{}, errors.New(`"label" is empty`)
	case n > MaxLabelLength:
		return ClusterLabel{}, fmt.Errorf(`"label" is longer than %d characters`, MaxLabelLength)
	}
	if wantSummary {
		var s string
		if json.Unmarshal(obj["summary"], &s) != nil {
			return ClusterLabel{}, errors.New(`"summary" is missing or not a string`)
		}
		out.Summary = strings.TrimSpace(s)
	}
	if wantKeywords {
		var kws []string
		if json.Unmarshal(obj["keywords"], &kws) != nil || len(kws) < 1 || len(kws) > MaxKeywords {
			return ClusterLabel{}, fmt.Errorf(`"keywords" must be a list of 1 to %d strings`, MaxKeywords)
		}
		seen := map[string]bool{}
		for _, k := range kws {
			k = strings.Join(strings.Fields(k), " ")
			if k == "" {
				return ClusterLabel{}, errors.New(`"keywords" has an empty keyword`)
			}
			if lk := strings.ToLower(k); !seen[lk] {
				seen[lk] = true
				out.Keywords = append(out.Keywords, k)
			}
		}
	}
	return out, nil
}

// findLabelObject returns the first balanced JSON object of text that has a
// "label" key, wherever it is (inside code fences, after prose).
func findLabelObject(text string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	_, err := findObject(text, func(b []byte) error {
		var o map[string]json.RawMessage
		if json.Unmarshal(b, &o) != nil {
			return errors.New("the answer is not a JSON object")
		}
		if _, ok := o["label"]; !ok {
			return errors.New(`"label" is missing or not a string`)
		}
		obj = o
		return nil
	})
	return obj, err
}

// balancedEnd returns the length of the brace-balanced prefix of s (which
// starts with '{'), skipping braces inside JSON strings; 0 if unbalanced.
func balancedEnd(s string) int {
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}
