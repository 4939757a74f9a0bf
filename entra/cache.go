package entra

import (
	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt"
	"strings"

	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

const cacheShards = 32

// tokenCache remembers validated tokens by the SHA-256 of their signing
// input and their signature (which alone cannot be replayed), never the
// tokens themselves, so a repeated token skips base64, JSON and RSA. An
// entry is used only while its time window holds and while the key that
// verified it is still in the current key set. It is split in shards so
// that concurrent requests rarely contend for one lock; each shard evicts
// its oldest entry when full (O(1)).
type tokenCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu      sync.Mutex
	entries map[[32]byte]*cacheEntry
	ring    [][32]byte // insertion order, for eviction
	next    int

	// Counters for Stats, changed under mu (so they cost no contention of
	// their own) and read without it.
	hits, misses atomic.Uint64
	size         atomic.Int64 // len(entries)
}

type cacheEntry struct {
	claims    *Claims
	key       *publicKey // the key that verified the token
	sig       string     // the token's signature segment, as sent
	notBefore time.Time  // nbf minus skew
	expires   time.Time  // exp plus skew
	slot      int        // the ring slot that owns the entry
}

func newTokenCache(size int) *tokenCache {
	per := max(size/cacheShards, 1)
	c := &tokenCache{}
	for i := range c.shards {
		c.shards[i].entries = make(map[[32]byte]*cacheEntry, per)
		c.shards[i].ring = make([][32]byte, per)
	}
	return c
}

// signingInput is the SHA-256 of a token's signing input, the first n
// bytes of the token: its cache key, and the hash an RS256 or PS256
// signature check needs.
type signingInput struct {
	sum [32]byte
	n   int // 0 when not computed
}

// signed hashes the signing input of raw, all before its second dot, and
// returns its signature segment, all after it. (IndexByte, unlike
// LastIndexByte, runs many bytes at a time.) A raw that is no compact JWS
// hashes to an entry it cannot have, as no cached signature holds a dot:
// verify refuses it.
func signed(raw string) (signingInput, string) {
	i := strings.IndexByte(raw, '.') + 1
	j := strings.IndexByte(raw[i:], '.')
	if i == 0 || j < 0 {
		return signingInput{}, raw
	}
	n := i + j
	return signingInput{sum: sha256.Sum256(jwt.BytesOf(raw[:n])), n: n}, raw[n+1:]
}

func (c *tokenCache) shard(d *[32]byte) *cacheShard { return &c.shards[d[0]%cacheShards] }

// get returns the entry for d if it is usable at now and its key is still
// published; an entry that is not is dropped.
func (c *tokenCache) get(d [32]byte, now time.Time, published func(*cacheEntry) bool) *cacheEntry {
	s := c.shard(&d)
	s.mu.Lock()
	e := s.entries[d]
	if e != nil && (now.Before(e.notBefore) || !now.Before(e.expires) || !published(e)) {
		delete(s.entries, d)
		s.size.Add(-1)
		e = nil
	}
	if e != nil {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
	s.mu.Unlock()
	return e
}

// drop removes e, the entry for d, unless another has replaced it.
func (c *tokenCache) drop(d [32]byte, e *cacheEntry) {
	s := c.shard(&d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries[d] == e {
		delete(s.entries, d)
		s.size.Add(-1)
	}
}

// stats sums the shards' counters.
func (c *tokenCache) stats() (hits, misses uint64, entries int) {
	for i := range c.shards {
		s := &c.shards[i]
		hits += s.hits.Load()
		misses += s.misses.Load()
		entries += int(s.size.Load())
	}
	return hits, misses, entries
}

// put stores e under d. Each ring slot owns the entry it was given: when
// the slot comes round again, that entry goes, whether or not get dropped
// it meanwhile, so a shard never holds more entries than its ring has
// slots.
func (c *tokenCache) put(d [32]byte, e *cacheEntry) {
	s := c.shard(&d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[d]; ok {
		e.slot = old.slot
		s.entries[d] = e
		return
	}
	if owner, ok := s.entries[s.ring[s.next]]; ok && owner.slot == s.next {
		delete(s.entries, s.ring[s.next])
		s.size.Add(-1)
	}
	e.slot = s.next
	s.ring[s.next] = d
	s.entries[d] = e
	s.size.Add(1)
	s.next = (s.next + 1) % len(s.ring)
}
