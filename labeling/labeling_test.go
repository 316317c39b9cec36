package labeling

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// corpus reads testdata/corpus.ndjson.gz (paragraphs of Debian manual pages,
// written by testdata/make_corpus.sh) grouped by page: the page is the
// ground-truth cluster.
func corpus(t testing.TB) []Cluster {
	t.Helper()
	f, err := os.Open("testdata/corpus.ndjson.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]string{}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var d struct{ Source, Text string }
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		by[d.Source] = append(by[d.Source], d.Text)
	}
	var out []Cluster
	for src, texts := range by {
		out = append(out, Cluster{ID: src, Texts: texts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// tokens returns the set of unigrams and bigrams of a text as tokenize sees them.
func tokens(text string) map[string]bool {
	set := map[string]bool{}
	prev := ""
	tokenize(text, func(tok string, stop bool) {
		if stop {
			prev = ""
			return
		}
		set[tok] = true
		if prev != "" {
			set[prev+" "+tok] = true
		}
		prev = tok
	})
	return set
}

// TestKeywordsAreDistinctive: on the manual-page corpus, every keyword of a
// cluster occurs in its members, and the label's keywords occur in a share
// of the cluster's paragraphs at least 4 times their share elsewhere (for
// at least 80% of all keywords, too).
func TestKeywordsAreDistinctive(t *testing.T) {
	clusters := corpus(t)
	labels := Label(clusters, Options{Bigrams: true})
	docs := make([][]map[string]bool, len(clusters))
	for c, cl := range clusters {
		for _, text := range cl.Texts {
			docs[c] = append(docs[c], tokens(text))
		}
	}
	share := func(c int, kw string, inside bool) float64 {
		hit, n := 0, 0
		for c2 := range clusters {
			if (c2 == c) != inside {
				continue
			}
			for _, d := range docs[c2] {
				n++
				if d[kw] {
					hit++
				}
			}
		}
		return float64(hit) / float64(max(n, 1))
	}
	var distinctive, total int
	seen := map[string]bool{}
	for c, l := range labels {
		if l.Label == "" || len(l.Keywords) == 0 || l.Summary == "" || len(l.Representatives) == 0 {
			t.Fatalf("%s: empty labels %+v", l.ID, l)
		}
		if seen[l.Label] {
			t.Errorf("label %q used twice", l.Label)
		}
		seen[l.Label] = true
		t.Logf("%-10s %-32q %s", l.ID, l.Label, strings.Join(l.Keywords, ", "))
		for i, kw := range l.Keywords {
			in, out := share(c, kw, true), share(c, kw, false)
			if in == 0 {
				t.Errorf("%s: keyword %q occurs in none of its members", l.ID, kw)
			}
			ok := in >= 4*out
			if ok {
				distinctive++
			}
			total++
			if i < 3 && !ok {
				t.Errorf("%s: label keyword %q in %.1f%% of members, %.1f%% elsewhere", l.ID, kw, 100*in, 100*out)
			}
		}
	}
	if float64(distinctive) < 0.8*float64(total) {
		t.Errorf("only %d of %d keywords are distinctive", distinctive, total)
	}
}

func TestTokenize(t *testing.T) {
	var got []string
	tokenize("The user's SSH-keys, 42 times: don't ignore them!", func(tok string, stop bool) {
		if stop {
			got = append(got, "|")
		} else {
			got = append(got, tok)
		}
	})
	want := "| user ssh | keys | | times | | ignore | |"
	if strings.Join(got, " ") != want {
		t.Fatalf("tokens %q\nwant   %q", strings.Join(got, " "), want)
	}
}

func TestUniqueLabelsAndEmptyClusters(t *testing.T) {
	cls := []Cluster{
		{ID: "cl_0", Texts: []string{"red apple pie", "red apple tart"}},
		{ID: "cl_1", Texts: []string{"red apple pie", "red apple tart"}},
		{ID: "cl_2", Texts: []string{"", "   "}},
	}
	l := Label(cls, Options{LabelWords: 2})
	if l[0].Label == l[1].Label {
		t.Fatalf("duplicate label %q", l[0].Label)
	}
	if l[2].Label != "" || l[2].Keywords != nil || l[2].Summary != "" {
		t.Fatalf("a cluster without text got %+v", l[2])
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"the quick brown fox jumps", 18, "the quick brown…"},
		{"ünïcödé wörds here", 9, "ünïcödé…"},
	}
	for _, c := range cases {
		if got := Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// BenchmarkLabel100k labels 100,000 documents in 20 clusters (the corpus's
// paragraphs repeated).
func BenchmarkLabel100k(b *testing.B) {
	base := corpus(b)
	var all []string
	for _, c := range base {
		all = append(all, c.Texts...)
	}
	clusters := make([]Cluster, 20)
	for i := 0; i < 100000; i++ {
		c := &clusters[i%20]
		c.ID = fmt.Sprintf("cl_%d", i%20)
		c.Texts = append(c.Texts, all[(i*7)%len(all)])
	}
	b.ResetTimer()
	for b.Loop() {
		Label(clusters, Options{Bigrams: true})
	}
	b.ReportMetric(100000/(b.Elapsed().Seconds()/float64(b.N)), "docs/s")
}
