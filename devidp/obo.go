package devidp

import (
	"net/http"
	"net/url"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// oboGrant is the grant type of the on-behalf-of flow.
const oboGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// maxAssertionBytes bounds the incoming token of an on-behalf-of request.
const maxAssertionBytes = 16 << 10

// onBehalfOf answers the on-behalf-of grant: a confidential client (a
// middle-tier API, one of the configured apps) presents the token a user
// called it with (assertion) and gets a token for this provider's API, for
// the same user, naming the middle tier as the client (azp). The assertion
// must be one of this provider's user tokens (signed with its key, its
// issuer and tenant), for the presenting app (aud its client ID or
// api://{client ID}), and not expired.
func (p *Provider) onBehalfOf(r *http.Request) (*issued, *oauthError) {
	if fail := missing(r, "assertion", "requested_token_use", "scope"); fail != nil {
		return nil, fail
	}
	if r.PostForm.Get("requested_token_use") != "on_behalf_of" {
		return nil, &oauthError{"invalid_request", "AADSTS50027: requested_token_use must be on_behalf_of."}
	}
	app, acr, fail := p.authenticateClient(r)
	if fail != nil {
		return nil, fail
	}
	oid, fail := p.readAssertion(r.PostForm.Get("assertion"), app.ClientID)
	if fail != nil {
		return nil, fail
	}
	user := p.userByObjectID(oid)
	if user == nil {
		return nil, &oauthError{"invalid_grant", "AADSTS50034: The user account does not exist in this directory."}
	}
	scopes, fail := p.grantedScopes(r.PostForm.Get("scope"), user)
	if fail != nil {
		return nil, fail
	}
	it := p.userGrant(user, app.ClientID, acr, r.PostForm.Get("scope"), scopes, "", requested(r, true))
	it.onBehalfOf = true
	return it, nil
}

// readAssertion checks an on-behalf-of assertion and returns the user's
// object ID. The token is read once, by jws.Verify with the provider's
// keys and RS256 only, then its claims by name.
func (p *Provider) readAssertion(raw, clientID string) (string, *oauthError) {
	malformed := &oauthError{"invalid_request", "AADSTS50027: JWT token is invalid or malformed."}
	if len(raw) > maxAssertionBytes || strings.Count(raw, ".") != 2 || strings.HasPrefix(raw, "{") {
		return "", malformed
	}
	keys := []signingKey{p.signingKey()}
	if p.cfg.customKey {
		keys = append(keys, customKey())
	}
	var payload []byte
	for _, k := range keys {
		if b, err := jws.Verify([]byte(raw), jws.WithKey(jwa.RS256, &k.priv.PublicKey)); err == nil {
			payload = b
			break
		}
	}
	if payload == nil {
		return "", &oauthError{"invalid_grant", "AADSTS50013: Assertion failed signature validation."}
	}
	var c struct {
		Aud   any     `json:"aud"`
		Iss   string  `json:"iss"`
		Tid   string  `json:"tid"`
		Oid   string  `json:"oid"`
		Scp   string  `json:"scp"`
		Idtyp string  `json:"idtyp"`
		Exp   float64 `json:"exp"`
		Nbf   float64 `json:"nbf"`
	}
	// Names are matched exactly: a map first, as encoding/json matches
	// struct fields without regard to case.
	// Read as strictly as entra.Validator reads it: names exact, none
	// given twice (jsonv2's defaults), each claim of its type. A lenient
	// reading (encoding/json lets the last duplicate win) would let this
	// grant act on a token the validator refuses.
	if err := jsonv2.Unmarshal(payload, &c); err != nil {
		return "", malformed
	}
	now := float64(p.cfg.now().Unix())
	aud, _ := c.Aud.(string)
	switch {
	case c.Exp == 0 || c.Exp <= now || c.Nbf > now:
		return "", &oauthError{"invalid_grant", "AADSTS500133: Assertion is not within its valid time range."}
	case c.Iss != p.Issuer() && c.Iss != p.V1Issuer(), c.Tid != p.cfg.tenantID:
		return "", &oauthError{"invalid_grant", "AADSTS50013: Assertion failed signature validation: issuer or tenant of another authority."}
	case aud != clientID && aud != "api://"+clientID:
		return "", &oauthError{"invalid_grant", "AADSTS50013: Assertion audience does not match the Client app presenting the assertion."}
	case c.Idtyp == "app" || c.Scp == "" || c.Oid == "":
		return "", &oauthError{"invalid_grant", "AADSTS50013: Assertion is not a user's delegated token: on-behalf-of needs a signed-in user."}
	}
	return c.Oid, nil
}

// userByObjectID returns the configured user with that oid, or nil.
func (p *Provider) userByObjectID(oid string) *User {
	for i := range p.cfg.users {
		if p.cfg.users[i].ObjectID == oid {
			return &p.cfg.users[i]
		}
	}
	return nil
}

// instanceDiscoveryPath is where Entra answers the Azure SDK's (MSAL's)
// instance discovery, under common or organizations.
const instanceDiscoveryPath = "discovery/instance"

// serveInstanceDiscovery answers MSAL's instance discovery
// ({authority}/common/discovery/instance?authorization_endpoint=…) for the
// provider's own host: the tenant's discovery document, and the host as
// its only alias. MSAL asks it before any token request unless the
// credential sets DisableInstanceDiscovery. Other hosts are
// invalid_instance.
func (p *Provider) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		notAllowed(w, []string{http.MethodGet})
		return
	}
	base := p.baseURL(r)
	own, _ := url.Parse(base)
	u, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
	if err != nil || u.Scheme != own.Scheme || u.Host != own.Host {
		writeError(w, r, http.StatusBadRequest, &oauthError{"invalid_instance",
			"AADSTS50049: Unknown or invalid instance."})
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(u.Path, p.prefix), "/")
	tenant, _, _ := strings.Cut(rest, "/")
	if tenant == "" || strings.ContainsAny(tenant, "?#%") {
		tenant = "common"
	}
	host := own.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": base + "/" + tenant + "/" + discoveryV2Path,
		"api-version":               "1.1",
		"metadata": []map[string]any{
			{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}},
		},
	})
}
