// Package tokenmemo keeps what a server derives from one validated token,
// such as the caller that conditions see (package interceptor), once for
// every request that sends the token: package entra gives each validated
// token's Claims a [Memo], and its cache hands each request a copy of the
// Claims that shares it. It is internal, so entra's API shows nothing of
// it and entra depends on nothing the memo holds.
package tokenmemo

import "sync"

// Memo holds one value derived from a validated token, made on first use.
type Memo struct {
	once sync.Once
	v    any
}

// Get returns the memo's value, made by build on first use; concurrent
// first uses wait for one build. A nil Memo (Claims made by hand) keeps
// nothing: build runs on every call.
func (m *Memo) Get(build func() any) any {
	if m == nil {
		return build()
	}
	m.once.Do(func() { m.v = build() })
	return m.v
}

// Of returns the Memo of a *entra.Claims, nil when it has none. Package
// entra sets it when it is initialised, before any Claims exists.
var Of func(claims any) *Memo
