package devidp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxFormBytes bounds a token request.
const maxFormBytes = 64 << 10

// ServeHTTP serves the provider's endpoints under its authority.
//
// Metadata (discovery documents and key sets) is served, as Entra serves
// it, for the provider's tenant, for the multi-tenant names organizations
// and common (issuer template {tenantid}, and key entries naming it), and
// for consumers (personal accounts), each in v2
// ({tenant}/v2.0/.well-known/openid-configuration, {tenant}/discovery/v2.0/keys)
// and, but for consumers, v1 ({tenant}/.well-known/openid-configuration,
// {tenant}/discovery/keys); with ?appid= for [WithCustomSigningKey]. A B2C
// provider serves its user flows' metadata instead. The token and
// authorization endpoints are the provider's tenant's only.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, p.prefix+"/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	tenant, path, _ := strings.Cut(rest, "/")
	if p.cfg.b2cName != "" && (tenant == p.cfg.b2cName+".onmicrosoft.com" || tenant == p.cfg.tenantID) {
		policy, sub, _ := strings.Cut(path, "/")
		if i := slices.IndexFunc(p.cfg.b2cPolicies, func(s string) bool { return strings.EqualFold(s, policy) }); i >= 0 {
			p.serveMetadata(w, r, tenant, sub, p.cfg.b2cPolicies[i])
			return
		}
	}
	var (
		methods []string
		handler func(http.ResponseWriter, *http.Request)
	)
	switch path {
	case "oauth2/v2.0/authorize":
		methods, handler = []string{http.MethodGet, http.MethodPost}, p.serveAuthorize
	case "oauth2/v2.0/token":
		methods, handler = []string{http.MethodPost, http.MethodOptions}, p.serveToken
	case deviceCodePath:
		methods, handler = []string{http.MethodPost}, p.serveDeviceCode
	case deviceLoginPath:
		methods, handler = []string{http.MethodGet, http.MethodPost}, p.serveDeviceLogin
	case instanceDiscoveryPath:
		if tenant == "common" || tenant == "organizations" {
			p.serveInstanceDiscovery(w, r)
			return
		}
		http.NotFound(w, r)
		return
	default:
		p.serveMetadata(w, r, tenant, path, "")
		return
	}
	switch {
	case tenant != p.cfg.tenantID && !(p.cfg.b2cName == "" && multiTenant(tenant)):
		invalidTenant(w, r, tenant)
	case !slices.Contains(methods, r.Method):
		notAllowed(w, methods)
	default:
		handler(w, r)
	}
}

// Metadata documents, by their path under the tenant (or B2C user flow).
const (
	discoveryV2Path = "v2.0/.well-known/openid-configuration"
	discoveryV1Path = ".well-known/openid-configuration"
	keysV2Path      = "discovery/v2.0/keys"
	keysV1Path      = "discovery/keys"
)

// serveMetadata serves the discovery document or key set at path of
// tenant, or of the B2C user flow policy.
func (p *Provider) serveMetadata(w http.ResponseWriter, r *http.Request, tenant, path, policy string) {
	v1 := path == discoveryV1Path || path == keysV1Path
	switch {
	case path != discoveryV2Path && path != keysV2Path && !v1:
		http.NotFound(w, r)
		return
	case policy == "" && !p.servesTenant(tenant, v1):
		invalidTenant(w, r, tenant)
		return
	case policy != "" && v1:
		http.NotFound(w, r)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		notAllowed(w, []string{http.MethodGet, http.MethodHead})
		return
	}
	base := p.baseURL(r) + "/" + tenant
	if policy != "" {
		base += "/" + policy
	}
	appID := r.URL.Query().Get("appid")
	if path == discoveryV2Path || path == discoveryV1Path {
		p.serveDiscovery(w, r, tenant, base, v1, appID)
		return
	}
	p.serveJWKS(w, tenant, v1, policy != "", appID)
}

// multiTenant reports whether tenant is organizations or common: the
// authorities of multi-tenant apps, whose token endpoint signs users in
// to their own tenant (here, the provider's).
func multiTenant(tenant string) bool { return tenant == "organizations" || tenant == "common" }

// servesTenant reports whether the provider has metadata for tenant (a
// B2C provider serves its user flows' only).
func (p *Provider) servesTenant(tenant string, v1 bool) bool {
	switch {
	case p.cfg.b2cName != "":
		return false
	case tenant == "consumers":
		return !v1
	}
	return tenant == p.cfg.tenantID || tenant == "organizations" || tenant == "common"
}

// issuerTenant is what the issuers of tenant's metadata name: the tenant
// ID, the template of multi-tenant metadata, or the consumers tenant.
func (p *Provider) issuerTenant(tenant string) string {
	switch tenant {
	case "organizations", "common":
		return tenantTemplate
	case "consumers":
		return ConsumersTenantID
	}
	return p.cfg.tenantID
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request, tenant, base string, v1 bool, appID string) {
	query := ""
	if appID != "" {
		query = "?appid=" + url.QueryEscape(appID)
	}
	doc := map[string]any{
		"issuer":                                p.issuer(p.issuerTenant(tenant), v1),
		"jwks_uri":                              base + "/" + keysV2Path + query,
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "name", "preferred_username", "oid", "tid", "ver", "scp", "roles", "azp"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "devidp.invalid",
	}
	if v1 {
		doc["jwks_uri"] = base + "/" + keysV1Path + query
	}
	// The provider's own tenant, and organizations and common (whose
	// token endpoint signs users of this tenant in), list sign-in
	// endpoints, at the scheme and host the request came with.
	if (tenant == p.cfg.tenantID || multiTenant(tenant)) && !v1 && p.cfg.b2cName == "" {
		t := p.baseURL(r) + "/" + tenant + "/oauth2/v2.0/"
		doc["authorization_endpoint"] = t + "authorize"
		doc["token_endpoint"] = t + "token"
		doc["device_authorization_endpoint"] = t + "devicecode"
		doc["end_session_endpoint"] = t + "logout"
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "client_secret_basic", "private_key_jwt"}
		doc["grant_types_supported"] = []string{"authorization_code", "refresh_token", "client_credentials", "password", deviceCodeGrant, oboGrant}
	}
	writeJSON(w, http.StatusOK, doc)
}

// serveJWKS serves a key set. v2 key sets name, in each entry, the issuer
// the key signs for (a template in multi-tenant key sets), as Entra's do;
// v1 and B2C key sets do not.
func (p *Provider) serveJWKS(w http.ResponseWriter, tenant string, v1, b2c bool, appID string) {
	issuer := ""
	if !v1 && !b2c {
		issuer = p.issuer(p.issuerTenant(tenant), false)
	}
	var keys []map[string]any
	if tenant != "consumers" {
		keys = append(keys, jwkEntry(p.signingKey(), issuer))
	}
	if (tenant == "common" && !v1) || tenant == "consumers" {
		keys = append(keys, jwkEntry(personalAccountKey(), p.issuer(ConsumersTenantID, false)))
	}
	if p.cfg.customKey && appID == p.cfg.clientID {
		keys = append(keys, jwkEntry(customKey(), issuer))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// jwkEntry is a key set entry as Entra publishes it: RSA, use "sig", kid
// and x5t the thumbprint, the key's certificate in x5c, no alg; issuer
// when not "".
func jwkEntry(k signingKey, issuer string) map[string]any {
	pub := &k.priv.PublicKey
	e := map[string]any{
		"kty": "RSA",
		"use": "sig",
		"kid": k.kid,
		"x5t": x5t(k),
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"x5c": []string{x5c(k)},
	}
	if issuer != "" {
		e["issuer"] = issuer
	}
	return e
}

func invalidTenant(w http.ResponseWriter, r *http.Request, tenant string) {
	writeError(w, r, http.StatusBadRequest, &oauthError{"invalid_tenant",
		"AADSTS90002: Tenant '" + safe(tenant) + "' not found. Check to make sure you have the correct tenant ID."})
}

func notAllowed(w http.ResponseWriter, methods []string) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// oauthError is an OAuth error code and its description, which starts
// with the AADSTS code Entra gives the failure; [writeError] sends it in
// Entra's shape.
type oauthError struct {
	Error       string
	Description string
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if p.allowCORS(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeError(w, r, http.StatusBadRequest, &oauthError{"invalid_request", "AADSTS900144: The request body must be a form of at most 64 KiB."})
		return
	}
	if _, fail := requestedClaims(r); fail != nil {
		writeError(w, r, http.StatusBadRequest, fail)
		return
	}
	var it *issued
	var fail *oauthError
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		it, fail = p.clientCredentials(r)
	case "password":
		it, fail = p.password(r)
	case "authorization_code":
		it, fail = p.authorizationCode(r)
	case refreshGrant:
		it, fail = p.refreshToken(r)
	case oboGrant:
		it, fail = p.onBehalfOf(r)
	case deviceCodeGrant, deviceCodeGrantShort:
		it, fail = p.deviceCodeToken(r)
	case "":
		fail = missingParameter("grant_type")
	default:
		fail = &oauthError{"unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."}
	}
	if fail != nil {
		status := http.StatusBadRequest
		if fail.Error == "invalid_client" {
			status = http.StatusUnauthorized
		}
		writeError(w, r, status, fail)
		return
	}
	writeJSON(w, http.StatusOK, p.tokenResponse(r, it))
}

func (p *Provider) clientCredentials(r *http.Request) (*issued, *oauthError) {
	if fail := missing(r, "scope"); fail != nil {
		return nil, fail
	}
	app, acr, fail := p.authenticateClient(r)
	if fail != nil {
		return nil, fail
	}
	// The OpenID scopes MSAL adds to every request are ignored, as Entra
	// ignores them; what is left must be the API's .default.
	scopes := slices.DeleteFunc(strings.Fields(r.PostForm.Get("scope")), openIDScope)
	if len(scopes) != 1 || (scopes[0] != p.cfg.appIDURI+"/.default" && scopes[0] != p.cfg.clientID+"/.default") {
		return nil, &oauthError{"invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
	}
	return &issued{accessToken: p.Issue(ForApp(app.ClientID), Claim("azpacr", acr), requested(r, false))}, nil
}

// authenticateClient returns the confidential client application the
// request authenticates as, and how, as azpacr says it: "1" with its
// secret (in HTTP Basic or the form), "2" with a client assertion signed
// with one of its certificates.
func (p *Provider) authenticateClient(r *http.Request) (*App, string, *oauthError) {
	if r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type") {
		app, fail := p.clientAssertion(r)
		return app, "2", fail
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return nil, "", missingParameter("client_id")
	}
	app := p.configuredApp(id)
	if app == nil {
		// Entra names no other app; a development provider lists its own,
		// so that a typo or a missing WithApps is a one-step fix.
		return nil, "", &oauthError{"invalid_client", "AADSTS700016: Application with identifier '" + safe(id) + "' was not found in the directory. " + accountList("apps", p.cfg.apps, func(a App) string { return a.Name })}
	}
	if app.ClientSecret == "" || !equal(secret, app.ClientSecret) {
		return nil, "", &oauthError{"invalid_client", "AADSTS7000215: Invalid client secret provided."}
	}
	return app, "1", nil
}

// password answers the resource-owner password grant, for a registered
// client: a public client, or a confidential one that authenticates.
func (p *Provider) password(r *http.Request) (*issued, *oauthError) {
	if fail := missing(r, "client_id", "username", "password", "scope"); fail != nil {
		return nil, fail
	}
	clientID, acr := r.PostForm.Get("client_id"), "0"
	switch {
	case p.configuredApp(clientID) != nil:
		var fail *oauthError
		if _, acr, fail = p.authenticateClient(r); fail != nil {
			return nil, fail
		}
	case !p.isPublicClient(clientID):
		return nil, unknownClient(clientID)
	}
	name, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	user := p.configuredUser(name)
	if user == nil {
		return nil, &oauthError{"invalid_grant", "AADSTS50034: The user account '" + safe(name) + "' does not exist in this directory. " + accountList("users", p.cfg.users, func(u User) string { return u.Username })}
	}
	if !equal(pw, user.Password) {
		return nil, &oauthError{"invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password."}
	}
	scopes, fail := p.grantedScopes(r.PostForm.Get("scope"), user)
	if fail != nil {
		return nil, fail
	}
	return p.userGrant(user, clientID, acr, r.PostForm.Get("scope"), scopes, "", requested(r, true)), nil
}

// unknownClient is Entra's answer to a client ID it does not know.
func unknownClient(clientID string) *oauthError {
	return &oauthError{"unauthorized_client", "AADSTS700016: Application with identifier '" + safe(clientID) + "' was not found in the directory."}
}

// grantedScopes turns the requested full scope names into the short names
// the user gets: "{api}/.default" means all the user's scopes; OpenID
// scopes are ignored; anything the user may not have is an error.
func (p *Provider) grantedScopes(requested string, u *User) ([]string, *oauthError) {
	var out []string
	for _, s := range strings.Fields(requested) {
		var short string
		for _, prefix := range []string{p.cfg.appIDURI + "/", p.cfg.clientID + "/"} {
			if rest, ok := strings.CutPrefix(s, prefix); ok {
				short = rest
			}
		}
		switch {
		case openIDScope(s):
		case short == ".default":
			out = append(out, u.Scopes...)
		case short != "" && slices.Contains(u.Scopes, short):
			out = append(out, short)
		default:
			return nil, &oauthError{"invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application with scope '" + safe(s) + "'. " + scopesOf(u)}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil, &oauthError{"invalid_scope", "AADSTS70011: The provided request must include a scope of this API. " + scopesOf(u)}
	}
	return out, nil
}

// scopesOf says which scopes a development user may be granted, for an
// error description: "bob's scopes are Items.Read." or "bob has no scopes.".
func scopesOf(u *User) string {
	if len(u.Scopes) == 0 {
		return u.Username + " has no scopes."
	}
	return u.Username + "'s scopes are " + strings.Join(u.Scopes, " ") + "."
}

// accountList lists the development users or apps for an error description:
// "The development users are alice, bob.", or that there are none.
func accountList[T any](kind string, all []T, name func(T) string) string {
	if len(all) == 0 {
		return "The development identity provider has no " + kind + "."
	}
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = name(a)
	}
	return "The development " + kind + " are " + strings.Join(names, ", ") + "."
}

// openIDScope reports whether s is one of the OpenID Connect scopes, which
// name no API.
func openIDScope(s string) bool {
	return s == "openid" || s == "profile" || s == "email" || s == "offline_access"
}

// missing returns Entra's error for the first of the form parameters that
// is absent or empty, or nil.
func missing(r *http.Request, names ...string) *oauthError {
	for _, name := range names {
		if r.PostForm.Get(name) == "" {
			return missingParameter(name)
		}
	}
	return nil
}

func missingParameter(name string) *oauthError {
	return &oauthError{"invalid_request", "AADSTS900144: The request body must contain the following parameter: '" + name + "'."}
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// safe trims an echoed value to printable ASCII of bounded length.
func safe(s string) string {
	if len(s) > 100 {
		s = s[:100]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return '?'
		}
		return r
	}, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// entraError is the body of Entra's OAuth error answers, which the Azure
// SDK (MSAL) reads: the AADSTS codes again as numbers, when it happened,
// and the trace and correlation IDs support asks for.
type entraError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// WriteError answers an OAuth error in the shape of Entra's, which MSAL
// reads: the status, the error code (such as "temporarily_unavailable"),
// and a description that starts with the failure's AADSTS code, with trace
// and correlation IDs. It is for handlers in front of a provider that
// answer in its place (entratest's outages do).
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, description string) {
	writeError(w, r, status, &oauthError{code, description})
}

// writeError answers e in Entra's shape. The correlation ID is the
// client's client-request-id when it sent a GUID, as Entra echoes it.
func writeError(w http.ResponseWriter, r *http.Request, status int, e *oauthError) {
	now := time.Now().UTC()
	trace := randomGUID()
	corr := r.Header.Get("client-request-id")
	if !isGUID(corr) {
		corr = randomGUID()
	}
	body := entraError{
		Error: e.Error,
		Description: e.Description + "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + corr +
			"\r\nTimestamp: " + now.Format("2006-01-02 15:04:05Z"),
		ErrorCodes:    []int{aadstsCode(e.Description)},
		Timestamp:     now.Format("2006-01-02 15:04:05Z"),
		TraceID:       trace,
		CorrelationID: corr,
	}
	if body.ErrorCodes[0] == 0 {
		body.ErrorCodes = []int{}
	}
	writeJSON(w, status, body)
}

// aadstsCode is the number of the AADSTS code a description starts with,
// or 0.
func aadstsCode(desc string) int {
	rest, ok := strings.CutPrefix(desc, "AADSTS")
	if !ok {
		return 0
	}
	n := 0
	for i := 0; i < len(rest) && i < 9 && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
	}
	return n
}

// randomGUID is a random (version 4) GUID.
func randomGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// isGUID reports whether s has a GUID's shape (8-4-4-4-12 hex digits).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
