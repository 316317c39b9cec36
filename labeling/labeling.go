// Package labeling names clusters offline: keywords per cluster by
// class-based TF-IDF over the members' text, a short label from the top
// keywords, and representative documents (the members closest to the
// centroid) for a summary and for an LLM prompt. It needs no network and
// labels 100,000 documents in seconds.
//
// Class-based TF-IDF (as in Grootendorst's BERTopic): all text of a cluster
// is one document, and a term's weight in cluster c is
//
//	w(t, c) = tf(t, c)/|c| · log(1 + A/f(t)) · tf(t, c)/f(t)
//
// where tf(t, c) counts t in c, |c| is the number of terms in c, f(t) counts
// t in all clusters and A is the average number of terms per cluster. The
// first two factors are BERTopic's c-TF-IDF; the last, the share of the
// term's occurrences that fall in c, is clusterd's addition: without it,
// words common everywhere ("file", "option") outrank the words that tell
// clusters apart, because the logarithm damps their frequency too little.
package labeling

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Cluster is one cluster to label: its members' texts, representative ones
// first (closest to the centroid).
type Cluster struct {
	ID    string
	Texts []string
}

// Options tune the keywords.
type Options struct {
	// Keywords per cluster (default 8).
	Keywords int
	// Bigrams allows two-word keywords; a bigram must occur at least
	// MinBigramCount times in the cluster (default 3) to count.
	Bigrams        bool
	MinBigramCount int
	// LabelWords is the number of keywords a label is made of (default 3).
	LabelWords int
	// Representatives is the number of texts kept per cluster for summaries
	// and prompts (default 10), each cut to RepresentativeLength
	// characters (default 200).
	Representatives      int
	RepresentativeLength int
}

func (o *Options) defaults() {
	if o.Keywords <= 0 {
		o.Keywords = 8
	}
	if o.MinBigramCount <= 0 {
		o.MinBigramCount = 3
	}
	if o.LabelWords <= 0 {
		o.LabelWords = 3
	}
	if o.Representatives <= 0 {
		o.Representatives = 10
	}
	if o.RepresentativeLength <= 0 {
		o.RepresentativeLength = 200
	}
}

// Labels are the offline description of one cluster.
type Labels struct {
	ID       string
	Label    string   // "" when the cluster has no text
	Keywords []string // best first; nil when the cluster has no text
	Summary  string   // "" when the cluster has no text
	// Representatives are the first texts of the cluster, cut to length.
	Representatives []string
	// Scores are the keywords' c-TF-IDF weights, in the same order.
	Scores []float64
}

// Label computes keywords, a label, a summary and representatives for every
// cluster. Labels are unique within the call: a label already taken gets
// the next keyword added until it is unique (then the cluster ID).
func Label(clusters []Cluster, opts Options) []Labels {
	opts.defaults()
	vocab := map[string]int32{}
	var words []string
	id := func(w string) int32 {
		if i, ok := vocab[w]; ok {
			return i
		}
		i := int32(len(words))
		vocab[w] = i
		words = append(words, w)
		return i
	}
	// Per-cluster term counts; a bigram is the pair of word ids packed in a uint64.
	uni := make([]map[int32]int, len(clusters))
	bi := make([]map[uint64]int, len(clusters))
	size := make([]int, len(clusters))
	total := map[int32]int{}
	totalBi := map[uint64]int{}
	for c, cl := range clusters {
		uni[c], bi[c] = map[int32]int{}, map[uint64]int{}
		for _, text := range cl.Texts {
			prev := int32(-1)
			tokenize(text, func(tok string, stop bool) {
				if stop {
					prev = -1
					return
				}
				w := id(tok)
				uni[c][w]++
				total[w]++
				size[c]++
				if opts.Bigrams && prev >= 0 {
					key := uint64(prev)<<32 | uint64(uint32(w))
					bi[c][key]++
					totalBi[key]++
				}
				prev = w
			})
		}
	}
	avg := 0.0
	for _, s := range size {
		avg += float64(s)
	}
	if len(size) > 0 {
		avg /= float64(len(size))
	}
	out := make([]Labels, len(clusters))
	taken := map[string]bool{}
	for c, cl := range clusters {
		out[c] = Labels{ID: cl.ID, Representatives: representatives(cl.Texts, opts)}
		if size[c] == 0 {
			continue
		}
		type cand struct {
			term  string
			parts []string
			score float64
		}
		var cands []cand
		for w, n := range uni[c] {
			cands = append(cands, cand{words[w], nil, weight(n, size[c], total[w], avg)})
		}
		for key, n := range bi[c] {
			if n < opts.MinBigramCount {
				continue
			}
			a, b := words[int32(key>>32)], words[int32(uint32(key))]
			cands = append(cands, cand{a + " " + b, []string{a, b}, weight(n, size[c], totalBi[key], avg)})
		}
		sort.Slice(cands, func(i, j int) bool {
			if cands[i].score != cands[j].score {
				return cands[i].score > cands[j].score
			}
			return cands[i].term < cands[j].term
		})
		// Pick the best terms; a word already inside a chosen bigram, or a
		// bigram whose words are both chosen, adds nothing.
		chosen := map[string]bool{}
		for _, cd := range cands {
			if len(out[c].Keywords) == opts.Keywords {
				break
			}
			if cd.parts == nil && chosen[cd.term] {
				continue
			}
			if cd.parts != nil && chosen[cd.parts[0]] && chosen[cd.parts[1]] {
				continue
			}
			out[c].Keywords = append(out[c].Keywords, cd.term)
			out[c].Scores = append(out[c].Scores, cd.score)
			chosen[cd.term] = true
			for _, p := range cd.parts {
				chosen[p] = true
			}
		}
		out[c].Label = uniqueLabel(out[c].Keywords, opts.LabelWords, cl.ID, taken)
		out[c].Summary = summary(len(cl.Texts), out[c].Keywords, out[c].Representatives)
	}
	return out
}

// weight is the keyword score of a term counted n times in a cluster of
// size terms, f times in all clusters, with avg terms per cluster.
func weight(n, size, f int, avg float64) float64 {
	return float64(n) / float64(size) * math.Log(1+avg/float64(f)) * float64(n) / float64(f)
}

// uniqueLabel joins the first n keywords in title case; while that label is
// taken it adds the next keyword, and as a last resort the cluster id.
func uniqueLabel(keywords []string, n int, clusterID string, taken map[string]bool) string {
	n = min(n, len(keywords))
	for ; n <= len(keywords); n++ {
		parts := make([]string, n)
		for i, k := range keywords[:n] {
			parts[i] = titleCase(k)
		}
		l := strings.Join(parts, ", ")
		if !taken[l] {
			taken[l] = true
			return l
		}
	}
	l := fmt.Sprintf("%s (%s)", strings.Join(keywords, ", "), clusterID)
	taken[l] = true
	return l
}

func titleCase(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[size:]
	}
	return strings.Join(words, " ")
}

// summary describes a cluster in one sentence from its keywords and its
// most representative text.
func summary(n int, keywords, reps []string) string {
	top := keywords[:min(3, len(keywords))]
	s := fmt.Sprintf("%d documents about %s", n, joinAnd(top))
	if len(reps) > 0 {
		s += fmt.Sprintf("; most representative: \u201c%s\u201d", reps[0])
	}
	return s
}

func joinAnd(w []string) string {
	switch len(w) {
	case 0:
		return ""
	case 1:
		return w[0]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}

// representatives returns the first non-empty texts, each cut at a word
// boundary to the length limit (with an ellipsis).
func representatives(texts []string, opts Options) []string {
	var out []string
	for _, t := range texts {
		if len(out) == opts.Representatives {
			break
		}
		t = strings.Join(strings.Fields(t), " ")
		if t == "" {
			continue
		}
		out = append(out, Truncate(t, opts.RepresentativeLength))
	}
	return out
}

// Truncate cuts s to at most n characters (runes), at a word boundary when
// one is near, adding "…" when it cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)*2/3 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, unicode.IsPunct) + "…"
}

// tokenize lower-cases text and splits it into runs of letters and digits
// (apostrophes inside words kept), calling emit for each token. Stop words,
// one-letter tokens and tokens without a letter are emitted with stop set,
// so callers can break bigrams there.
func tokenize(text string, emit func(tok string, stop bool)) {
	start := -1
	hasLetter := false
	flush := func(end int) {
		if start < 0 {
			return
		}
		tok := strings.Trim(strings.ToLower(text[start:end]), "'")
		stop := !hasLetter || utf8.RuneCountInString(tok) < 2 || stopWords[tok] || stopWords[strings.TrimSuffix(tok, "'s")]
		emit(strings.TrimSuffix(tok, "'s"), stop)
		start, hasLetter = -1, false
	}
	for i, r := range text {
		switch {
		case unicode.IsLetter(r):
			if start < 0 {
				start = i
			}
			hasLetter = true
		case unicode.IsDigit(r) || (r == '\'' && start >= 0):
			if start < 0 {
				start = i
			}
		default:
			flush(i)
			if !unicode.IsSpace(r) {
				emit("", true) // punctuation ends a phrase
			}
		}
	}
	flush(len(text))
}
