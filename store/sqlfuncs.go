package store

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"modernc.org/sqlite"
)

// The SQL functions the filter language compiles to, registered with the
// "sqlite" driver for every connection it opens (so before Open runs):
//
//	clusterd_fold(x)         x case-folded when it is text (Unicode full
//	                         case folding), any other value unchanged
//	clusterd_regexp(p, x)    1 when the Go RE2 pattern p matches somewhere in
//	                         the text x, 0 for other text, NULL for NULL
//	clusterd_text(x, q, cs)  1 when every word of q is a word of the text x
//	                         (see textWords), compared case-folded unless cs
//
// SQLite's own lower() and LIKE fold ASCII only; these fold "É" to "é" and
// "Straße" to "strasse" as a client expects.
//
// They take their text arguments as views of SQLite's own bytes
// (VolatileArgs): the driver's copy of a text argument otherwise stops at
// its first NUL, so a pattern "a\x00b" became "a" and matched "apple". A
// view lives only during the call; what outlives it (the regexp cache's
// keys) is copied.
func init() {
	for name, fn := range map[string]struct {
		args int32
		fn   func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error)
	}{
		"clusterd_fold":   {1, sqlFold},
		"clusterd_regexp": {2, sqlRegexp},
		"clusterd_text":   {3, sqlText},
	} {
		sqlite.MustRegisterFunction(name, &sqlite.FunctionImpl{NArgs: fn.args, Deterministic: true, VolatileArgs: true, Scalar: fn.fn})
	}
}

func sqlFold(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if s, ok := args[0].(string); ok {
		return fold(s), nil
	}
	return args[0], nil
}

func sqlRegexp(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	p, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("clusterd_regexp: pattern is %T, not text", args[0])
	}
	switch x := args[1].(type) {
	case nil:
		return nil, nil
	case string:
		re, err := compileRegexp(p)
		if err != nil {
			return nil, err
		}
		return boolInt(re.MatchString(x)), nil
	}
	return int64(0), nil
}

func sqlText(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	q, ok := args[1].(string)
	if !ok {
		return nil, fmt.Errorf("clusterd_text: query is %T, not text", args[1])
	}
	cs, _ := args[2].(int64)
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case string:
		return boolInt(textMatch(x, q, cs != 0)), nil
	}
	return int64(0), nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// foldPool holds case folders: a cases.Caser keeps state and must not be
// shared between goroutines.
var foldPool = sync.Pool{New: func() any { c := cases.Fold(); return &c }}

// fold returns s with Unicode full case folding (CaseFolding.txt C and F
// mappings: "É" → "é", "ß" → "ss", the Kelvin sign → "k"), which is what two
// strings equal but for case have in common. It does not normalise
// (a precomposed "é" and "e" + U+0301 stay different).
func fold(s string) string {
	ascii, upper := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if ascii { // folding ASCII is lower-casing A–Z
		if !upper {
			return s
		}
		return strings.ToLower(s)
	}
	c := foldPool.Get().(*cases.Caser)
	defer foldPool.Put(c)
	return c.String(s)
}

// regexps caches compiled patterns: clusterd_regexp is called once per row
// with the same pattern. Entries are dropped all at once when it is full.
var regexps struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}

const maxCachedRegexps = 256

func compileRegexp(p string) (*regexp.Regexp, error) {
	regexps.Lock()
	re, ok := regexps.m[p]
	regexps.Unlock()
	if ok {
		return re, nil
	}
	p = strings.Clone(p) // the cache and the Regexp keep it; p may be a view of SQLite's bytes
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	regexps.Lock()
	if regexps.m == nil || len(regexps.m) >= maxCachedRegexps {
		regexps.m = map[string]*regexp.Regexp{}
	}
	regexps.m[p] = re
	regexps.Unlock()
	return re, nil
}

// textWords splits s into words: maximal runs of Unicode letters, marks and
// numbers (general categories L, M and N). Everything else (spaces,
// punctuation, symbols) separates words, so "state-of-the-art" is four words
// and "don't" two.
func textWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsNumber(r)
	})
}

// textMatch reports whether every word of query is a word of s, both
// case-folded unless caseSensitive. Order and repetition do not matter; a
// query without words matches nothing (the compiler refuses one).
func textMatch(s, query string, caseSensitive bool) bool {
	if !caseSensitive {
		s, query = fold(s), fold(query)
	}
	want := textWords(query)
	if len(want) == 0 {
		return false
	}
	have := textWords(s)
	set := make(map[string]struct{}, len(have))
	for _, w := range have {
		set[w] = struct{}{}
	}
	for _, w := range want {
		if _, ok := set[w]; !ok {
			return false
		}
	}
	return true
}
