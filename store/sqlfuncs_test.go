package store

import (
	"database/sql"
	"fmt"
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

// TestSQLFunctionsKeepNUL runs the SQL functions through SQLite on text
// holding NUL bytes: each must see the whole text (the driver's default
// copy of an argument stops at the first NUL), and the regexp cache must
// keep its own copies of the patterns, not views of SQLite's row buffers
// that the next row overwrites. The expected values are Go's regexp and
// strings packages' answers on the same strings.
func TestSQLFunctionsKeepNUL(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, c := range []struct {
		query string
		args  []any
		want  any
	}{
		{"SELECT clusterd_regexp(?, ?)", []any{"a\x00b", "apple"}, int64(0)},
		{"SELECT clusterd_regexp(?, ?)", []any{"a\x00b", "xa\x00by"}, int64(1)},
		{"SELECT clusterd_regexp(?, ?)", []any{"b$", "a\x00b"}, int64(1)},
		{"SELECT clusterd_fold(?)", []any{"A\x00B"}, "a\x00b"},
		{"SELECT clusterd_fold(?)", []any{"É\x00É"}, "é\x00é"},
		{"SELECT clusterd_text(?, ?, 0)", []any{"quick\x00fox", "fox"}, int64(1)},
		{"SELECT clusterd_text(?, ?, 1)", []any{"quick fox", "quick\x00cat"}, int64(0)},
	} {
		var got any
		if err := db.QueryRow(c.query, c.args...).Scan(&got); err != nil {
			t.Fatalf("%s %q: %v", c.query, c.args, err)
		}
		if s, ok := got.([]byte); ok {
			got = string(s)
		}
		if got != c.want {
			t.Errorf("%s %q = %#v, want %#v", c.query, c.args, got, c.want)
		}
	}

	// Patterns that differ row by row, read from a table so that SQLite
	// hands them over from its own reused buffers.
	if _, err := db.Exec(`CREATE TABLE t (p TEXT, x TEXT)`); err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for i := range 50 {
		p := fmt.Sprintf("^nul%02d\x00[a-z]+$", i)
		patterns = append(patterns, p)
		if _, err := db.Exec(`INSERT INTO t VALUES (?, ?)`, p, fmt.Sprintf("nul%02d\x00match", i)); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT SUM(clusterd_regexp(p, x)) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(patterns) {
		t.Errorf("%d of %d rows matched their own pattern", n, len(patterns))
	}
	regexps.Lock()
	defer regexps.Unlock()
	for _, p := range patterns {
		if re, ok := regexps.m[p]; ok && re.String() != p {
			t.Errorf("the cache holds %q under %q", re.String(), p)
		}
	}
	for k, re := range regexps.m {
		if re.String() != k {
			t.Errorf("the cache holds %q under %q (a key that changed after it was stored)", re.String(), k)
		}
	}
}
