package entra

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt"
)

// Validator validates Entra ID access tokens for one API. It is safe for
// concurrent use; create one per process and share it.
type Validator struct {
	keys        *keySource // nil with a KeySet
	keySet      KeySet     // WithKeySet
	static      *keyState  // with a KeySet: its issuers, and the keys of a static one
	multiTenant bool
	personal    bool // the tenant of personal accounts: consumers or its ID
	allowed     []string
	filter      func(string) bool
	anyTenant   bool
	b2cPolicy   string
	allowGuests bool
	audiences   []string
	algorithms  []jwa.SignatureAlgorithm
	skew        time.Duration
	maxBytes    int
	now         func() time.Time
	realClock   bool        // now is time.Now
	cache       *tokenCache // nil when disabled
}

// NewValidator returns a validator configured by opts. It checks the
// configuration and returns an error naming every problem; it does not reach
// the network. Keys are fetched on first use, or by [Validator.Preload].
func NewValidator(opts ...Option) (*Validator, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	v := &Validator{
		multiTenant: c.multiTenant,
		personal:    c.personal,
		allowed:     slices.Clone(c.allowed),
		filter:      c.tenantFilter,
		anyTenant:   c.anyTenant,
		b2cPolicy:   c.b2cPolicy,
		allowGuests: c.allowGuests,
		audiences:   slices.Clone(c.audiences),
		skew:        c.clockSkew,
		maxBytes:    c.maxTokenBytes,
		now:         c.now,
		realClock:   c.realClock,
	}
	for _, a := range c.algorithms {
		v.algorithms = append(v.algorithms, jwa.SignatureAlgorithm(a))
	}
	if c.cacheSize > 0 {
		v.cache = newTokenCache(c.cacheSize)
	}
	if c.keySet != nil {
		v.keySet = c.keySet
		v.static = &keyState{issuers: c.keySetIssuers}
		if s, ok := c.keySet.(*staticKeySet); ok {
			v.static.keys = s.keys
		}
		return v, nil
	}
	v.keys = &keySource{
		discovery:     c.discovery,
		client:        c.client,
		now:           c.now,
		logger:        c.logger,
		refreshEvery:  c.refresh,
		minInterval:   c.minRefresh,
		retryInterval: min(DefaultRetryInterval, c.minRefresh),
	}
	return v, nil
}

// Preload fetches the discovery document and key set now, so the first
// request does not wait for them. An error leaves the validator usable: it
// keeps trying when tokens arrive. With a [KeySet] there is nothing to
// fetch.
func (v *Validator) Preload(ctx context.Context) error {
	if v.keys == nil {
		return nil
	}
	if done := v.keys.refresh(true); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !v.Ready() {
		return v.keys.err()
	}
	return nil
}

// Ready reports whether a key set has been loaded (always, with a
// [KeySet]).
func (v *Validator) Ready() bool { return v.keys == nil || v.keys.state.Load() != nil }

// Now is the validator's clock (time.Now unless [WithClock] set another).
func (v *Validator) Now() time.Time { return v.now() }

// metadata returns the identity provider's discovery document as last
// fetched, and whether one has been (never, with a [KeySet]).
func (v *Validator) metadata() (metadata, bool) {
	if v.keys == nil {
		return metadata{}, false
	}
	if st := v.keys.state.Load(); st != nil {
		return st.meta, true
	}
	return metadata{}, false
}

// Validate checks raw, a compact JWS access token, and returns its caller.
//
// In order: size; compact form, each segment canonical base64url (one
// spelling per token); the header, read strictly; algorithm (allow-list,
// never "none" or HMAC); key ID; signature with the published key of that
// ID; the claims, read strictly (exact names, none given twice, no
// look-alike of a claim we read, each of its type: else ErrMalformed);
// then issuer, tid against the issuer's tenant, audience, expiry and
// not-before (with clock skew), tenant, and that the token is an access
// token (it names its client application, grants scp or roles and has no
// mark of an ID token). Header members that point at keys (jku, x5u, jwk,
// x5c) are ignored: only the identity provider's published keys verify.
// The error wraps one of the Err… values of this package.
//
// A token validated before is found in a cache by the SHA-256 of its
// signing input (the hash an RS256 or PS256 signature check needs anyway)
// and its signature, compared whole: decoding and the signature check are
// skipped, the time window and the tenant filter
// are checked again, and the entry counts only while the key that verified
// it is still published. Each call returns the caller's own *Claims.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > v.maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, v.maxBytes)
	}
	var (
		in  signingInput
		sig string
	)
	now := v.now()
	if v.cache != nil {
		in, sig = signed(raw)
	}
	if in.n > 0 {
		e := v.cache.get(in.sum, now, v.published)
		if e != nil && e.sig != sig {
			e = nil // another token with the same signing input: verify it
		}
		if e != nil && v.keys == nil && v.static.keys == nil && !v.stillInKeySet(ctx, in.sum, e) {
			e = nil
		}
		if e != nil && (v.filter == nil || v.filter(e.claims.TenantID)) {
			c := *e.claims
			c.token = tokenOf(raw) // the caller's own token, never the cache's
			c.validUntil = v.validUntil(e.expires, now)
			return &c, nil
		}
	}
	vt, err := v.verify(ctx, raw, in)
	if err != nil {
		return nil, err
	}
	payload, key, state, kid := vt.payload, vt.key, vt.state, vt.kid
	var tc jwt.Claims
	if err := jwt.ParseClaims(payload, &tc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	claims, err := v.check(&tc, key, state, kid, payload, now)
	if err != nil {
		return nil, err
	}
	expires := claims.ExpiresAt.Add(v.skew)
	if in.n == 0 {
		claims.token = tokenOf(raw)
		claims.validUntil = v.validUntil(expires, now)
		return claims, nil
	}
	e := &cacheEntry{claims: claims, key: key, sig: strings.Clone(sig), expires: expires}
	if tc.Has(jwt.Nbf) {
		e.notBefore = tc.NotBefore.Add(-v.skew)
	}
	v.cache.put(in.sum, e)
	c := *claims
	c.token = tokenOf(raw)
	c.validUntil = v.validUntil(expires, now)
	return &c, nil
}

// key returns the published key named kid, and the key set state it
// belongs to.
func (v *Validator) key(ctx context.Context, kid string) (*publicKey, *keyState, error) {
	if v.keys != nil {
		return v.keys.key(ctx, kid)
	}
	k, err := fromKeySet(ctx, v.keySet, kid)
	return k, v.static, err
}

// published reports whether the key that verified the token of a cache
// entry is still published under its kid, for the cache, which holds a
// lock: a KeySet of the caller's, which may block, is asked by
// stillInKeySet once the lock is released.
func (v *Validator) published(e *cacheEntry) bool {
	switch {
	case v.keys != nil:
		st := v.keys.state.Load()
		return st != nil && st.keys[e.claims.keyID] == e.key
	case v.static.keys != nil:
		return v.static.keys[e.claims.keyID] == e.key
	}
	return true
}

// stillInKeySet asks a KeySet of the caller's whether the key of a cache
// entry is still published under its kid, and drops the entry if not.
func (v *Validator) stillInKeySet(ctx context.Context, d [32]byte, e *cacheEntry) bool {
	k, err := fromKeySet(ctx, v.keySet, e.claims.keyID)
	if err == nil && k.key.Equal(e.key.key) {
		return true
	}
	v.cache.drop(d, e)
	return false
}

// validUntil is expires, a time on the validator's clock, on the real
// clock: the time a timer can wait for.
func (v *Validator) validUntil(expires, now time.Time) time.Time {
	if v.realClock {
		return expires
	}
	return time.Now().Add(expires.Sub(now))
}

// check validates the claims of a token whose signature key verified.
func (v *Validator) check(tc *jwt.Claims, k *publicKey, st *keyState, kid string, payload []byte, now time.Time) (*Claims, error) {
	version, ok := v.matchIssuer(tc, st)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: iss %s, accepted %s", ErrIssuer, quoteClaim(tc.Iss), quoteList(issuerValues(st.issuers)))
	// B2C's ver is the version of B2C's own token format, "1.0" on tokens
	// of its v2.0 endpoints: it says nothing about the issuer.
	case tc.Ver != "" && tc.Ver != version && v.b2cPolicy == "":
		return nil, fmt.Errorf("%w: ver %q from a v%s issuer", ErrIssuer, tc.Ver, version)
	case tc.Tid != "" && !tenantAgrees(tc.Tid, issuerTenant(tc.Iss)):
		return nil, fmt.Errorf("%w: tid names another tenant than the issuer", ErrIssuer)
	case !keyIssuerMatches(k, tc, st):
		return nil, fmt.Errorf("%w: the signing key belongs to issuer %q", ErrIssuer, k.issuer)
	}
	aud := ""
	if tc.Aud == nil && tc.AudString != "" {
		if slices.Contains(v.audiences, tc.AudString) {
			aud = tc.AudString
		}
	}
	for _, a := range tc.Aud {
		if slices.Contains(v.audiences, a) {
			aud = a
			break
		}
	}
	if aud == "" {
		return nil, fmt.Errorf("%w: aud %s, accepted %s", ErrAudience, quoteList(tc.Audiences()), quoteList(v.audiences))
	}
	if !tc.Has(jwt.Exp) {
		return nil, fmt.Errorf("%w: no exp claim", ErrMalformed)
	}
	if !now.Before(tc.ExpiresAt.Add(v.skew)) {
		return nil, ErrExpired
	}
	if tc.Has(jwt.Nbf) && now.Add(v.skew).Before(tc.NotBefore) {
		return nil, ErrNotYetValid
	}
	if (v.multiTenant || v.personal) && !v.tenantAllowed(tc.Tid) {
		return nil, ErrTenant
	}
	if v.b2cPolicy != "" && !strings.EqualFold(tc.Policy(), v.b2cPolicy) {
		return nil, ErrPolicy
	}
	if err := v.isAccessToken(tc, version); err != nil {
		return nil, err
	}
	if v.b2cPolicy == "" && !v.allowGuests && tc.IsGuest() {
		return nil, ErrGuest
	}
	return claimsOf(tc, aud, kid, payload), nil
}

const tenantTemplate = "{tenantid}"

// quoteClaim quotes a token's claim for an error message that is logged,
// cut to 128 bytes: enough for any issuer or audience, and a token must
// not fill logs.
func quoteClaim(s string) string {
	if len(s) > 128 {
		return strconv.Quote(s[:128]) + "…"
	}
	return strconv.Quote(s)
}

// quoteList quotes names for an error message that is logged, each with
// quoteClaim and at most 8 of them.
func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	const most = 8
	var b strings.Builder
	for i, n := range names[:min(len(names), most)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteClaim(n))
	}
	if len(names) > most {
		fmt.Fprintf(&b, " and %d more", len(names)-most)
	}
	return b.String()
}

func issuerValues(issuers []issuer) []string {
	out := make([]string, len(issuers))
	for i, is := range issuers {
		out[i] = is.value
	}
	return out
}

// isAccessToken tells access tokens from the ID tokens the same issuer
// signs for the same audience (an API whose registration also signs users
// in gets ID tokens with its client ID as aud: RFC 8725 §2.8, §3.11).
// Entra's access tokens name the client application they were issued to —
// azp in v2 tokens (and in B2C's and External ID's), appid in v1 tokens —
// and grant something (scp or roles); ID tokens name no client application
// and carry nonce, at_hash or c_hash. B2C copies a requested nonce into
// its access tokens too, so there nonce alone does not tell.
func (v *Validator) isAccessToken(tc *jwt.Claims, version string) error {
	switch {
	case version == string(V1) && tc.Appid == "":
		return fmt.Errorf("%w: no appid claim (v1 access tokens name their client application)", ErrNotAccessToken)
	case version != string(V1) && tc.Azp == "":
		return fmt.Errorf("%w: no azp claim (v2 access tokens name their client application)", ErrNotAccessToken)
	case tc.Has(jwt.AtHash) || tc.Has(jwt.CHash):
		return fmt.Errorf("%w: it carries at_hash or c_hash, claims of ID tokens", ErrNotAccessToken)
	case tc.Has(jwt.Nonce) && v.b2cPolicy == "":
		return fmt.Errorf("%w: it carries nonce, a claim of ID tokens", ErrNotAccessToken)
	case strings.Trim(tc.Scp, " ") == "" && !slices.ContainsFunc(tc.Roles, func(r string) bool { return r != "" }):
		return fmt.Errorf("%w: it grants no scp or roles", ErrNotAccessToken)
	}
	return nil
}

// tenantAgrees reports whether tid is the tenant an issuer names, or the
// issuer names none.
func tenantAgrees(tid, issuerTID string) bool { return issuerTID == "" || tid == issuerTID }

// issuerTenant is the tenant an Entra issuer names: the first segment of
// its path that is a tenant ID (v2 https://login.microsoftonline.com/{tid}/v2.0,
// v1 https://sts.windows.net/{tid}/, External ID's and B2C's alike, and
// behind a prefix), or "" when none is.
func issuerTenant(iss string) string {
	_, rest, ok := strings.Cut(iss, "://")
	if !ok {
		return ""
	}
	_, path, _ := strings.Cut(rest, "/")
	for path != "" {
		var seg string
		seg, path, _ = strings.Cut(path, "/")
		if isTenantID(seg) {
			return seg
		}
	}
	return ""
}

// matchIssuer finds the accepted issuer that iss is, and its version.
// Multi-tenant metadata gives a template: the token's tid, which must be a
// tenant ID, is put in it and the result compared exactly. The template
// itself, prefixes and look-alikes never match.
func (v *Validator) matchIssuer(tc *jwt.Claims, st *keyState) (string, bool) {
	for _, is := range st.issuers {
		if strings.Contains(is.value, tenantTemplate) && (!v.multiTenant || !isTenantID(tc.Tid)) {
			continue
		}
		if isIssuerOf(is.value, tc.Tid, tc.Iss) {
			return is.version, true
		}
	}
	return "", false
}

// keyIssuerMatches checks the issuer a multi-tenant key set attaches to a
// key (as Microsoft.Identity.Web does): a key of personal accounts, say,
// must not verify an organization's token. v1 key sets carry no issuer, so
// a v1 token is compared with the v2 issuer of its tenant too.
func keyIssuerMatches(k *publicKey, tc *jwt.Claims, st *keyState) bool {
	if k.issuer == "" || isIssuerOf(k.issuer, tc.Tid, tc.Iss) {
		return true
	}
	if tc.Ver != string(V1) {
		return false
	}
	effective := strings.ReplaceAll(k.issuer, tenantTemplate, tc.Tid)
	for _, is := range st.issuers {
		if is.version == string(V2) && isIssuerOf(is.value, tc.Tid, effective) {
			return true
		}
	}
	return false
}

// isIssuerOf reports whether iss is template with each {tenantid} replaced
// by tid — strings.ReplaceAll(template, tenantTemplate, tid) == iss —
// without building the string: it runs for every new token.
func isIssuerOf(template, tid, iss string) bool {
	for {
		before, after, found := strings.Cut(template, tenantTemplate)
		if !strings.HasPrefix(iss, before) {
			return false
		}
		iss = iss[len(before):]
		if !found {
			return iss == ""
		}
		if !strings.HasPrefix(iss, tid) {
			return false
		}
		iss, template = iss[len(tid):], after
	}
}

// isTenantID reports whether s is a tenant ID as Entra writes it in tid
// and in issuers: a GUID in lowercase.
func isTenantID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

func (v *Validator) tenantAllowed(tid string) bool {
	switch {
	case v.anyTenant:
		return true
	case v.filter != nil:
		return v.filter(tid)
	}
	return slices.Contains(v.allowed, tid)
}

// Stats is a snapshot of a Validator's counters, for metrics. Reading it is
// cheap (atomics).
type Stats struct {
	CacheHits, CacheMisses uint64    // verified-token cache lookups since start
	CacheEntries           int       // entries in the cache now
	KeySetFetches          uint64    // successful key set fetches (JWKS; discovery counted with it)
	KeySetFetchFailures    uint64    // failed fetch attempts (discovery or JWKS)
	KeySetLoadedAt         time.Time // when the key set in use was fetched; zero before the first
}

// Stats returns the validator's counters now. With the cache turned off
// ([WithCacheSize](0)) the cache counters stay zero. A fetch counts once
// it ends: one successful fetch reads the discovery documents and their key
// sets together.
func (v *Validator) Stats() Stats {
	var s Stats
	if v.cache != nil {
		s.CacheHits, s.CacheMisses, s.CacheEntries = v.cache.stats()
	}
	if v.keys == nil {
		return s
	}
	s.KeySetFetches = v.keys.fetches.Load()
	s.KeySetFetchFailures = v.keys.failures.Load()
	if st := v.keys.state.Load(); st != nil {
		s.KeySetLoadedAt = st.fetched
	}
	return s
}
