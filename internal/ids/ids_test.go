package ids

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestSequenceOrder: a sequence's ids have New's shape, sort in the order
// they were made, and are consecutive base-36 numbers, across the carry
// from the low half into the high half and the wrap at 36^Length.
func TestSequenceOrder(t *testing.T) {
	max := new(big.Int).Exp(big.NewInt(36), big.NewInt(Length), nil)
	value := func(id string) *big.Int {
		v, ok := new(big.Int).SetString(strings.TrimPrefix(id, "doc_"), 36)
		if !ok {
			t.Fatalf("%q is not base 36", id)
		}
		return v
	}
	cases := []struct {
		name   string
		hi, lo uint64
	}{
		{"random start", 0, 0},
		{"carry into the high half", 17, half - 3},
		{"wrap at 36^16", half - 1, half - 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewSequence("doc_")
			if c.hi != 0 || c.lo != 0 {
				s.hi, s.lo = c.hi, c.lo
			}
			prev := s.Next()
			for i := 0; i < 1000; i++ {
				id := s.Next()
				if len(id) != len("doc_")+Length || strings.Trim(id[4:], alphabet) != "" {
					t.Fatalf("%q is not doc_ and %d of %q", id, Length, alphabet)
				}
				want := new(big.Int).Add(value(prev), big.NewInt(1))
				want.Mod(want, max)
				if value(id).Cmp(want) != 0 {
					t.Fatalf("after %q came %q, want the next number", prev, id)
				}
				if id <= prev && want.Sign() != 0 {
					t.Fatalf("%q sorts before %q, made before it", id, prev)
				}
				prev = id
			}
		})
	}
}

// TestSequencesStartApart: two sequences start at independent random
// points (a fixed start would make every import's ids collide).
func TestSequencesStartApart(t *testing.T) {
	a, b := NewSequence("doc_").Next(), NewSequence("doc_").Next()
	if a == b || a[4:12] == b[4:12] {
		t.Fatalf("two sequences began with %q and %q", a, b)
	}
}

// TestNewAtOrder: NewAt's ids have New's shape and sort by the time they
// were made, to the millisecond, over the range of the clock; ids of one
// millisecond differ; times outside the range clamp to its ends.
func TestNewAtOrder(t *testing.T) {
	times := []time.Time{
		time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), // before the epoch: clamped to it
		epoch,
		epoch.Add(time.Millisecond),
		time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 7, 9, 0, 0, int(time.Millisecond), time.UTC),
		time.Date(2035, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2110, 1, 1, 0, 0, 0, 0, time.UTC), // past 36^8 ms (May 2109): clamped
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	var prev string
	for i, at := range times {
		id := NewAt("col_", at)
		if len(id) != len("col_")+Length || !strings.HasPrefix(id, "col_") || strings.Trim(id[4:], alphabet) != "" {
			t.Fatalf("%q is not col_ and %d of %q", id, Length, alphabet)
		}
		clamped := i == 1 || i == len(times)-1 // the same millisecond as the time before
		if i > 0 && !clamped && id <= prev {
			t.Errorf("%q (%v) sorts before %q (%v), made earlier", id, at, prev, times[i-1])
		}
		if clamped && id[4:12] != prev[4:12] {
			t.Errorf("%v: time part %q, want %q (clamped like %v)", at, id[4:12], prev[4:12], times[i-1])
		}
		prev = id
	}
	at := times[3]
	if a, b := NewAt("col_", at), NewAt("col_", at); a == b || a[4:12] != b[4:12] {
		t.Fatalf("two ids of one millisecond: %q and %q; want the same time part and different ids", a, b)
	}
}
