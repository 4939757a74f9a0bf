package devidp

import (
	"crypto/rsa"
	"net/http"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// assertionSkew is the clock skew allowed on an assertion's nbf: MSAL
// rounds the current second, so its nbf can be half a second ahead.
const assertionSkew = 5 * time.Minute

// clientAssertionType is the only client_assertion_type Entra takes: a
// JWT signed with the app's certificate key.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clientAssertion authenticates a confidential client by a client
// assertion (RFC 7523), as Entra's certificate credentials do: a JWT
// signed RS256 or PS256 with the key of one of the app's
// [App.Certificates], whose iss and sub are the client ID, whose aud is
// the token endpoint the request was sent to, and which is within its
// time range. The assertion is read once, by jws.Verify with the app's
// keys, then its claims by exact name.
func (p *Provider) clientAssertion(r *http.Request) (*App, *oauthError) {
	if fail := missing(r, "client_id", "client_assertion_type", "client_assertion"); fail != nil {
		return nil, fail
	}
	invalid := &oauthError{"invalid_client", "AADSTS700027: Client assertion failed signature validation, or the client is unknown or has no certificate."}
	if r.PostForm.Get("client_assertion_type") != clientAssertionType {
		return nil, &oauthError{"invalid_request", "AADSTS700021: client_assertion_type must be " + clientAssertionType + "."}
	}
	raw := r.PostForm.Get("client_assertion")
	if len(raw) > maxAssertionBytes || strings.Count(raw, ".") != 2 || strings.HasPrefix(raw, "{") {
		return nil, &oauthError{"invalid_client", "AADSTS50027: JWT token is invalid or malformed."}
	}
	app := p.configuredApp(r.PostForm.Get("client_id"))
	if app == nil {
		return nil, invalid
	}
	now := p.cfg.now()
	var payload []byte
verify:
	for _, cert := range app.Certificates {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			continue
		}
		for _, alg := range []jwa.SignatureAlgorithm{jwa.RS256, jwa.PS256} {
			if b, err := jws.Verify([]byte(raw), jws.WithKey(alg, pub)); err == nil {
				payload = b
				break verify
			}
		}
	}
	if payload == nil {
		return nil, invalid
	}
	var c struct {
		Aud string  `json:"aud"`
		Iss string  `json:"iss"`
		Sub string  `json:"sub"`
		Exp float64 `json:"exp"`
		Nbf float64 `json:"nbf"`
	}
	if err := jsonv2.Unmarshal(payload, &c); err != nil {
		return nil, &oauthError{"invalid_client", "AADSTS50027: JWT token is invalid or malformed."}
	}
	endpoint := p.baseURL(r) + strings.TrimPrefix(r.URL.Path, p.prefix)
	t := float64(now.Unix())
	switch {
	case c.Iss != app.ClientID || c.Sub != app.ClientID:
		return nil, &oauthError{"invalid_client", "AADSTS700023: Client assertion's iss and sub must be the client ID."}
	case c.Aud != endpoint && c.Aud != p.TokenURL():
		return nil, &oauthError{"invalid_client", "AADSTS700212: Client assertion's aud must be the token endpoint."}
	case c.Exp == 0 || c.Exp <= t || c.Nbf > t+assertionSkew.Seconds():
		return nil, &oauthError{"invalid_client", "AADSTS700024: Client assertion is not within its valid time range."}
	}
	return app, nil
}
