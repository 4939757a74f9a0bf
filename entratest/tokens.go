package entratest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// TokenOption shapes a token made by [Provider.Issue].
type TokenOption func(*tokenConfig)

type tokenConfig struct {
	user, app       string
	scopes, roles   []string
	scopesSet       bool
	rolesSet        bool
	aud, iss, tid   string
	issuedAt        time.Time
	notBefore       *time.Time
	expiresIn       time.Duration
	claims          map[string]any
	without         []string
	headers         map[string]any
	noKID           bool
	signing         string // "", "unknown", "wrong", "none", "hs256"
	alg             string
	issuedAtWasSet  bool
	expiresInWasSet bool
}

// ForUser issues the token to the configured user with that username: its
// oid, name and preferred_username, its roles, and all its scopes unless
// Scopes says otherwise.
func ForUser(username string) TokenOption { return func(t *tokenConfig) { t.user = username } }

// ForApp issues an app-only token (client credentials) to the configured
// app with that client ID: no scp, idtyp "app", the app's roles unless Roles
// says otherwise.
func ForApp(clientID string) TokenOption { return func(t *tokenConfig) { t.app = clientID } }

// Scopes sets the delegated scopes (scp, short names).
func Scopes(scopes ...string) TokenOption {
	return func(t *tokenConfig) { t.scopes, t.scopesSet = scopes, true }
}

// Roles sets the app roles (roles).
func Roles(roles ...string) TokenOption {
	return func(t *tokenConfig) { t.roles, t.rolesSet = roles, true }
}

// Claim sets or overrides any claim, after every other option.
func Claim(name string, value any) TokenOption {
	return func(t *tokenConfig) {
		if t.claims == nil {
			t.claims = map[string]any{}
		}
		t.claims[name] = value
	}
}

// WithoutClaim removes a claim, after every other option.
func WithoutClaim(name string) TokenOption {
	return func(t *tokenConfig) { t.without = append(t.without, name) }
}

// Audience sets aud, the provider's client ID by default.
func Audience(aud string) TokenOption { return func(t *tokenConfig) { t.aud = aud } }

// IssuerClaim sets iss, the provider's issuer by default.
func IssuerClaim(iss string) TokenOption { return func(t *tokenConfig) { t.iss = iss } }

// Tenant sets tid (the issuer is unchanged unless IssuerClaim).
func Tenant(tid string) TokenOption { return func(t *tokenConfig) { t.tid = tid } }

// ExpiresIn sets exp relative to iat, one hour by default; negative values
// make tokens that expired already.
func ExpiresIn(d time.Duration) TokenOption {
	return func(t *tokenConfig) { t.expiresIn, t.expiresInWasSet = d, true }
}

// IssuedAt sets iat and nbf, the provider's clock by default.
func IssuedAt(at time.Time) TokenOption {
	return func(t *tokenConfig) { t.issuedAt, t.issuedAtWasSet = at, true }
}

// NotBefore sets nbf alone.
func NotBefore(at time.Time) TokenOption { return func(t *tokenConfig) { t.notBefore = &at } }

// Header sets a protected header member, such as "jku" or "typ".
func Header(name string, value any) TokenOption {
	return func(t *tokenConfig) {
		if t.headers == nil {
			t.headers = map[string]any{}
		}
		t.headers[name] = value
	}
}

// WithoutKeyID leaves kid out of the header.
func WithoutKeyID() TokenOption { return func(t *tokenConfig) { t.noKID = true } }

// SignedWithUnknownKey signs with a key whose kid the key set does not list.
func SignedWithUnknownKey() TokenOption { return func(t *tokenConfig) { t.signing = "unknown" } }

// SignedWithWrongKey signs with another key but names the published kid:
// the signature does not verify.
func SignedWithWrongKey() TokenOption { return func(t *tokenConfig) { t.signing = "wrong" } }

// Algorithm signs with the provider's key using alg (RS384, RS512, PS256, …)
// instead of RS256.
func Algorithm(alg string) TokenOption { return func(t *tokenConfig) { t.alg = alg } }

// AlgNone makes an unsigned token: alg "none" and an empty signature.
func AlgNone() TokenOption { return func(t *tokenConfig) { t.signing = "none" } }

// HS256WithPublicKey signs with HMAC-SHA256 keyed with the DER (PKIX) bytes
// of the provider's public key, under the published kid: the key-confusion
// attack on validators that let the token choose the algorithm.
func HS256WithPublicKey() TokenOption { return func(t *tokenConfig) { t.signing = "hs256" } }

// Issue returns a signed compact JWT access token shaped like Entra ID's v2
// tokens: by default for the first configured user (alice) with all its
// scopes, valid for an hour from now.
func (p *Provider) Issue(opts ...TokenOption) string {
	var t tokenConfig
	for _, o := range opts {
		o(&t)
	}
	return p.sign(&t, p.claims(&t))
}

func (p *Provider) claims(t *tokenConfig) map[string]any {
	now := p.cfg.now()
	if t.issuedAtWasSet {
		now = t.issuedAt
	}
	exp := time.Hour
	if t.expiresInWasSet {
		exp = t.expiresIn
	}
	c := map[string]any{
		"aud": p.cfg.clientID,
		"iss": p.Issuer(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(exp).Unix(),
		"tid": p.cfg.tenantID,
		"ver": "2.0",
		"uti": randomString(16),
		"rh":  "0." + randomString(24),
		"aio": randomString(32),
	}
	if t.app != "" {
		app := p.app(t.app)
		c["oid"], c["sub"] = app.ObjectID, app.ObjectID
		c["azp"], c["azpacr"], c["idtyp"] = app.ClientID, "1", "app"
		roles := app.Roles
		if t.rolesSet {
			roles = t.roles
		}
		setList(c, "roles", roles)
		if t.scopesSet {
			setScopes(c, t.scopes)
		}
	} else {
		u := p.user(t.user)
		c["oid"], c["sub"] = u.ObjectID, pairwise(u.ObjectID, p.cfg.clientID)
		c["name"], c["preferred_username"] = u.Name, u.Username
		c["azp"], c["azpacr"] = DefaultSPAClientID, "0"
		scopes := u.Scopes
		if t.scopesSet {
			scopes = t.scopes
		}
		setScopes(c, scopes)
		roles := u.Roles
		if t.rolesSet {
			roles = t.roles
		}
		setList(c, "roles", roles)
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
	if t.notBefore != nil {
		c["nbf"] = t.notBefore.Unix()
	}
	for k, v := range t.claims {
		c[k] = v
	}
	for _, k := range t.without {
		delete(c, k)
	}
	return c
}

func setScopes(c map[string]any, scopes []string) {
	if len(scopes) > 0 {
		c["scp"] = strings.Join(scopes, " ")
	}
}

func setList(c map[string]any, name string, list []string) {
	if len(list) > 0 {
		c[name] = list
	}
}

// user returns the configured user, the first one for "", or a made-up user
// for an unknown name.
func (p *Provider) user(name string) User {
	for _, u := range p.cfg.users {
		if name == "" || u.Username == name {
			return u
		}
	}
	return User{Name: name, Username: name, ObjectID: pairwise(name, "user")}
}

// app returns the configured app, or a made-up app for an unknown ID.
func (p *Provider) app(clientID string) App {
	for _, a := range p.cfg.apps {
		if a.ClientID == clientID {
			return a
		}
	}
	return App{Name: clientID, ClientID: clientID, ObjectID: pairwise(clientID, "app")}
}

func (p *Provider) sign(t *tokenConfig, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("entratest: claims: " + err.Error())
	}
	key := p.signingKey()
	kid := key.kid
	priv := key.priv
	switch t.signing {
	case "unknown":
		priv = strangerKey()
		kid = thumbprint(&priv.PublicKey)
	case "wrong":
		priv = strangerKey()
	case "none", "hs256":
		return p.signByHand(t, kid, payload)
	}
	alg := jwa.RS256
	if t.alg != "" {
		alg = jwa.SignatureAlgorithm(t.alg)
	}
	h := jws.NewHeaders()
	_ = h.Set("typ", "JWT")
	if !t.noKID {
		_ = h.Set("kid", kid)
	}
	for name, v := range t.headers {
		if err := h.Set(name, v); err != nil {
			panic("entratest: header " + name + ": " + err.Error())
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		panic("entratest: signing: " + err.Error())
	}
	return string(out)
}

// signByHand builds the deliberately broken tokens jwx refuses to make.
func (p *Provider) signByHand(t *tokenConfig, kid string, payload []byte) string {
	alg := "none"
	if t.signing == "hs256" {
		alg = "HS256"
	}
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if !t.noKID {
		hdr["kid"] = kid
	}
	for name, v := range t.headers {
		hdr[name] = v
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		panic("entratest: header: " + err.Error())
	}
	input := b64(hb) + "." + b64(payload)
	if alg == "none" {
		return input + "."
	}
	der, err := x509.MarshalPKIXPublicKey(&p.signingKey().priv.PublicKey)
	if err != nil {
		panic("entratest: " + err.Error())
	}
	mac := hmac.New(sha256.New, der)
	mac.Write([]byte(input))
	return input + "." + b64(mac.Sum(nil))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)[:n]
}

// pairwise derives a stable opaque sub from a user and a client, as Entra
// does: the same user has a different sub in each application.
func pairwise(a, b string) string {
	sum := sha256.Sum256([]byte(a + "|" + b))
	return hex.EncodeToString(sum[:])[:43]
}
