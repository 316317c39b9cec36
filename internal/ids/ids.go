// Package ids makes the API's identifiers: a prefix ("run_", "clust_", …)
// followed by random alphanumerics from crypto/rand.
package ids

import (
	"crypto/rand"
	"math/big"
)

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// Length is the number of random characters after the prefix (36^16 ≈ 2^82).
const Length = 16

// New returns prefix followed by Length random characters.
func New(prefix string) string {
	b := make([]byte, Length)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("ids: crypto/rand failed: " + err.Error()) // the OS RNG never fails on supported systems
		}
		b[i] = alphabet[v.Int64()]
	}
	return prefix + string(b)
}
