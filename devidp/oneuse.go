package devidp

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// expiring is a one-use secret's state: it knows when it expires.
type expiring interface{ expiry() time.Time }

// oneUse holds outstanding one-use secrets (authorization codes, refresh
// tokens) by their random id, at most max of them.
type oneUse[T expiring] struct {
	mu sync.Mutex
	m  map[string]T
}

// put stores v under a new id of n random bytes after prefix, first
// dropping the expired secrets and, when max are outstanding, arbitrary
// others to make room.
func (s *oneUse[T]) put(prefix string, n, max int, v T, now time.Time) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	id := prefix + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]T{}
	}
	for k, e := range s.m {
		if !now.Before(e.expiry()) {
			delete(s.m, k)
		}
	}
	for k := range s.m {
		if len(s.m) < max {
			break
		}
		delete(s.m, k)
	}
	s.m[id] = v
	return id
}

// take removes and returns a secret: it is spent by its first use, even a
// failed one. The zero T means no such secret.
func (s *oneUse[T]) take(id string) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[id]
	delete(s.m, id)
	return v
}
