package llm

import (
	"fmt"
	"strings"
)

// defaultInstructions is clusterd's task description; custom_prompt
// replaces it.
const defaultInstructions = "You name clusters of documents. You are given representative documents of one cluster " +
	"(the most typical first) and keywords extracted from the whole cluster."

// systemPrompt is the instruction for every call of a run: the task
// (custom_prompt, else clusterd's), then the answer format clusterd parses.
func systemPrompt(r *run) string {
	task := defaultInstructions
	if r.custom != "" {
		task = r.custom + "\n\nAnswer format (required, whatever the instructions above say about it):"
	}
	if r.shape != nil {
		return task + "\n" + r.shape.format()
	}
	return task + "\n" + defaultFormat(r.wantSummary, r.wantKeywords)
}

// defaultFormat asks for {"label", "summary", "keywords"} with only the
// fields asked for.
func defaultFormat(wantSummary, wantKeywords bool) string {
	var b strings.Builder
	b.WriteString(`Reply with only a JSON object, without code fences or any other text, of the form {"label": "..."`)
	if wantSummary {
		b.WriteString(`, "summary": "..."`)
	}
	if wantKeywords {
		b.WriteString(`, "keywords": ["...", "..."]`)
	}
	b.WriteString("}, where:\n")
	fmt.Fprintf(&b, "- label is a short, specific, human-readable name for the cluster: 2 to 6 words, at most %d characters, in the language of the documents;\n", MaxLabelLength)
	if wantSummary {
		b.WriteString("- summary is one or two sentences saying what the documents of the cluster have in common;\n")
	}
	if wantKeywords {
		b.WriteString("- keywords are 3 to 8 short keywords or key phrases characteristic of the cluster;\n")
	}
	b.WriteString("The label must differ from every label listed as already taken.")
	return b.String()
}

// userPrompt is the message about one cluster: its ID (when not empty: with
// a custom prompt), its numbered documents, the TF-IDF keywords as hints and
// the labels already taken.
func userPrompt(id string, texts, hints, taken []string) string {
	var b strings.Builder
	if id != "" {
		fmt.Fprintf(&b, "Cluster ID: %s\n\n", id)
	}
	if len(texts) > 0 {
		b.WriteString("Representative documents:\n")
		for i, t := range texts {
			fmt.Fprintf(&b, "%d. %s\n", i+1, t)
		}
	}
	if len(hints) > 0 {
		if len(texts) > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Keywords of the cluster (TF-IDF, as hints): %s\n", strings.Join(hints, ", "))
	}
	if len(taken) > 0 {
		b.WriteString("\nLabels already taken by other clusters (do not reuse them):\n")
		for _, t := range taken {
			fmt.Fprintf(&b, "- %s\n", t)
		}
	}
	return b.String()
}

// retryPrompt is the user message asking again after an invalid answer.
func retryPrompt(user string, reason error) string {
	return fmt.Sprintf("%s\nYour previous answer was not valid (%v). Answer again with only the JSON object.\n", user, reason)
}
