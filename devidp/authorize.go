package devidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	// codeLifetime is how long an authorization code can be redeemed.
	codeLifetime = time.Minute
	// maxCodes bounds the codes waiting to be redeemed.
	maxCodes = 1024
)

// WithSPA registers a single-page application (Swagger UI, say) that signs
// users in with authorization code + PKCE, and the redirect URIs it may use
// (absolute http or https URLs without a fragment), matched exactly.
func WithSPA(clientID string, redirectURIs ...string) Option {
	return func(c *config) {
		if c.spas == nil {
			c.spas = map[string][]string{}
		}
		c.spas[clientID] = append(c.spas[clientID], redirectURIs...)
	}
}

// authCode is an issued, not yet redeemed authorization code.
type authCode struct {
	clientID, redirectURI, challenge, username string
	scope, nonce                               string
	scopes                                     []string
	expires                                    time.Time
}

func (c *authCode) expiry() time.Time { return c.expires }

// authRequest is a validated authorization request.
type authRequest struct {
	ClientID, RedirectURI, Scope, State, Challenge, Nonce string
}

// parseAuthRequest checks an authorization request. A request with an
// unknown client or redirect URI gets an error page (redirecting would hand
// the answer to an unregistered place); other errors are redirected to the
// client as OAuth errors.
func (p *Provider) parseAuthRequest(q url.Values) (req authRequest, pageErr string, redirectErr *oauthError) {
	req = authRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"),
		State: q.Get("state"), Challenge: q.Get("code_challenge"), Nonce: q.Get("nonce"),
	}
	uris, ok := p.cfg.spas[req.ClientID]
	switch {
	case !ok:
		return req, "AADSTS700016: Application '" + safe(req.ClientID) + "' was not found in the directory.", nil
	case !slices.Contains(uris, req.RedirectURI):
		return req, "AADSTS50011: The redirect URI '" + safe(req.RedirectURI) + "' does not match the redirect URIs configured for the application.", nil
	case q.Get("response_type") != "code":
		return req, "", &oauthError{"unsupported_response_type", "AADSTS70005: response_type must be 'code'."}
	case q.Get("code_challenge_method") != "S256" || req.Challenge == "":
		return req, "", &oauthError{"invalid_request", "AADSTS9002325: Proof Key for Code Exchange with code_challenge_method S256 is required."}
	case len(req.Challenge) != 43:
		return req, "", &oauthError{"invalid_request", "AADSTS501491: Invalid code_challenge: want the base64url SHA-256 of the verifier."}
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query":
		return req, "", &oauthError{"invalid_request", "AADSTS900144: Only response_mode=query is supported."}
	}
	return req, "", nil
}

func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, e *oauthError) {
	u, _ := url.Parse(req.RedirectURI)
	q := u.Query()
	q.Set("error", e.Error)
	q.Set("error_description", e.Description)
	if req.State != "" {
		q.Set("state", req.State)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — development identity provider</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem;text-align:left;cursor:pointer}
small{color:#555}</style></head>
<body><h1>Sign in</h1>
<p>Development identity provider for tenant <code>{{.Tenant}}</code>. Pick a user: the token carries the requested scopes that user may have.</p>
<form method="post" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{range .Users}}<button type="submit" name="username" value="{{.Username}}" id="user-{{.Username}}">{{.Name}} ({{.Username}})<br><small>scopes: {{.Scopes}}</small></button>
{{end}}</form></body></html>
`))

func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	params := r.Form
	req, pageErr, oerr := p.parseAuthRequest(params)
	if pageErr != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, pageErr, http.StatusBadRequest)
		return
	}
	if oerr != nil {
		p.redirectError(w, r, req, oerr)
		return
	}
	if r.Method == http.MethodGet {
		fields := map[string]string{}
		for _, k := range []string{"client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "response_type", "nonce"} {
			fields[k] = params.Get(k)
		}
		type userView struct{ Name, Username, Scopes string }
		var users []userView
		for _, u := range p.cfg.users {
			users = append(users, userView{u.Name, u.Username, strings.Join(u.Scopes, " ")})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// Chromium applies form-action to the redirect that answers the
		// form too: the application's origin (its redirect URI, registered
		// and matched exactly) is allowed beside the provider's own.
		formAction := "'self'"
		if u, err := url.Parse(req.RedirectURI); err == nil && u.Host != "" && !strings.ContainsAny(u.Host, "; ") {
			formAction += " " + u.Scheme + "://" + u.Host
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'")
		_ = signInPage.Execute(w, map[string]any{"Tenant": p.cfg.tenantID, "Action": p.baseURL(r) + "/" + p.cfg.tenantID + "/oauth2/v2.0/authorize", "Fields": fields, "Users": users})
		return
	}
	user := p.configuredUser(params.Get("username"))
	if user == nil {
		p.redirectError(w, r, req, &oauthError{"access_denied", "AADSTS50034: The user account does not exist."})
		return
	}
	scopes := p.consentedScopes(req.Scope, user)
	if len(scopes) == 0 {
		p.redirectError(w, r, req, &oauthError{"invalid_scope", "AADSTS65001: The user has none of the requested scopes of this API."})
		return
	}
	now := p.cfg.now()
	id := p.codes.put("", 32, maxCodes, &authCode{
		clientID: req.ClientID, redirectURI: req.RedirectURI, challenge: req.Challenge,
		username: user.Username, scopes: scopes, expires: now.Add(codeLifetime),
		scope: req.Scope, nonce: req.Nonce,
	}, now)
	u, _ := url.Parse(req.RedirectURI)
	q := u.Query()
	q.Set("code", id)
	if req.State != "" {
		q.Set("state", req.State)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// consentedScopes is the part of the requested scopes of this API that the
// user may have, as short names; "{api}/.default" asks for all of them.
func (p *Provider) consentedScopes(requested string, u *User) []string {
	var out []string
	for _, s := range strings.Fields(requested) {
		for _, prefix := range []string{p.cfg.appIDURI + "/", p.cfg.clientID + "/"} {
			short, ok := strings.CutPrefix(s, prefix)
			switch {
			case !ok:
			case short == ".default":
				out = append(out, u.Scopes...)
			case slices.Contains(u.Scopes, short):
				out = append(out, short)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// authorizationCode redeems a code: single use, before it expires, by the
// client it was issued to, with the same redirect URI and the verifier
// whose S256 challenge it was issued for.
func (p *Provider) authorizationCode(r *http.Request) (*issued, *oauthError) {
	f := r.PostForm
	code := p.codes.take(f.Get("code"))
	invalid := &oauthError{"invalid_grant", "AADSTS70008: The provided authorization code is invalid, expired or already redeemed."}
	switch {
	case code == nil || !p.cfg.now().Before(code.expires):
		return nil, invalid
	case f.Get("client_id") != code.clientID:
		return nil, &oauthError{"invalid_grant", "AADSTS70000: The code was issued to another client."}
	case f.Get("redirect_uri") != code.redirectURI:
		return nil, &oauthError{"invalid_grant", "AADSTS50148: The redirect_uri does not match the one of the authorization request."}
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if v := f.Get("code_verifier"); len(v) < 43 || len(v) > 128 ||
		subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.challenge)) != 1 {
		return nil, &oauthError{"invalid_grant", "AADSTS501481: The code_verifier does not match the code_challenge of the authorization request."}
	}
	user := p.configuredUser(code.username)
	if user == nil {
		return nil, &oauthError{"invalid_grant", "AADSTS50034: The user account does not exist in this directory."}
	}
	return p.userGrant(user, code.clientID, "0", code.scope, code.scopes, code.nonce, requested(r, true)), nil
}

// allowCORS answers cross-origin calls to the token endpoint from the
// origins of registered SPA redirect URIs, as Entra does for SPAs. It
// reports whether the request was a preflight, now answered.
func (p *Provider) allowCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin == "" || !p.spaOrigin(origin) {
		return r.Method == http.MethodOptions && writePreflight(w)
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept, X-Requested-With")
		w.Header().Set("Access-Control-Max-Age", "600")
		return writePreflight(w)
	}
	return false
}

func writePreflight(w http.ResponseWriter) bool {
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (p *Provider) spaOrigin(origin string) bool {
	for _, uris := range p.cfg.spas {
		for _, ru := range uris {
			if u, err := url.Parse(ru); err == nil && u.Scheme+"://"+u.Host == origin {
				return true
			}
		}
	}
	return false
}
