package devidp

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	// refreshTokenLifetime is how long a refresh token can be redeemed.
	// Entra's last up to 90 days; the provider keeps them in memory, so a
	// restart ends them sooner and clients sign the user in again.
	refreshTokenLifetime = 24 * time.Hour
	// maxRefreshTokens bounds the refresh tokens the provider remembers.
	maxRefreshTokens = 4096
	// refreshGrant is the grant type that redeems a refresh token.
	refreshGrant = "refresh_token"
)

// issued is what a grant gives: the access token, and for a signed-in
// user what MSAL needs to keep the user signed in.
type issued struct {
	accessToken string
	// user is the signed-in user, nil for an app-only token.
	user *User
	// clientID is the client application that signed the user in: the
	// audience of the ID token and the owner of the refresh token.
	clientID string
	// requested is the scope parameter of the request (or of the device
	// code or authorization request the grant completes).
	requested string
	// scopes are the granted scopes of this API, short names.
	scopes []string
	// nonce is the nonce of the authorization request, "" when none.
	nonce string
	// onBehalfOf marks a token for a middle tier: no ID token, refresh
	// token or client_info, which belong to a client that signs users in.
	onBehalfOf bool
}

// tokenResponse is the successful token response for what a grant issued,
// in Entra's shape: for a user, scope (the granted scopes' full names and
// the OpenID scopes asked for), an ID token when openid was asked for, a
// refresh token when offline_access was, and client_info when the client
// sent client_info=1, as MSAL does.
func (p *Provider) tokenResponse(r *http.Request, it *issued) map[string]any {
	// Entra answers a second short of the lifetime.
	lifetime := int(p.cfg.accessTokenLifetime/time.Second) - 1
	out := map[string]any{
		"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": it.accessToken,
	}
	if it.user == nil {
		return out
	}
	out["scope"] = strings.Join(p.responseScope(it), " ")
	if it.onBehalfOf {
		return out
	}
	requested, tid := strings.Fields(it.requested), p.cfg.tenantID
	if slices.Contains(requested, "openid") {
		opts := []TokenOption{ForUser(it.user.Username), IDToken(), Audience(it.clientID), WithoutClaim("nonce")}
		if it.nonce != "" {
			opts = append(opts, Claim("nonce", it.nonce))
		}
		out["id_token"] = p.Issue(opts...)
	}
	if slices.Contains(requested, "offline_access") {
		now := p.cfg.now()
		out["refresh_token"] = p.refresh.put("1.A", 48, maxRefreshTokens, &refreshState{
			username: it.user.Username, clientID: it.clientID, expires: now.Add(refreshTokenLifetime),
		}, now)
		out["refresh_token_expires_in"] = int(refreshTokenLifetime / time.Second)
	}
	if r.PostForm.Get("client_info") == "1" {
		info, _ := json.Marshal(map[string]string{"uid": it.user.ObjectID, "utid": tid})
		out["client_info"] = base64.RawURLEncoding.EncodeToString(info)
	}
	return out
}

// refreshState is an outstanding refresh token.
type refreshState struct {
	username, clientID string
	expires            time.Time
}

func (s *refreshState) expiry() time.Time { return s.expires }

// refreshToken redeems a refresh token for the client it was issued to:
// a token for the same user with the requested scopes of this API the
// user may have ({api}/.default: all of them).
func (p *Provider) refreshToken(r *http.Request) (*issued, *oauthError) {
	if fail := missing(r, "refresh_token", "client_id", "scope"); fail != nil {
		return nil, fail
	}
	s := p.refresh.take(r.PostForm.Get("refresh_token"))
	switch {
	case s == nil || !p.cfg.now().Before(s.expires):
		return nil, &oauthError{"invalid_grant", "AADSTS70008: The provided refresh token has expired, was already redeemed, or was issued before the server restarted. Sign in again."}
	case s.clientID != r.PostForm.Get("client_id"):
		return nil, &oauthError{"invalid_grant", "AADSTS700005: The refresh token was issued to another client."}
	}
	acr := "0"
	if p.configuredApp(s.clientID) != nil {
		var fail *oauthError
		if _, acr, fail = p.authenticateClient(r); fail != nil {
			return nil, fail
		}
	}
	user := p.configuredUser(s.username)
	if user == nil {
		return nil, &oauthError{"invalid_grant", "AADSTS50034: The user account does not exist in this directory."}
	}
	scopes, fail := p.grantedScopes(r.PostForm.Get("scope"), user)
	if fail != nil {
		return nil, fail
	}
	return p.userGrant(user, s.clientID, acr, r.PostForm.Get("scope"), scopes, "", requested(r, true)), nil
}

// userGrant issues a delegated token to user, signed in by clientID
// (authenticated as acr says: "0" public, "1" secret, "2" certificate).
// claims gives the token what the request's claims parameter asks for.
func (p *Provider) userGrant(user *User, clientID, acr, asked string, scopes []string, nonce string, claims TokenOption) *issued {
	tok := p.Issue(ForUser(user.Username), Scopes(scopes...), Claim("azp", clientID), Claim("azpacr", acr), claims)
	return &issued{accessToken: tok, user: user, clientID: clientID, requested: asked, scopes: scopes, nonce: nonce}
}

// baseURL is the provider's authority as the request reached it, so that
// every URL the provider advertises is one the client can reach: the
// request's scheme (https over TLS, or as X-Forwarded-Proto says behind a
// local TLS terminator) and Host, when the Host is a loopback name
// (localhost, 127.0.0.1, [::1]); otherwise the configured authority.
// Issuers do not follow the request: they name the authority tokens are
// validated against.
func (p *Provider) baseURL(r *http.Request) string {
	name, port, err := net.SplitHostPort(r.Host)
	switch {
	case err == nil:
	case strings.HasPrefix(r.Host, "[") && strings.HasSuffix(r.Host, "]"):
		name, port = r.Host[1:len(r.Host)-1], ""
	case strings.Contains(r.Host, ":"):
		return p.authority
	default:
		name, port = r.Host, ""
	}
	ip := net.ParseIP(name)
	loopback := strings.EqualFold(name, "localhost") || ip != nil && ip.IsLoopback()
	if !loopback || strings.Trim(port, "0123456789") != "" || len(port) > 5 || (err == nil && port == "") {
		return p.authority
	}
	// The host is rebuilt from its checked parts, never echoed.
	host := name
	if ip != nil {
		host = ip.String()
		if ip.To4() == nil {
			host = "[" + host + "]"
		}
	}
	if port != "" {
		host += ":" + port
	}
	scheme := "http"
	switch {
	case r.TLS != nil:
		scheme = "https"
	case r.Header.Get("X-Forwarded-Proto") == "https":
		scheme = "https"
	}
	return scheme + "://" + host + p.prefix
}

// responseScope is the scope of a user's token response: the requested
// scopes of this API that were granted, as the client wrote them ("{api}/.default"
// included: MSAL compares them with what it asked for, and takes any it
// does not find as declined), then the full names of the granted scopes
// it did not name so, then the OpenID scopes asked for.
func (p *Provider) responseScope(it *issued) []string {
	requested := strings.Fields(it.requested)
	var out []string
	for _, s := range requested {
		for _, prefix := range []string{p.cfg.appIDURI + "/", p.cfg.clientID + "/"} {
			if short, ok := strings.CutPrefix(s, prefix); ok && (short == ".default" || slices.Contains(it.scopes, short)) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	for _, short := range it.scopes {
		if s := p.cfg.appIDURI + "/" + short; !slices.Contains(out, s) && !slices.Contains(out, p.cfg.clientID+"/"+short) {
			out = append(out, s)
		}
	}
	for _, s := range []string{"openid", "profile", "email", "offline_access"} {
		if slices.Contains(requested, s) {
			out = append(out, s)
		}
	}
	return out
}
