package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// ParamError is one invalid algorithm parameter. Param is the parameter's
// name as the caller spelled it in algorithm_params.
type ParamError struct {
	Param string
	Msg   string
	// Kind is a stable machine-readable reason: "unknown", "type", "range",
	// "enum", "conflict", "syntax".
	Kind string
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return "algorithm_params: " + e.Msg
	}
	return fmt.Sprintf("algorithm_params.%s: %s", e.Param, e.Msg)
}

// ParamErrors lists every problem found in one set of parameters.
type ParamErrors []*ParamError

func (es ParamErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// paramReader decodes a JSON object of parameters field by field, so that
// each field gets a precise message, unknown names are reported instead of
// ignored, and a field may accept more than one JSON type (n_init: 10 or
// "auto"). A JSON null means "use the default".
type paramReader struct {
	raw  map[string]json.RawMessage
	used map[string]bool
	errs ParamErrors
}

func newParamReader(raw json.RawMessage) *paramReader {
	p := &paramReader{raw: map[string]json.RawMessage{}, used: map[string]bool{}}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return p
	}
	if !json.Valid(trimmed) {
		p.errs = append(p.errs, &ParamError{Msg: "is not valid JSON: " + short(trimmed), Kind: "syntax"})
		return p
	}
	if err := json.Unmarshal(trimmed, &p.raw); err != nil {
		p.errs = append(p.errs, &ParamError{Msg: "must be a JSON object, got " + short(trimmed), Kind: "type"})
	}
	return p
}

func (p *paramReader) fail(name, kind, format string, args ...any) {
	p.errs = append(p.errs, &ParamError{Param: name, Msg: fmt.Sprintf(format, args...), Kind: kind})
}

// take returns the raw value of name, or nil when absent or null.
func (p *paramReader) take(name string) json.RawMessage {
	p.used[name] = true
	v, ok := p.raw[name]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	return v
}

// has reports whether name was given with a non-null value.
func (p *paramReader) has(name string) bool {
	v, ok := p.raw[name]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// intIn reads an integer in [lo, hi] (hi < 0: unbounded).
func (p *paramReader) intIn(name string, def, lo, hi int) int {
	v := p.take(name)
	if v == nil {
		return def
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		p.fail(name, "type", "must be an integer, got %s", short(v))
		return def
	}
	i := int(f)
	if i < lo || (hi >= 0 && i > hi) {
		if hi >= 0 {
			p.fail(name, "range", "must be between %d and %d, got %d", lo, hi, i)
		} else {
			p.fail(name, "range", "must be ≥ %d, got %d", lo, i)
		}
		return def
	}
	return i
}

// optInt reads an optional integer ≥ lo; absent or null gives nil.
func (p *paramReader) optInt(name string, lo int) *int {
	if !p.has(name) {
		p.used[name] = true
		return nil
	}
	v := p.intIn(name, lo, lo, -1)
	return &v
}

// floatIn reads a finite number in [lo, hi]; open bounds exclude the end.
func (p *paramReader) floatIn(name string, def, lo, hi float64, loOpen bool) float64 {
	v := p.take(name)
	if v == nil {
		return def
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		p.fail(name, "type", "must be a number, got %s", short(v))
		return def
	}
	if f < lo || f > hi || (loOpen && f == lo) {
		op := "≥"
		if loOpen {
			op = ">"
		}
		if math.IsInf(hi, 1) {
			p.fail(name, "range", "must be %s %g, got %g", op, lo, f)
		} else {
			p.fail(name, "range", "must be %s %g and ≤ %g, got %g", op, lo, hi, f)
		}
		return def
	}
	return f
}

// optFloat reads an optional number > lo (or ≥ lo); absent or null gives nil.
func (p *paramReader) optFloat(name string, lo float64, loOpen bool) *float64 {
	if !p.has(name) {
		p.used[name] = true
		return nil
	}
	v := p.floatIn(name, lo, lo, math.Inf(1), loOpen)
	return &v
}

// enum reads a string that must be one of allowed.
func (p *paramReader) enum(name, def string, allowed ...string) string {
	v := p.take(name)
	if v == nil {
		return def
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		p.fail(name, "type", "must be a string, got %s", short(v))
		return def
	}
	if !slices.Contains(allowed, s) {
		p.fail(name, "enum", "must be one of %s, got %q", quoteAll(allowed), s)
		return def
	}
	return s
}

// boolean reads a JSON boolean.
func (p *paramReader) boolean(name string, def bool) bool {
	v := p.take(name)
	if v == nil {
		return def
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		p.fail(name, "type", "must be true or false, got %s", short(v))
		return def
	}
	return b
}

// isString reports whether name holds a JSON string equal to s.
func (p *paramReader) isString(name, s string) bool {
	v, ok := p.raw[name]
	if !ok {
		return false
	}
	var got string
	return json.Unmarshal(v, &got) == nil && got == s
}

// finish reports unknown names (sorted, so messages are stable) and returns
// every error found.
func (p *paramReader) finish(algorithm string) error {
	var unknown []string
	for name := range p.raw {
		if !p.used[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	known := make([]string, 0, len(p.used))
	for name := range p.used {
		known = append(known, name)
	}
	sort.Strings(known)
	for _, name := range unknown {
		p.fail(name, "unknown", "unknown parameter for %s (known: %s)", algorithm, strings.Join(known, ", "))
	}
	if len(p.errs) == 0 {
		return nil
	}
	return p.errs
}

func short(v json.RawMessage) string {
	s := string(bytes.TrimSpace(v))
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
