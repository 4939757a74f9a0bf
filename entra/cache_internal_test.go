package entra

import (
	"fmt"
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
	if c.get(digest("token-9999"), now, st) == nil {
		t.Fatal("the newest entry was evicted")
	}
	if c.get(digest("token-0"), now, st) != nil {
		t.Fatal("the oldest entry survived")
	}
	if c.get(digest("token-9999"), now, &keyState{keys: map[string]*publicKey{}}) != nil {
		t.Fatal("an entry whose key is gone was used")
	}
	if c.get(digest("token-9999"), now, st) != nil {
		t.Fatal("an entry whose key was gone was kept")
	}
}
