package entratest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 for signByHand
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// TokenOption shapes a token made by [Provider.Issue]. The options that
// shape a good token are [devidp.TokenOption]s, named here so that a test
// needs one import; the others make tokens wrong in one precise way.
type TokenOption func(*tokenConfig)

type tokenConfig struct {
	dev         []devidp.TokenOption
	headerEdits []func(map[string]any)
	claimsJSON  []func(string) string
	headerJSON  []func(string) string
	signing     signing
	alg         jwa.SignatureAlgorithm
}

// signing says how a token is signed, and whether its signature is good.
type signing int

const (
	signGood         signing = iota // the provider's key, its published kid
	signUnknownKey                  // a stranger key, the stranger's kid
	signWrongKey                    // a stranger key, the published kid
	signNone                        // alg "none", no signature
	signHS256WithPub                // HMAC keyed with the public key
)

// dev makes a kit option of a devidp option.
func dev(o devidp.TokenOption) TokenOption {
	return func(t *tokenConfig) { t.dev = append(t.dev, o) }
}

// ForUser is [devidp.ForUser]: a delegated token for the configured user
// with that username, alice by default.
func ForUser(username string) TokenOption { return dev(devidp.ForUser(username)) }

// ForApp is [devidp.ForApp]: an app-only token for the configured app with
// that client ID.
func ForApp(clientID string) TokenOption { return dev(devidp.ForApp(clientID)) }

// Scopes is [devidp.Scopes]: the delegated scopes, short names, in scp.
func Scopes(scopes ...string) TokenOption { return dev(devidp.Scopes(scopes...)) }

// Roles is [devidp.Roles]: the app roles.
func Roles(roles ...string) TokenOption { return dev(devidp.Roles(roles...)) }

// Claim is [devidp.Claim]: it sets or overrides any claim, after every
// other option, in the order given with [WithoutClaim] and [Guest].
func Claim(name string, value any) TokenOption { return dev(devidp.Claim(name, value)) }

// WithoutClaim is [devidp.WithoutClaim]: it removes a claim.
func WithoutClaim(name string) TokenOption { return dev(devidp.WithoutClaim(name)) }

// IDToken is [devidp.IDToken]: an ID token instead of an access token,
// which validators must refuse.
func IDToken() TokenOption { return dev(devidp.IDToken()) }

// Audience is [devidp.Audience]: it sets aud.
func Audience(aud string) TokenOption { return dev(devidp.Audience(aud)) }

// IssuerClaim is [devidp.IssuerClaim]: it sets iss.
func IssuerClaim(iss string) TokenOption { return dev(devidp.IssuerClaim(iss)) }

// Tenant is [devidp.Tenant]: it sets tid alone.
func Tenant(tid string) TokenOption { return dev(devidp.Tenant(tid)) }

// ExpiresIn is [devidp.ExpiresIn]: exp relative to iat; negative makes a
// token that has already expired.
func ExpiresIn(d time.Duration) TokenOption { return dev(devidp.ExpiresIn(d)) }

// IssuedAt is [devidp.IssuedAt]: it sets iat and nbf.
func IssuedAt(at time.Time) TokenOption { return dev(devidp.IssuedAt(at)) }

// NotBefore is [devidp.NotBefore]: it sets nbf alone.
func NotBefore(at time.Time) TokenOption { return dev(devidp.NotBefore(at)) }

// FromTenant is [devidp.FromTenant]: another tenant's token (tid and iss).
func FromTenant(tenantID string) TokenOption { return dev(devidp.FromTenant(tenantID)) }

// V1Token is [devidp.V1Token]: a v1.0 access token.
func V1Token() TokenOption { return dev(devidp.V1Token()) }

// Policy is [devidp.Policy]: the B2C user flow named in tfp.
func Policy(name string) TokenOption { return dev(devidp.Policy(name)) }

// Guest is [devidp.Guest]: the user is a guest of the tenant.
func Guest() TokenOption { return dev(devidp.Guest()) }

// AuthContexts is [devidp.AuthContexts]: the acrs claim, the
// authentication contexts ("c1" … "c99") a step-up satisfied.
func AuthContexts(ids ...string) TokenOption { return dev(devidp.AuthContexts(ids...)) }

// ClientCapabilities is [devidp.ClientCapabilities]: the xms_cc claim,
// the capabilities the client declared, such as "cp1".
func ClientCapabilities(caps ...string) TokenOption { return dev(devidp.ClientCapabilities(caps...)) }

// SignedWithPersonalAccountKey is [devidp.SignedWithPersonalAccountKey]:
// it signs with the key of personal Microsoft accounts.
func SignedWithPersonalAccountKey() TokenOption {
	return dev(devidp.SignedWithPersonalAccountKey())
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

// Issue returns a compact JWS access token as [devidp.Provider.Issue]
// makes it (by default for alice, with all her scopes, for the provider's
// client ID, valid for an hour, signed RS256 with the provider's current
// key), then as the options that break it say. Options change it; the
// last option wins where two set the same thing.
//
// Issue is safe for concurrent use. It panics only if a [Header] value
// cannot be encoded.
func (p *Provider) Issue(opts ...TokenOption) string {
	var t tokenConfig
	for _, o := range opts {
		o(&t)
	}
	if t.signing == signGood && t.alg == "" && len(t.headerEdits) == 0 && len(t.claimsJSON) == 0 && len(t.headerJSON) == 0 {
		return p.Provider.Issue(t.dev...)
	}
	return sign(&t, p.Provider.Unsigned(t.dev...))
}

// strangerKey is a key no provider publishes: SignedWithUnknownKey and
// SignedWithWrongKey sign with it.
var strangerKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("entratest: generating an RSA key: " + err.Error())
	}
	return k
})

// thumbprint is the base64url SHA-1 of the public key's DER, the shape of
// Entra's kid (and of devidp's).
func thumbprint(pub *rsa.PublicKey) string {
	sum := sha1.Sum(publicKeyDER(pub))
	return b64(sum[:])
}

// sign makes the compact token: with jwx for real signatures, by hand for
// the deliberately broken ones jwx refuses to make.
func sign(t *tokenConfig, u devidp.UnsignedToken) string {
	payload, err := json.Marshal(u.Claims)
	if err != nil {
		panic(fmt.Sprintf("entratest: encoding the claims: %v", err))
	}
	priv, kid := u.Key, u.KeyID
	switch t.signing {
	case signUnknownKey:
		priv = strangerKey()
		kid = thumbprint(&strangerKey().PublicKey)
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
		mac := hmac.New(sha256.New, publicKeyDER(u.Key.Public().(*rsa.PublicKey)))
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
func signByHand(t *tokenConfig, priv crypto.Signer, header map[string]any, payload []byte) string {
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
	var opts crypto.SignerOpts = hash
	if strings.HasPrefix(alg.String(), "PS") {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash}
	}
	sig, err := priv.Sign(rand.Reader, d.Sum(nil), opts)
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
