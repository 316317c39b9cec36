// Package nprand is numpy's legacy RandomState (MT19937) for the few draws
// scikit-learn's initialisations make, so that a seeded clusterd run starts
// where scikit-learn starts with the same random_state: uniform doubles
// (random_sample, uniform), bounded integers (randint) and sampling
// without replacement (choice through permutation).
package nprand

const (
	n         = 624
	m         = 397
	matrixA   = 0x9908b0df
	upperMask = 0x80000000
	lowerMask = 0x7fffffff
)

// RandomState is numpy.random.RandomState(seed).
type RandomState struct {
	mt  [n]uint32
	pos int
}

// New is RandomState(seed) for 0 ≤ seed < 2³², seeded as numpy's
// mt19937_seed does.
func New(seed uint32) *RandomState {
	r := &RandomState{pos: n}
	s := seed
	for i := 0; i < n; i++ {
		r.mt[i] = s
		s = 1812433253*(s^(s>>30)) + uint32(i) + 1
	}
	return r
}

func (r *RandomState) generate() {
	for i := 0; i < n; i++ {
		y := (r.mt[i] & upperMask) | (r.mt[(i+1)%n] & lowerMask)
		v := r.mt[(i+m)%n] ^ (y >> 1)
		if y&1 != 0 {
			v ^= matrixA
		}
		r.mt[i] = v
	}
	r.pos = 0
}

// Uint32 is the next 32-bit output.
func (r *RandomState) Uint32() uint32 {
	if r.pos == n {
		r.generate()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 is random_sample(): a double in [0, 1) from two outputs.
func (r *RandomState) Float64() float64 {
	a, b := r.Uint32()>>5, r.Uint32()>>6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// Uniform is uniform(low, high).
func (r *RandomState) Uniform(low, high float64) float64 {
	return low + (high-low)*r.Float64()
}

// Interval is numpy's random_interval(max): an integer in [0, max] by
// masked rejection of 32-bit outputs (max < 2³²).
func (r *RandomState) Interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := r.Uint32() & mask; v <= max {
			return v
		}
	}
}

// Intn is randint(high): an integer in [0, high), 0 < high ≤ 2³².
func (r *RandomState) Intn(high int) int { return int(r.Interval(uint32(high - 1))) }

// Permutation is permutation(k): the legacy Fisher–Yates shuffle of
// 0..k−1 from the last position down.
func (r *RandomState) Permutation(k int) []int {
	p := make([]int, k)
	for i := range p {
		p[i] = i
	}
	for i := k - 1; i >= 1; i-- {
		j := int(r.Interval(uint32(i)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// Choice is choice(k, size, replace=False): the first size entries of a
// permutation of 0..k−1.
func (r *RandomState) Choice(k, size int) []int { return r.Permutation(k)[:size] }
