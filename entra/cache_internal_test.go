package entra

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTheCacheIsBounded(t *testing.T) {
	c := newTokenCache(64)
	st := &keyState{keys: map[string]*publicKey{"k": {}}}
	now := time.Now()
	for i := 0; i < 10_000; i++ {
		c.put(digest(fmt.Sprint("token-", i)), &cacheEntry{claims: &Claims{keyID: "k"}, key: st.keys["k"], expires: now.Add(time.Hour)})
	}
	if n := c.len(); n > 64 {
		t.Fatalf("%d entries, want at most 64", n)
	}
	if c.get(digest("token-9999"), now, in(st)) == nil {
		t.Fatal("the newest entry was evicted")
	}
	if c.get(digest("token-0"), now, in(st)) != nil {
		t.Fatal("the oldest entry survived")
	}
	if c.get(digest("token-9999"), now, in(&keyState{keys: map[string]*publicKey{}})) != nil {
		t.Fatal("an entry whose key is gone was used")
	}
	if c.get(digest("token-9999"), now, in(st)) != nil {
		t.Fatal("an entry whose key was gone was kept")
	}
}

// TestTheCacheStaysBoundedWhenEntriesExpire mixes puts with gets that drop
// expired entries: the shard must still never hold more than its slots.
func TestTheCacheStaysBoundedWhenEntriesExpire(t *testing.T) {
	const size = cacheShards * 4
	c := newTokenCache(size)
	st := &keyState{keys: map[string]*publicKey{"k": {}}}
	now := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 100_000 {
		d := digest(fmt.Sprint("token-", r.IntN(2_000)))
		if r.IntN(3) == 0 {
			c.get(d, now.Add(time.Duration(r.IntN(3))*time.Hour), in(st))
			continue
		}
		c.put(d, &cacheEntry{claims: &Claims{keyID: "k"}, key: st.keys["k"], expires: now.Add(time.Duration(r.IntN(3)) * time.Hour)})
		for j := range c.shards {
			if n, slots := len(c.shards[j].entries), len(c.shards[j].ring); n > slots {
				t.Fatalf("after %d operations shard %d holds %d entries in %d slots", i, j, n, slots)
			}
		}
	}
}

// digest is a cache key.
func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// in is the published check of the keys of st.
func in(st *keyState) func(*cacheEntry) bool {
	return func(e *cacheEntry) bool { return st.keys[e.claims.keyID] == e.key }
}

// len counts the entries.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += len(c.shards[i].entries)
		c.shards[i].mu.Unlock()
	}
	return n
}
