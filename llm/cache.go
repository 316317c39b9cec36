package llm

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// cache keeps validated answers for cache_ttl_seconds, in memory, bounded to
// a number of entries with least-recently-used eviction. It is safe for
// concurrent use.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	answer  ClusterLabel
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the live answer under key.
func (c *cache) get(key string, now time.Time) (ClusterLabel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return ClusterLabel{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return ClusterLabel{}, false
	}
	c.order.MoveToFront(el)
	return copyLabel(e.answer), true
}

// put stores answer under key until expires, evicting the least recently
// used entries beyond the bound.
func (c *cache) put(key string, answer ClusterLabel, expires time.Time) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.answer, e.expires = copyLabel(answer), expires
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, answer: copyLabel(answer), expires: expires})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry).key)
	}
}

// copyLabel copies the keyword and answer slices so callers cannot alias
// cache entries.
func copyLabel(l ClusterLabel) ClusterLabel {
	l.Keywords = slices.Clone(l.Keywords)
	l.Answer = slices.Clone(l.Answer)
	return l
}

// cacheInput is what identifies a cluster's prompt: provider, model, the
// cluster's ID when the prompt shows it (custom prompts), the (truncated)
// representative documents, keyword hints and every option that shapes the
// prompt or the generation. The labels already taken are left out on
// purpose: they depend on the order calls finish in, which would make the
// cache miss on identical reruns; uniqueness is enforced after the calls.
type cacheInput struct {
	Provider, Model, ID string
	Texts, Hints        []string
	Summary, Keywords   bool
	Custom, Shape       string
	Params              Params
}

// cacheKey is the SHA-256 of in's JSON.
func cacheKey(in cacheInput) string {
	// Marshalling strings, bools, numbers and raw JSON cannot fail.
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
