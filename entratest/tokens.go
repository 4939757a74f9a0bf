package entratest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 for signByHand
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
	headerEdits   []func(map[string]any)
	claimsJSON    []func(string) string
	headerJSON    []func(string) string
	idToken       bool
	signing       signing
	alg           jwa.SignatureAlgorithm
}

// signing says how a token is signed, and whether its signature is good.
type signing int

const (
	signGood            signing = iota // the provider's key, its published kid
	signUnknownKey                     // a stranger key, the stranger's kid
	signWrongKey                       // a stranger key, the published kid
	signNone                           // alg "none", no signature
	signHS256WithPub                   // HMAC keyed with the public key
	signPersonalAccount                // the personal-account key, its kid
)

// ForUser issues a delegated token to the configured user with that
// username: its oid, name and preferred_username, a pairwise sub, its roles
// unless [Roles] says otherwise, and all its scopes unless [Scopes] says
// otherwise. An unknown username gets a made-up user with no scopes or
// roles. Without ForUser or [ForApp], the token is for the first configured
// user (alice by default).
func ForUser(username string) TokenOption { return func(t *tokenConfig) { t.user = username } }

// ForApp issues an app-only token (client credentials) to the configured
// app with that client ID: idtyp "app", azp the client ID, azpacr "1", oid
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

// ClaimsJSON edits the JSON text of the claims, after every other option,
// just before the token is signed: for claims no map can hold, such as a
// member given twice or a name written with escapes. The token is signed
// with the provider's real key over exactly the text edit returns.
//
//	entratest.ClaimsJSON(func(c string) string { return `{"roles":[],` + c[1:] })
func ClaimsJSON(edit func(claims string) string) TokenOption {
	return func(t *tokenConfig) { t.claimsJSON = append(t.claimsJSON, edit) }
}

// HeaderJSON edits the JSON text of the JOSE protected header (after
// [Header] and the signing options) just before the token is signed with
// the provider's real key, as [ClaimsJSON] does for the claims: for a
// member given twice ({"alg":"RS256","alg":"none",…}), a name in capitals
// or written with escapes. It applies to tokens with real signatures
// ([Algorithm], [SignedWithWrongKey], …), not to [AlgNone] or
// [HS256WithPublicKey].
func HeaderJSON(edit func(header string) string) TokenOption {
	return func(t *tokenConfig) { t.headerJSON = append(t.headerJSON, edit) }
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

// ExpiresIn sets exp relative to iat, one hour by default. A negative d
// makes a token that has already expired.
func ExpiresIn(d time.Duration) TokenOption { return func(t *tokenConfig) { t.expiresIn = &d } }

// IssuedAt sets iat and nbf, the provider's clock by default; exp follows
// (iat + [ExpiresIn]).
func IssuedAt(at time.Time) TokenOption { return func(t *tokenConfig) { t.issuedAt = &at } }

// NotBefore sets nbf alone, iat by default.
func NotBefore(at time.Time) TokenOption { return func(t *tokenConfig) { t.notBefore = &at } }

// Header sets a member of the JOSE protected header, such as "jku", "x5u",
// "jwk", "typ" or "crit", to test that validators ignore or refuse it. "alg"
// is set by the signing options ([Algorithm], [AlgNone], …), not by Header.
// Registered members take their registered JSON types ("jwk" a jwk.Key or
// its JSON object, "x5c" a list of base64 strings); other members take any
// value that encodes to JSON. Issue panics on a value it cannot encode.
func Header(name string, value any) TokenOption {
	return func(t *tokenConfig) {
		t.headerEdits = append(t.headerEdits, func(h map[string]any) { h[name] = value })
	}
}

// WithoutKeyID leaves kid out of the header.
func WithoutKeyID() TokenOption {
	return func(t *tokenConfig) {
		t.headerEdits = append(t.headerEdits, func(h map[string]any) { delete(h, "kid") })
	}
}

// SignedWithUnknownKey signs with a key the provider does not publish, under
// that key's own kid: validators find no key with that ID.
func SignedWithUnknownKey() TokenOption {
	return func(t *tokenConfig) { t.signing = signUnknownKey }
}

// SignedWithWrongKey signs with a key the provider does not publish, under
// the kid of the provider's published key: the signature does not verify.
func SignedWithWrongKey() TokenOption { return func(t *tokenConfig) { t.signing = signWrongKey } }

// Algorithm signs with the provider's key using alg instead of RS256: one of
// the RSA algorithms RS256, RS384, RS512, PS256, PS384 or PS512 (for "none"
// and HS256 see [AlgNone] and [HS256WithPublicKey]). It panics on any other
// algorithm, as the provider's key cannot make such a signature.
func Algorithm(alg string) TokenOption {
	a := jwa.SignatureAlgorithm(alg)
	switch a {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
	default:
		panic(fmt.Sprintf("entratest: Algorithm(%q): want an RSA algorithm (RS256, RS384, RS512, PS256, PS384, PS512)", alg))
	}
	return func(t *tokenConfig) { t.alg = a }
}

// AlgNone makes an unsigned token: header alg "none", the published kid, and
// an empty signature (the token ends with a dot).
func AlgNone() TokenOption { return func(t *tokenConfig) { t.signing = signNone } }

// HS256WithPublicKey makes the key-confusion attack: header alg "HS256", the
// published kid, and an HMAC-SHA256 signature keyed with the PKIX DER bytes
// of the provider's public key, which anyone can get from the key set. A
// validator that lets the token choose the algorithm accepts it.
func HS256WithPublicKey() TokenOption {
	return func(t *tokenConfig) { t.signing = signHS256WithPub }
}

// Issue returns a compact JWS access token shaped like Entra ID's v2 access
// tokens (B2C's for a [WithB2C] provider), signed RS256 with the provider's
// current key (the API's own with [WithCustomSigningKey]): by default for
// the first configured user (alice) with all its scopes, for the provider's
// client ID, valid for an hour from the provider's clock. Options change it;
// the last option wins where two set the same thing.
//
// Issue is safe for concurrent use. It panics only if a [Header] value
// cannot be encoded.
func (p *Provider) Issue(opts ...TokenOption) string {
	var t tokenConfig
	for _, o := range opts {
		o(&t)
	}
	key := p.signingKey()
	switch {
	case t.signing == signPersonalAccount:
		key = personalAccountKey()
	case p.cfg.customKey:
		key = customKey()
	}
	return sign(&t, key, p.claims(&t))
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
	exp := iat.Add(time.Hour)
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
		c[azp], c[azpacr], c["idtyp"] = app.ClientID, "1", "app"
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

// app returns the configured app with that client ID, or a made-up app.
func (p *Provider) app(clientID string) App {
	if a := p.configuredApp(clientID); a != nil {
		return *a
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

// sign makes the compact token: with jwx for real signatures, by hand for
// the deliberately broken ones jwx refuses to make.
func sign(t *tokenConfig, key signingKey, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("entratest: encoding the claims: %v", err))
	}
	priv, kid := key.priv, key.kid
	switch t.signing {
	case signUnknownKey:
		priv = strangerKey()
		kid = thumbprint(&priv.PublicKey)
	case signWrongKey:
		priv = strangerKey()
	}
	header := map[string]any{"typ": "JWT", "kid": kid}
	for _, edit := range t.headerEdits {
		edit(header)
	}
	delete(header, "alg")

	switch {
	case t.signing == signNone || t.signing == signHS256WithPub:
	case len(t.headerJSON) > 0 || len(t.claimsJSON) > 0:
		return signByHand(t, priv, header, payload)
	}
	switch t.signing {
	case signNone:
		header["alg"] = "none"
		return signingInput(header, payload) + "."
	case signHS256WithPub:
		header["alg"] = "HS256"
		input := signingInput(header, payload)
		mac := hmac.New(sha256.New, publicKeyDER(&key.priv.PublicKey))
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}

	alg := jwa.RS256
	if t.alg != "" {
		alg = t.alg
	}
	hb, err := json.Marshal(header)
	if err != nil {
		panic(fmt.Sprintf("entratest: encoding the header: %v", err))
	}
	h := jws.NewHeaders()
	if err := json.Unmarshal(hb, h); err != nil {
		panic(fmt.Sprintf("entratest: header %s: %v", hb, err))
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		panic(fmt.Sprintf("entratest: signing: %v", err))
	}
	return string(out)
}

// signByHand signs the JSON texts that ClaimsJSON and HeaderJSON edited,
// byte for byte, as RFC 7515 and RFC 7518 §3.3, §3.5 say: RSASSA-PKCS1-v1_5
// or RSASSA-PSS with a salt as long as the hash.
func signByHand(t *tokenConfig, priv *rsa.PrivateKey, header map[string]any, payload []byte) string {
	alg := jwa.RS256
	if t.alg != "" {
		alg = t.alg
	}
	header["alg"] = alg.String()
	hb, err := json.Marshal(header)
	if err != nil {
		panic(fmt.Sprintf("entratest: encoding the header: %v", err))
	}
	h, c := string(hb), string(payload)
	for _, edit := range t.headerJSON {
		h = edit(h)
	}
	for _, edit := range t.claimsJSON {
		c = edit(c)
	}
	input := b64([]byte(h)) + "." + b64([]byte(c))
	hash := map[jwa.SignatureAlgorithm]crypto.Hash{
		jwa.RS256: crypto.SHA256, jwa.RS384: crypto.SHA384, jwa.RS512: crypto.SHA512,
		jwa.PS256: crypto.SHA256, jwa.PS384: crypto.SHA384, jwa.PS512: crypto.SHA512,
	}[alg]
	d := hash.New()
	d.Write([]byte(input))
	var sig []byte
	if strings.HasPrefix(alg.String(), "PS") {
		sig, err = rsa.SignPSS(rand.Reader, priv, hash, d.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv, hash, d.Sum(nil))
	}
	if err != nil {
		panic(fmt.Sprintf("entratest: signing: %v", err))
	}
	return input + "." + b64(sig)
}

// signingInput is the base64url header and payload joined by a dot.
func signingInput(header map[string]any, payload []byte) string {
	hb, err := json.Marshal(header)
	if err != nil {
		panic(fmt.Sprintf("entratest: encoding the header: %v", err))
	}
	return b64(hb) + "." + b64(payload)
}

// publicKeyDER is the PKIX (SubjectPublicKeyInfo) DER encoding of pub.
func publicKeyDER(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("entratest: encoding an RSA public key: %v", err))
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
