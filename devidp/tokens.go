package devidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// TokenOption shapes a token made by [Provider.Issue].
type TokenOption func(*tokenConfig)

type tokenConfig struct {
	user, app     string
	scopes, roles []string
	scopesSet     bool
	rolesSet      bool
	aud, iss, tid string
	fromTenant    string
	v1            bool
	policy        string
	issuedAt      *time.Time
	notBefore     *time.Time
	expiresIn     *time.Duration
	claimEdits    []func(map[string]any)
	acrs, xmsCC   []string
	idToken       bool
	// personal signs with the personal-account key
	// (SignedWithPersonalAccountKey).
	personal bool
}

// ForUser issues a delegated token to the configured user with that
// username: its oid, name and preferred_username, a pairwise sub, its roles
// unless [Roles] says otherwise, and all its scopes unless [Scopes] says
// otherwise. An unknown username gets a made-up user with no scopes or
// roles. Without ForUser or [ForApp], the token is for the first configured
// user (alice by default).
func ForUser(username string) TokenOption { return func(t *tokenConfig) { t.user = username } }

// ForApp issues an app-only token (client credentials) to the configured
// app with that client ID, or else with that display name (ForApp("admin-daemon")
// names [AdminDaemonClientID]): azp the client ID, azpacr "1", idtyp
// "app" with [WithIDTypClaim], oid
// and sub the app's object ID, roles the app's roles unless [Roles] says
// otherwise, and no scp unless [Scopes] asks for one. An unknown client ID
// gets a made-up app with no roles.
func ForApp(clientID string) TokenOption { return func(t *tokenConfig) { t.app = clientID } }

// Scopes sets the delegated scopes, short names such as "Items.Read", joined
// with spaces in scp. No scopes means no scp claim.
func Scopes(scopes ...string) TokenOption {
	return func(t *tokenConfig) { t.scopes, t.scopesSet = scopes, true }
}

// Roles sets the app roles (the roles array). No roles means no roles claim.
func Roles(roles ...string) TokenOption {
	return func(t *tokenConfig) { t.roles, t.rolesSet = roles, true }
}

// Claim sets or overrides any claim. Claim and [WithoutClaim] apply after
// every other option, in the order given.
func Claim(name string, value any) TokenOption {
	return func(t *tokenConfig) {
		t.claimEdits = append(t.claimEdits, func(c map[string]any) { c[name] = value })
	}
}

// WithoutClaim removes a claim. [Claim] and WithoutClaim apply after every
// other option, in the order given.
func WithoutClaim(name string) TokenOption {
	return func(t *tokenConfig) {
		t.claimEdits = append(t.claimEdits, func(c map[string]any) { delete(c, name) })
	}
}

// IDToken makes an ID token instead of an access token, as Entra issues to
// a client application that signs a user in (the API's own registration,
// when it is used to sign users in too): aud the provider's client ID
// unless [Audience], a nonce, no scp, no azp/appid, azpacr/appidacr or
// idtyp, and the user's roles. Validators must refuse it: it is not an
// access token. With [V1Token] it is a v1 ID token.
func IDToken() TokenOption { return func(t *tokenConfig) { t.idToken = true } }

// Audience sets aud: by default the provider's client ID, or its
// Application ID URI for a [V1Token].
func Audience(aud string) TokenOption { return func(t *tokenConfig) { t.aud = aud } }

// IssuerClaim sets iss, whatever the other options say: by default the
// issuer of the token's tenant and version ([Provider.Issuer],
// [Provider.V1Issuer], [FromTenant]).
func IssuerClaim(iss string) TokenOption { return func(t *tokenConfig) { t.iss = iss } }

// Tenant sets tid alone, the provider's tenant by default: the issuer does
// not change unless [IssuerClaim] says so (see [FromTenant] for both). It
// makes the token whose tid and iss disagree.
func Tenant(tid string) TokenOption { return func(t *tokenConfig) { t.tid = tid } }

// ExpiresIn sets exp relative to iat: the provider's token lifetime by
// default, an hour unless [WithTokenLifetime]. A negative d
// makes a token that has already expired.
func ExpiresIn(d time.Duration) TokenOption { return func(t *tokenConfig) { t.expiresIn = &d } }

// IssuedAt sets iat and nbf, the provider's clock by default; exp follows
// (iat + [ExpiresIn]).
func IssuedAt(at time.Time) TokenOption { return func(t *tokenConfig) { t.issuedAt = &at } }

// NotBefore sets nbf alone, iat by default.
func NotBefore(at time.Time) TokenOption { return func(t *tokenConfig) { t.notBefore = &at } }

// Issue returns a compact JWS access token shaped like Entra ID's v2 access
// tokens (B2C's for a [WithB2C] provider), signed RS256 with the provider's
// current key (the API's own with [WithCustomSigningKey]): by default for
// the first configured user (alice) with all its scopes, for the provider's
// client ID, valid for an hour from the provider's clock. Options change it;
// the last option wins where two set the same thing.
//
// Issue is safe for concurrent use.
func (p *Provider) Issue(opts ...TokenOption) string {
	u := p.Unsigned(opts...)
	payload, err := json.Marshal(u.Claims)
	if err != nil {
		panic(fmt.Sprintf("devidp: encoding the claims: %v", err))
	}
	h := jws.NewHeaders()
	_ = h.Set("typ", "JWT")
	_ = h.Set(jws.KeyIDKey, u.KeyID)
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256, u.Key, jws.WithProtectedHeaders(h)))
	if err != nil {
		panic(fmt.Sprintf("devidp: signing: %v", err))
	}
	return string(out)
}

// UnsignedToken is a token [Provider.Unsigned] built but did not sign.
type UnsignedToken struct {
	// Claims are the token's claims, a map of the caller's own.
	Claims map[string]any
	// Key is the private key Issue signs these claims with (an RSA key).
	Key crypto.Signer
	// KeyID is the kid of Key in the provider's key sets.
	KeyID string
}

// Unsigned returns the claims [Provider.Issue] would sign for opts, and the
// key it would sign them with: for code that signs tokens its own way, as
// the test kit entratest does to make tokens that are wrong in one precise
// way. The key is the provider's development key; it is never published
// but in the provider's key sets.
func (p *Provider) Unsigned(opts ...TokenOption) UnsignedToken {
	var t tokenConfig
	for _, o := range opts {
		o(&t)
	}
	key := p.signingKey()
	switch {
	case t.personal:
		key = personalAccountKey()
	case p.cfg.customKey:
		key = customKey()
	}
	return UnsignedToken{Claims: p.claims(&t), Key: key.priv, KeyID: key.kid}
}

// claims builds the payload of a token.
func (p *Provider) claims(t *tokenConfig) map[string]any {
	iat := p.cfg.now()
	if t.issuedAt != nil {
		iat = *t.issuedAt
	}
	nbf := iat
	if t.notBefore != nil {
		nbf = *t.notBefore
	}
	exp := iat.Add(p.cfg.accessTokenLifetime)
	if t.expiresIn != nil {
		exp = iat.Add(*t.expiresIn)
	}
	tenant := p.cfg.tenantID
	if t.fromTenant != "" {
		tenant = t.fromTenant
	}
	b2c := p.cfg.b2cName != ""
	v1 := t.v1 && !b2c
	c := map[string]any{
		"aud": p.cfg.clientID,
		"iss": p.issuer(tenant, v1),
		"iat": iat.Unix(),
		"nbf": nbf.Unix(),
		"exp": exp.Unix(),
		"tid": tenant,
		"ver": "2.0",
		"uti": randomString(22),
		"rh":  "0.A" + randomString(60) + ".",
		"aio": randomString(48),
	}
	// The client application and the user's name are claims whose names
	// changed between v1 and v2.
	azp, azpacr := "azp", "azpacr"
	if v1 {
		azp, azpacr = "appid", "appidacr"
		c["ver"], c["aud"] = "1.0", p.cfg.appIDURI
	}
	var scopes, roles []string
	if t.app != "" {
		app := p.app(t.app)
		c["oid"], c["sub"] = app.ObjectID, app.ObjectID
		c[azp], c[azpacr] = app.ClientID, "1"
		if p.cfg.idtyp {
			c["idtyp"] = "app"
		}
		roles = app.Roles
	} else {
		u := p.user(t.user)
		c["oid"], c["sub"] = u.ObjectID, pairwiseSub(u.ObjectID, p.cfg.clientID, tenant)
		c["name"] = u.Name
		if v1 {
			c["upn"], c["unique_name"] = u.Username, u.Username
		} else {
			c["preferred_username"] = u.Username
		}
		c[azp], c[azpacr] = DefaultSPAClientID, "0"
		scopes, roles = u.Scopes, u.Roles
	}
	if b2c {
		// B2C tokens: the user flow in tfp, B2C's own ver, sub the object
		// ID, and none of Entra's tenant and bookkeeping claims.
		for _, k := range []string{"tid", "uti", "rh", "aio", "azpacr", "preferred_username"} {
			delete(c, k)
		}
		c["ver"], c["tfp"], c["sub"] = "1.0", p.cfg.b2cPolicies[0], c["oid"]
	}
	if t.policy != "" {
		c["tfp"] = t.policy
	}
	if t.scopesSet {
		scopes = t.scopes
	}
	if t.rolesSet {
		roles = t.roles
	}
	if len(scopes) > 0 {
		c["scp"] = strings.Join(scopes, " ")
	}
	if len(roles) > 0 {
		c["roles"] = roles
	}
	if t.idToken {
		for _, k := range []string{"scp", "azp", "azpacr", "appid", "appidacr", "idtyp", "rh"} {
			delete(c, k)
		}
		c["aud"], c["nonce"] = p.cfg.clientID, randomString(32)
	}
	if len(t.acrs) > 0 {
		c["acrs"] = t.acrs
	}
	if len(t.xmsCC) > 0 {
		c["xms_cc"] = t.xmsCC
	}
	if t.aud != "" {
		c["aud"] = t.aud
	}
	if t.iss != "" {
		c["iss"] = t.iss
	}
	if t.tid != "" {
		c["tid"] = t.tid
	}
	for _, edit := range t.claimEdits {
		edit(c)
	}
	return c
}

// user returns the configured user with that username, the first one for
// "", or a made-up user for a name nobody has.
func (p *Provider) user(username string) User {
	if username == "" && len(p.cfg.users) > 0 {
		return p.cfg.users[0]
	}
	if u := p.configuredUser(username); u != nil {
		return *u
	}
	if username == "" {
		username = "user"
	}
	return User{Name: username, Username: username, ObjectID: guid("user:" + username)}
}

// app returns the configured app with that client ID or else that
// display name, or a made-up app.
func (p *Provider) app(clientID string) App {
	if id, ok := AppNamed(p.cfg.apps, clientID); ok {
		return *p.configuredApp(id)
	}
	return App{Name: clientID, ClientID: clientID, ObjectID: guid("app:" + clientID)}
}

// configuredUser returns the configured user with that username, or nil.
func (p *Provider) configuredUser(username string) *User {
	for i := range p.cfg.users {
		if p.cfg.users[i].Username == username {
			return &p.cfg.users[i]
		}
	}
	return nil
}

// configuredApp returns the configured app with that client ID, or nil.
func (p *Provider) configuredApp(clientID string) *App {
	for i := range p.cfg.apps {
		if p.cfg.apps[i].ClientID == clientID {
			return &p.cfg.apps[i]
		}
	}
	return nil
}

// publicKeyDER is the PKIX (SubjectPublicKeyInfo) DER encoding of pub.
func publicKeyDER(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("devidp: encoding an RSA public key: %v", err))
	}
	return der
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// randomString is n random base64url characters, for the opaque claims
// (uti, rh, aio) Entra fills with random-looking values.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)[:n]
}

// pairwiseSub derives a stable sub from a user, the API and the tenant, as
// Entra does: the same user has a different sub in each application, and it
// is not the oid. It has the shape of Entra's (43 base64url characters).
func pairwiseSub(oid, clientID, tenantID string) string {
	sum := sha256.Sum256([]byte(oid + "|" + clientID + "|" + tenantID))
	return b64(sum[:])
}

// guid derives a stable, GUID-shaped identifier from seed.
func guid(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	sum[6] = sum[6]&0x0f | 0x50 // version 5 (name-based)
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
