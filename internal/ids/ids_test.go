package ids

import (
	"math/big"
	"strings"
	"testing"
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
