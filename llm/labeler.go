package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clusterd/clusterd/internal/parallel"
)

// Defaults of the per-request [Options].
const (
	DefaultMaxSamplesPerCluster = 10
	DefaultSampleTextMaxLength  = 200
)

// maxHints bounds the TF-IDF keywords put in a prompt.
const maxHints = 30

// maxCacheTTL caps cache_ttl_seconds (a year) so the duration cannot overflow.
const maxCacheTTL = 365 * 24 * time.Hour

// Labeler names clusters with an LLM. Create one per process with [New] and
// share it: it holds the cache and the concurrency bound, and is safe for
// concurrent use.
type Labeler struct {
	cfg       Config
	providers map[string]Provider
	t         *transport
	sem       chan struct{} // bounds provider calls in flight
	cache     *cache
}

// New returns a Labeler for c (zero fields take their defaults). It fails,
// with an error wrapping [ErrConfig], only when a base URL is not an
// http(s) URL.
func New(c Config) (*Labeler, error) {
	c = c.withDefaults()
	ps, t, err := newProviders(c)
	if err != nil {
		return nil, err
	}
	return &Labeler{cfg: c, providers: ps, t: t, sem: make(chan struct{}, c.Concurrency), cache: newCache(c.CacheSize)}, nil
}

// Cluster is one cluster to label.
type Cluster struct {
	// ID names the cluster in the result, e.g. "cl_3". IDs should be unique;
	// a repeated ID is labeled once (its first occurrence).
	ID string
	// Samples are the representative documents, closest to the centroid
	// first, each shown as one line of JSON (see [Sample]). Samples without
	// inputs are skipped and the first max_samples_per_cluster are kept, so
	// the caller may pass more. When Samples is nil, Texts are used instead.
	Samples []Sample
	// Texts are representative documents as plain text, used when Samples
	// is nil. Whitespace is collapsed, empty texts are skipped, and the
	// first max_samples_per_cluster are kept, each cut to
	// sample_text_max_length characters (so the caller may pass them
	// untruncated).
	Texts []string
	// Keywords are the offline (class-based TF-IDF) keywords, given to the
	// model as hints; at most 30 are used.
	Keywords []string
}

// Options are a run's llm_labeling settings (the caller maps
// model.LLMLabeling onto them; labeling_inputs and use_embedding_dedup are
// the caller's choice of the Samples). Zero values mean the defaults.
type Options struct {
	// Provider is "openai", "anthropic" or "google"; empty means inferred
	// from Model (see [ResolveProvider]).
	Provider string
	// Model is the model name; empty means the provider's default model.
	Model string
	// IncludeSummary and IncludeKeywords ask for a summary and keywords;
	// nil means true. They shape the default answer only: with a
	// ResponseShape the shape alone says what to answer.
	IncludeSummary, IncludeKeywords *bool
	// MaxSamplesPerCluster is how many Texts per cluster go into the
	// prompt; <= 0 means 10.
	MaxSamplesPerCluster int
	// SampleTextMaxLength is the most characters of each text (of each
	// string value of a Sample) in the prompt; <= 0 means 200.
	SampleTextMaxLength int
	// CustomPrompt replaces clusterd's instructions (the system prompt's
	// task description). The answer format clusterd parses follows it in
	// the system prompt, and the cluster's information (its ID, documents,
	// keyword hints and the labels already taken) is the user message, so
	// answers are still read and validated.
	CustomPrompt string
	// ResponseShape is llm_labeling.response_shape: empty or null for the
	// default answer, a JSON string describing the answer in words, or a
	// JSON Schema object the answer must satisfy (see [CheckResponseShape]).
	ResponseShape json.RawMessage
	// Parameters are generation settings; see [ParseParams].
	Parameters json.RawMessage
	// CacheTTLSeconds is how long answers are cached; <= 0 disables the
	// cache for the request (neither read nor written).
	CacheTTLSeconds int
}

// Request is one run's labeling work.
type Request struct {
	Clusters []Cluster
	Options  Options
}

// Result is the outcome of [Labeler.Label].
type Result struct {
	// Labels holds the answers of the clusters that succeeded, by ID.
	Labels map[string]ClusterLabel
	// Errors is the run's llm_labeling_errors: one JSON string
	// {"error":"…","clusters":["cl_3","cl_5"]} per distinct error message,
	// clusters in natural order (cl_2 before cl_10), entries ordered by
	// their first cluster. Never nil, so it encodes as [] when empty.
	Errors []string
	// Failed holds the error of each cluster that failed, by ID, for
	// logging or errors.Is (ErrRefused, ErrTimeout, *APIError ...). Their
	// messages are redacted like Errors.
	Failed map[string]error
}

// run is the resolved options of one Label call.
type run struct {
	provider     Provider
	model        string
	params       Params
	wantSummary  bool
	wantKeywords bool
	custom       string
	shape        *shape // nil: the default answer
	rawShape     string // response_shape, normalized, for the cache key
	ttl          time.Duration
	system       string
}

// job is one cluster's prepared prompt inputs.
type job struct {
	id           string
	texts, hints []string
	key          string // cache key
}

// Label asks the model for a label (and summary and keywords, unless turned
// off) of every cluster, at most Config.Concurrency calls at a time. It never
// fails as a whole: clusters whose call failed are missing from
// Result.Labels and listed in Result.Errors (a configuration error lists
// every cluster).
//
// The prompt is a system instruction, clusterd's task description (or
// custom_prompt, which replaces it) followed by the answer format, and a
// user message with the cluster's ID (with a custom prompt only), its
// representative documents numbered (one line each: plain text, or a
// [Sample]'s JSON), the TF-IDF keywords as hints and the labels already
// taken by clusters done so far in the run. The answer format is, by
// default, only a JSON object {"label": …, "summary": …, "keywords": […]}
// (the fields asked for); with a response_shape, a JSON object valid
// against the shape's JSON Schema, or with the fields its description in
// words asks for. An answer that does not follow the format is asked for
// once more, with the reason, and then fails the cluster.
//
// With a response_shape, ClusterLabel.Answer is the answer object, and
// Label, Summary and Keywords come from its "label", "summary" and
// "keywords" fields when the shape has them (a schema declaring them as
// properties, or a description in words whose answer has them) with the
// right type; the label is then cut to 80 characters. An answer without a
// label leaves Label empty; such clusters are outside the uniqueness rule.
//
// Labels are unique within the run, compared case-insensitively. After all
// calls, every cluster whose label repeats the label of a cluster earlier
// in Request.Clusters is asked once more, with the labels of all other
// clusters as taken. A label still repeated then gets the smallest suffix
// " (2)", " (3)", … that makes it unique among all labels (the base is
// shortened to keep 80 characters); the earliest cluster keeps the bare
// label. A failed re-ask keeps the first answer (then suffixed) and is not
// an error.
//
// With Options.CacheTTLSeconds > 0, validated answers are cached in memory
// for that long, keyed by provider, model, the cluster's prompt inputs
// (documents after truncation, keyword hints) and the options shaping the
// prompt or generation; a hit makes no call. Answers to re-asks replace the
// cluster's entry; suffixes are not cached.
func (l *Labeler) Label(ctx context.Context, req Request) Result {
	r, cfgErr := l.newRun(req.Options)
	jobs := prepareJobs(req, r)
	answers := make([]*ClusterLabel, len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		switch {
		case cfgErr != nil:
			errs[i] = cfgErr
		case len(j.texts) == 0 && len(j.hints) == 0:
			errs[i] = ErrNoInput
		}
	}
	if cfgErr == nil {
		l.firstPass(ctx, r, jobs, answers, errs)
		l.reaskDuplicates(ctx, r, jobs, answers)
		suffixDuplicates(answers)
	}
	return l.result(jobs, answers, errs)
}

// newRun resolves a request's options; an error fails every cluster.
func (l *Labeler) newRun(o Options) (*run, error) {
	name, model, err := ResolveProvider(o.Provider, o.Model)
	if err != nil {
		return nil, err
	}
	if err := missingKey(name, l.cfg); err != nil {
		return nil, err
	}
	params, err := ParseParams(o.Parameters)
	if err != nil {
		return nil, err
	}
	sh, err := parseShape(o.ResponseShape)
	if err != nil {
		return nil, err
	}
	r := &run{
		provider:     l.providers[name],
		model:        model,
		params:       params,
		wantSummary:  o.IncludeSummary == nil || *o.IncludeSummary,
		wantKeywords: o.IncludeKeywords == nil || *o.IncludeKeywords,
		custom:       strings.TrimSpace(o.CustomPrompt),
		shape:        sh,
	}
	if sh != nil {
		r.wantSummary, r.wantKeywords = false, false
		r.rawShape = "schema " + sh.text // compact: spacing does not matter
		if sh.words != "" {
			r.rawShape = "words " + sh.words
		}
	}
	if o.CacheTTLSeconds > 0 && l.cfg.CacheSize > 0 {
		r.ttl = time.Duration(min(int64(o.CacheTTLSeconds), int64(maxCacheTTL/time.Second))) * time.Second
	}
	r.system = systemPrompt(r)
	return r, nil
}

// prepareJobs selects and truncates each cluster's texts and hints. r may be
// nil (configuration error): then no cache key is needed.
func prepareJobs(req Request, r *run) []job {
	maxSamples := req.Options.MaxSamplesPerCluster
	if maxSamples <= 0 {
		maxSamples = DefaultMaxSamplesPerCluster
	}
	maxLen := req.Options.SampleTextMaxLength
	if maxLen <= 0 {
		maxLen = DefaultSampleTextMaxLength
	}
	seen := map[string]bool{}
	jobs := make([]job, 0, len(req.Clusters))
	for _, c := range req.Clusters {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		j := job{id: c.ID}
		if c.Samples != nil {
			for _, s := range c.Samples {
				if len(j.texts) == maxSamples {
					break
				}
				if t := renderSample(s, maxLen); t != "" {
					j.texts = append(j.texts, t)
				}
			}
		} else {
			for _, t := range c.Texts {
				if len(j.texts) == maxSamples {
					break
				}
				if t = clip(t, maxLen); t != "" {
					j.texts = append(j.texts, t)
				}
			}
		}
		for _, k := range c.Keywords {
			if len(j.hints) == maxHints {
				break
			}
			if k = strings.Join(strings.Fields(k), " "); k != "" {
				j.hints = append(j.hints, k)
			}
		}
		if r != nil {
			// With a custom prompt the cluster's ID is part of the prompt
			// (custom prompts may refer to it), so of the key too.
			id := ""
			if r.custom != "" {
				id = j.id
			}
			j.key = cacheKey(cacheInput{Provider: r.provider.Name(), Model: r.model, ID: id, Texts: j.texts, Hints: j.hints,
				Summary: r.wantSummary, Keywords: r.wantKeywords, Custom: r.custom, Shape: r.rawShape, Params: r.params})
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// firstPass labels every job without an error yet, telling each call the
// labels of the clusters finished before it started.
func (l *Labeler) firstPass(ctx context.Context, r *run, jobs []job, answers []*ClusterLabel, errs []error) {
	var mu sync.Mutex
	var taken []string
	l.forEach(len(jobs), func(i int) {
		if errs[i] != nil { // no input; only this call touches errs[i] in the pass
			return
		}
		mu.Lock()
		snapshot := slices.Clone(taken)
		mu.Unlock()
		a, err := l.labelOne(ctx, r, jobs[i], uniqueLabels(snapshot), true)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs[i] = err
			return
		}
		answers[i] = &a
		if a.Label != "" {
			taken = append(taken, a.Label)
		}
	})
}

// reaskDuplicates asks once more for every cluster whose label repeats an
// earlier cluster's, with the labels of all other clusters as taken.
func (l *Labeler) reaskDuplicates(ctx context.Context, r *run, jobs []job, answers []*ClusterLabel) {
	var dups []int
	seen := map[string]bool{}
	for i, a := range answers {
		if a == nil || a.Label == "" {
			continue
		}
		if k := labelKey(a.Label); seen[k] {
			dups = append(dups, i)
		} else {
			seen[k] = true
		}
	}
	var mu sync.Mutex
	l.forEach(len(dups), func(k int) {
		i := dups[k]
		mu.Lock()
		var others []string
		for o, a := range answers {
			if a != nil && a.Label != "" && o != i {
				others = append(others, a.Label)
			}
		}
		mu.Unlock()
		a, err := l.labelOne(ctx, r, jobs[i], uniqueLabels(others), false)
		if err != nil {
			return // keep the first answer; suffixDuplicates makes it unique
		}
		mu.Lock()
		answers[i] = &a
		mu.Unlock()
	})
}

// suffixDuplicates makes labels unique (case-insensitively) in order: the
// first holder keeps a label, later ones get the smallest " (n)", n >= 2,
// that no label of the run has.
func suffixDuplicates(answers []*ClusterLabel) {
	all := map[string]bool{}
	for _, a := range answers {
		if a != nil && a.Label != "" {
			all[labelKey(a.Label)] = true
		}
	}
	seen := map[string]bool{}
	for _, a := range answers {
		if a == nil || a.Label == "" {
			continue
		}
		if k := labelKey(a.Label); !seen[k] {
			seen[k] = true
			continue
		}
		for n := 2; ; n++ {
			cand := withSuffix(a.Label, n)
			if k := labelKey(cand); !seen[k] && !all[k] {
				a.Label = cand
				seen[k], all[k] = true, true
				break
			}
		}
	}
}

// withSuffix appends " (n)" to label, shortening label so the result has at
// most MaxLabelLength characters.
func withSuffix(label string, n int) string {
	suffix := fmt.Sprintf(" (%d)", n)
	base := []rune(label)
	if keep := MaxLabelLength - len([]rune(suffix)); len(base) > keep {
		base = base[:keep]
	}
	return strings.TrimRight(string(base), " ") + suffix
}

// labelKey is what label uniqueness compares.
func labelKey(label string) string { return strings.ToLower(label) }

// uniqueLabels drops repeats (case-insensitively) from labels, keeping order.
func uniqueLabels(labels []string) []string {
	seen := map[string]bool{}
	out := labels[:0:0]
	for _, s := range labels {
		if k := labelKey(s); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// forEach calls fn(0..n-1) from at most Config.Concurrency goroutines.
func (l *Labeler) forEach(n int, fn func(i int)) {
	parallel.For(context.Background(), max(l.cfg.Concurrency, 1), n, fn)
}

// labelOne returns a cluster's answer: from the cache when readCache allows,
// else from the model, asking once more if the answer is invalid.
func (l *Labeler) labelOne(ctx context.Context, r *run, j job, taken []string, readCache bool) (ClusterLabel, error) {
	if readCache && r.ttl > 0 {
		if a, ok := l.cache.get(j.key, l.t.now()); ok {
			return a, nil
		}
	}
	if !r.shape.mayLabel() {
		taken = nil // answers carry no label: nothing to keep unique
	}
	id := ""
	if r.custom != "" {
		id = j.id
	}
	user := userPrompt(id, j.texts, j.hints, taken)
	p := Prompt{Model: r.model, System: r.system, User: user, Params: r.params}
	var err error
	for range 2 {
		var c Completion
		c, err = l.complete(ctx, r.provider, p)
		if err != nil {
			if !errors.Is(err, ErrInvalidAnswer) {
				return ClusterLabel{}, err
			}
			continue // an empty or unreadable answer: ask again as is
		}
		// The key is redacted before parsing, so it can reach no label.
		var a ClusterLabel
		var reason error
		if text := l.t.secrets.redact(c.Text); r.shape != nil {
			a, reason = r.shape.parse(text)
		} else {
			a, reason = parseAnswer(text, r.wantSummary, r.wantKeywords)
		}
		if reason == nil {
			if r.ttl > 0 {
				l.cache.put(j.key, a, l.t.now().Add(r.ttl))
			}
			return a, nil
		}
		if c.Truncated {
			reason = fmt.Errorf("%w (the answer was cut short at the token limit)", reason)
		}
		err = fmt.Errorf("%s: %w: %v", r.provider.Name(), ErrInvalidAnswer, reason)
		p.User = retryPrompt(user, reason)
	}
	return ClusterLabel{}, err
}

// complete makes one provider call within the Labeler's concurrency bound.
func (l *Labeler) complete(ctx context.Context, p Provider, pr Prompt) (Completion, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return Completion{}, fmt.Errorf("%s: %w", p.Name(), ctx.Err())
	}
	defer func() { <-l.sem }()
	return p.Complete(ctx, pr)
}

// result assembles the Result of jobs' outcomes.
func (l *Labeler) result(jobs []job, answers []*ClusterLabel, errs []error) Result {
	res := Result{Labels: map[string]ClusterLabel{}, Errors: []string{}, Failed: map[string]error{}}
	groups := map[string][]string{}
	for i, j := range jobs {
		if answers[i] != nil {
			res.Labels[j.id] = *answers[i]
			continue
		}
		// Errors are redacted where they are made; this is the last guard.
		msg := l.t.secrets.redact(errs[i].Error())
		res.Failed[j.id] = errs[i]
		groups[msg] = append(groups[msg], j.id)
	}
	type entry struct {
		Error    string   `json:"error"`
		Clusters []string `json:"clusters"`
	}
	entries := make([]entry, 0, len(groups))
	for msg, ids := range groups {
		slices.SortFunc(ids, naturalCompare)
		entries = append(entries, entry{msg, ids})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := naturalCompare(a.Clusters[0], b.Clusters[0]); c != 0 {
			return c
		}
		return strings.Compare(a.Error, b.Error)
	})
	for _, e := range entries {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // keep messages readable: no \u003c
		// Encoding strings cannot fail.
		_ = enc.Encode(e)
		res.Errors = append(res.Errors, strings.TrimSuffix(b.String(), "\n"))
	}
	return res
}

// naturalCompare orders strings with digit runs compared by value, so
// "cl_2" < "cl_10"; strings equal that way ("cl_3", "cl_03") compare
// bytewise.
func naturalCompare(a, b string) int {
	if c := naturalCompareRuns(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func naturalCompareRuns(a, b string) int {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitPrefix(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
