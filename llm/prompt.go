package llm

import (
	"fmt"
	"strings"
)

// systemPrompt is the instruction for every call of a run: what to answer
// and in which JSON shape, with only the fields asked for.
func systemPrompt(wantSummary, wantKeywords bool) string {
	var b strings.Builder
	b.WriteString("You name clusters of documents. You are given representative documents of one cluster " +
		"(the most typical first) and keywords extracted from the whole cluster.\n" +
		`Reply with only a JSON object, without code fences or any other text, of the form {"label": "..."`)
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

// userPrompt is the message about one cluster: its numbered documents, the
// TF-IDF keywords as hints, the labels already taken, and the request's
// custom_prompt as additional instructions.
func userPrompt(texts, hints, taken []string, custom string) string {
	var b strings.Builder
	if len(texts) > 0 {
		b.WriteString("Representative documents:\n")
		for i, t := range texts {
			fmt.Fprintf(&b, "%d. %s\n", i+1, t)
		}
	}
	if len(hints) > 0 {
		if b.Len() > 0 {
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
	if custom = strings.TrimSpace(custom); custom != "" {
		fmt.Fprintf(&b, "\nAdditional instructions:\n%s\n", custom)
	}
	return b.String()
}

// retryPrompt is the user message asking again after an invalid answer.
func retryPrompt(user string, reason error) string {
	return fmt.Sprintf("%s\nYour previous answer was not valid (%v). Answer again with only the JSON object.\n", user, reason)
}
