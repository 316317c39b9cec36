package store

import (
	"slices"
	"testing"
)

// TestFold checks fold against mappings of Unicode's CaseFolding.txt
// (status C and F): the expected values are the file's, not this code's.
func TestFold(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"already lower 123", "already lower 123"},
		{"MiXeD ASCII", "mixed ascii"},
		{"ÉCOLE", "école"},     // 00C9; C; 00E9
		{"Straße", "strasse"},  // 00DF; F; 0073 0073
		{"\u212a", "k"},        // 212A (Kelvin sign); C; 006B
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"}, // 03A3; C; 03C3 (final sigma folds to σ too)
		{"ﬁle", "file"},        // FB01; F; 0066 0069
		{"İ", "i\u0307"},       // 0130; F; 0069 0307
		{"e\u0301", "e\u0301"}, // no normalisation: a combining mark stays
		{"\u00e9", "\u00e9"},   // and a precomposed é is not decomposed
		{"ǅ", "ǆ"},             // 01C5; C; 01C6 (title case)
		{"ΐ", "ι\u0308\u0301"}, // 0390; F; 03B9 0308 0301
	} {
		if got := fold(c.in); got != c.want {
			t.Errorf("fold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTextWords: words are maximal runs of letters, marks and numbers.
func TestTextWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ,;  ", nil},
		{"state-of-the-art", []string{"state", "of", "the", "art"}},
		{"don't", []string{"don", "t"}},
		{"v2.0 release", []string{"v2", "0", "release"}},
		{"e\u0301te\u0301", []string{"e\u0301te\u0301"}}, // combining marks stay inside the word
		{"東京 タワー", []string{"東京", "タワー"}},
		{"a+b=c", []string{"a", "b", "c"}},
	} {
		if got := textWords(c.in); !slices.Equal(got, c.want) {
			t.Errorf("textWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTextMatch: every query word must be a word of the text; order and
// repetition do not matter; case folds unless caseSensitive.
func TestTextMatch(t *testing.T) {
	for _, c := range []struct {
		text, query   string
		caseSensitive bool
		want          bool
	}{
		{"The quick brown fox", "fox quick", false, true},
		{"The quick brown fox", "FOX", false, true},
		{"The quick brown fox", "FOX", true, false},
		{"The quick brown fox", "fo", false, false}, // whole words only
		{"The quick brown fox", "fox fox the", false, true},
		{"The quick brown fox", "fox cat", false, false},
		{"STRASSE", "straße", false, true},
		{"anything", "", false, false}, // a query without words matches nothing
		{"anything", "?!", false, false},
		{"", "word", false, false},
		{"state-of-the-art", "art state", false, true},
	} {
		if got := textMatch(c.text, c.query, c.caseSensitive); got != c.want {
			t.Errorf("textMatch(%q, %q, %v) = %v, want %v", c.text, c.query, c.caseSensitive, got, c.want)
		}
	}
}

// TestCompileRegexpCache: a pattern compiles once and is then served from
// the cache; a bad pattern is an error and is not cached; the cache is
// emptied, not grown, past maxCachedRegexps.
func TestCompileRegexpCache(t *testing.T) {
	a, err := compileRegexp("^a+$")
	if err != nil {
		t.Fatal(err)
	}
	b, err := compileRegexp("^a+$")
	if err != nil || a != b {
		t.Fatalf("second compile gave %p (err %v), want the cached %p", b, err, a)
	}
	if _, err := compileRegexp("(x"); err == nil {
		t.Fatal("compileRegexp(\"(x\") gave no error")
	}
	regexps.Lock()
	_, cached := regexps.m["(x"]
	regexps.Unlock()
	if cached {
		t.Error("a bad pattern was cached")
	}
	for i := 0; i < 2*maxCachedRegexps; i++ {
		if _, err := compileRegexp("x{" + string(rune('0'+i%10)) + "}" + string(rune('a'+i%26)) + string(rune('a'+i/26))); err != nil {
			t.Fatal(err)
		}
	}
	regexps.Lock()
	n := len(regexps.m)
	regexps.Unlock()
	if n > maxCachedRegexps {
		t.Errorf("%d cached patterns, want at most %d", n, maxCachedRegexps)
	}
}
