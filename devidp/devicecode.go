package devidp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The device authorization grant (RFC 8628), as Entra serves it.
const (
	deviceCodePath       = "oauth2/v2.0/devicecode"
	deviceLoginPath      = "oauth2/v2.0/devicelogin"
	deviceCodeGrant      = "urn:ietf:params:oauth:grant-type:device_code"
	deviceCodeGrantShort = "device_code" // what MSAL sends; Entra takes both
	// deviceCodeLifetime is how long a device code waits for its user,
	// Entra's 15 minutes.
	deviceCodeLifetime = 15 * time.Minute
	// deviceCodeInterval is the polling interval the provider asks for, in
	// seconds, Entra's.
	deviceCodeInterval = 5
	// maxDeviceCodes bounds the device codes waiting for a user.
	maxDeviceCodes = 256
	// userCodeAlphabet has no vowels (no words) and no look-alikes (0 O, 1 I).
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ23456789"
)

// Errors of [Provider.ApproveDeviceCode] and [Provider.DeclineDeviceCode].
var (
	// ErrNoDeviceCode means no device is waiting with that user code: it
	// was never issued, has expired, or was already approved or declined.
	ErrNoDeviceCode = errors.New("devidp: no device is waiting with that user code")
	// ErrDeviceCodeUser means the user cannot approve the device code: not
	// a configured user, or one with none of the requested scopes.
	ErrDeviceCodeUser = errors.New("devidp: that user cannot approve the device code")
)

// WithPublicClient registers client applications that may sign users in
// with the device authorization grant (public clients, such as a command
// line tool). [DefaultSPAClientID] and the applications of [WithSPA] may
// too.
func WithPublicClient(clientIDs ...string) Option {
	return func(c *config) { c.publicClients = append(c.publicClients, clientIDs...) }
}

// deviceState is where a device code is in its life.
type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDeclined
)

// deviceAuth is an outstanding device authorization.
type deviceAuth struct {
	deviceCode, userCode string
	clientID, scope      string
	expires              time.Time
	state                deviceState
	username             string
	scopes               []string // granted, short names
}

// devices holds the outstanding device authorizations.
type devices struct {
	mu     sync.Mutex
	byCode map[string]*deviceAuth // by device code
	byUser map[string]*deviceAuth // by user code
}

// purge drops the expired authorizations. Call with mu held.
func (d *devices) purge(now time.Time) {
	for k, a := range d.byCode {
		if !now.Before(a.expires) {
			delete(d.byCode, k)
			delete(d.byUser, a.userCode)
		}
	}
}

// DeviceCodeURL is the device authorization endpoint's URL.
func (p *Provider) DeviceCodeURL() string { return p.tenantURL() + "/" + deviceCodePath }

// DeviceLoginURL is the page where a user enters a device's user code and
// picks who signs in: the verification_uri of the device codes the
// provider issues.
func (p *Provider) DeviceLoginURL() string { return p.tenantURL() + "/" + deviceLoginPath }

// isPublicClient reports whether clientID may use the device code grant.
func (p *Provider) isPublicClient(clientID string) bool {
	if clientID == DefaultSPAClientID || slices.Contains(p.cfg.publicClients, clientID) {
		return true
	}
	_, ok := p.cfg.spas[clientID]
	return ok
}

// serveDeviceCode starts a device authorization: a device code for the
// client to poll the token endpoint with, and a user code for the user to
// enter at the verification URI.
func (p *Provider) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeError(w, r, http.StatusBadRequest, &oauthError{"invalid_request", "AADSTS900144: The request body must be a form of at most 64 KiB."})
		return
	}
	if fail := missing(r, "client_id", "scope"); fail != nil {
		writeError(w, r, http.StatusBadRequest, fail)
		return
	}
	if _, fail := requestedClaims(r); fail != nil { // honoured by the token request, which MSAL sends them with again
		writeError(w, r, http.StatusBadRequest, fail)
		return
	}
	clientID, scope := r.PostForm.Get("client_id"), r.PostForm.Get("scope")
	if !p.isPublicClient(clientID) {
		writeError(w, r, http.StatusBadRequest, &oauthError{"unauthorized_client",
			"AADSTS700016: Application with identifier '" + safe(clientID) + "' was not found in the directory, or is not a public client."})
		return
	}
	if !p.asksForThisAPI(scope) {
		writeError(w, r, http.StatusBadRequest, &oauthError{"invalid_scope", "AADSTS70011: The provided request must include a scope of this API."})
		return
	}
	now := p.cfg.now()
	a := &deviceAuth{deviceCode: randomString(64), userCode: userCode(), clientID: clientID, scope: scope, expires: now.Add(deviceCodeLifetime)}
	d := &p.devices
	d.mu.Lock()
	if d.byCode == nil {
		d.byCode, d.byUser = map[string]*deviceAuth{}, map[string]*deviceAuth{}
	}
	d.purge(now)
	full := len(d.byCode) >= maxDeviceCodes
	if !full {
		for d.byUser[a.userCode] != nil {
			a.userCode = userCode()
		}
		d.byCode[a.deviceCode], d.byUser[a.userCode] = a, a
	}
	d.mu.Unlock()
	if full {
		writeError(w, r, http.StatusTooManyRequests, &oauthError{"temporarily_unavailable",
			fmt.Sprintf("AADSTS90033: %d device codes are waiting for their users; try again later.", maxDeviceCodes)})
		return
	}
	verify := p.baseURL(r) + "/" + p.cfg.tenantID + "/" + deviceLoginPath
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":      a.deviceCode,
		"user_code":        a.userCode,
		"verification_uri": verify,
		"expires_in":       int(deviceCodeLifetime / time.Second),
		"interval":         int(p.cfg.devicePollInterval / time.Second),
		"message":          "To sign in, use a web browser to open the page " + verify + " and enter the code " + a.userCode + " to authenticate.",
	})
}

// asksForThisAPI reports whether scope names a scope of this API.
func (p *Provider) asksForThisAPI(scope string) bool {
	for _, s := range strings.Fields(scope) {
		if strings.HasPrefix(s, p.cfg.appIDURI+"/") || strings.HasPrefix(s, p.cfg.clientID+"/") {
			return true
		}
	}
	return false
}

// userCode is a random user code of 9 characters, the length of Entra's.
func userCode() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b)
}

// deviceCodeToken answers a client polling with its device code: pending
// until a user approves or declines, then the token once.
func (p *Provider) deviceCodeToken(r *http.Request) (*issued, *oauthError) {
	if fail := missing(r, "device_code", "client_id"); fail != nil {
		return nil, fail
	}
	now := p.cfg.now()
	d := &p.devices
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.byCode[r.PostForm.Get("device_code")]
	switch {
	case a == nil:
		return nil, &oauthError{"bad_verification_code", "AADSTS70000: The device code is not valid, or was already used."}
	case a.clientID != r.PostForm.Get("client_id"):
		return nil, &oauthError{"invalid_grant", "AADSTS70000: The device code was issued to another client."}
	case !now.Before(a.expires):
		delete(d.byCode, a.deviceCode)
		delete(d.byUser, a.userCode)
		return nil, &oauthError{"expired_token", "AADSTS70019: Verification code expired."}
	case a.state == devicePending:
		return nil, &oauthError{"authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
	}
	delete(d.byCode, a.deviceCode)
	delete(d.byUser, a.userCode)
	if a.state == deviceDeclined {
		return nil, &oauthError{"authorization_declined", "AADSTS70020: The user declined to sign in on the device."}
	}
	user := p.configuredUser(a.username)
	if user == nil {
		return nil, &oauthError{"invalid_grant", "AADSTS50034: The user account does not exist in this directory."}
	}
	return p.userGrant(user, a.clientID, "0", a.scope, a.scopes, "", requested(r, true)), nil
}

// ApproveDeviceCode signs username in on the device that shows userCode,
// as the user does on the verification page: the device's next poll gets
// a token for that user, with the requested scopes of this API the user
// has. It returns [ErrNoDeviceCode] when no device waits with that code
// (never issued, expired, already approved or declined) and
// [ErrDeviceCodeUser] when the user is not configured or has none of the
// requested scopes.
func (p *Provider) ApproveDeviceCode(userCode, username string) error {
	user := p.configuredUser(username)
	return p.decideDeviceCode(userCode, func(a *deviceAuth) error {
		if user == nil {
			return fmt.Errorf("%w: no user %q", ErrDeviceCodeUser, username)
		}
		scopes := p.consentedScopes(a.scope, user)
		if len(scopes) == 0 {
			return fmt.Errorf("%w: %s has none of the requested scopes", ErrDeviceCodeUser, username)
		}
		a.state, a.username, a.scopes = deviceApproved, user.Username, scopes
		return nil
	})
}

// DeclineDeviceCode refuses the sign-in on the device that shows userCode:
// its next poll gets authorization_declined. It returns [ErrNoDeviceCode]
// when no device waits with that code.
func (p *Provider) DeclineDeviceCode(userCode string) error {
	return p.decideDeviceCode(userCode, func(a *deviceAuth) error {
		a.state = deviceDeclined
		return nil
	})
}

// decideDeviceCode applies decide to the pending authorization of
// userCode (entered in any case, with or without a dash or spaces).
func (p *Provider) decideDeviceCode(userCode string, decide func(*deviceAuth) error) error {
	code := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(userCode))
	now := p.cfg.now()
	d := &p.devices
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.byUser[code]
	if a == nil || a.state != devicePending || !now.Before(a.expires) {
		return ErrNoDeviceCode
	}
	return decide(a)
}

var deviceLoginPage = template.Must(template.New("devicelogin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Device sign-in — development identity provider</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}
input{font-size:1.2rem;padding:.4rem;letter-spacing:.1em}
button{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem;text-align:left;cursor:pointer}
small{color:#555}.msg{padding:.6rem;background:#eef}</style></head>
<body><h1>Sign in on a device</h1>
{{if .Message}}<p class="msg" id="message">{{.Message}}</p>{{end}}
<p>Development identity provider for tenant <code>{{.Tenant}}</code>. Enter the code the device shows, then pick who signs in.</p>
<form method="post" action="{{.Action}}">
<p><label>Code <input name="user_code" id="user_code" value="{{.Code}}" autocomplete="off" required></label></p>
{{range .Users}}<button type="submit" name="username" value="{{.Username}}" id="user-{{.Username}}">{{.Name}} ({{.Username}})<br><small>scopes: {{.Scopes}}</small></button>
{{end}}<button type="submit" name="decline" value="1" id="decline">Decline: do not sign in</button>
</form></body></html>
`))

// serveDeviceLogin is the verification page: a form for the user code and
// the user who signs in (or declines).
func (p *Provider) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	status, message, code := http.StatusOK, "", r.URL.Query().Get("user_code")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		u, _ := url.Parse(p.baseURL(r)) // checked by NewProvider, or made of a checked Host
		own := u.Scheme + "://" + u.Host
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if !sameOrigin(r, own) {
			http.Error(w, "cross-origin form refused", http.StatusForbidden)
			return
		}
		code = r.PostForm.Get("user_code")
		var err error
		if r.PostForm.Get("decline") != "" {
			err, message = p.DeclineDeviceCode(code), "Declined: the device will not be signed in."
		} else {
			name := r.PostForm.Get("username")
			err, message = p.ApproveDeviceCode(code, name), "Signed in as "+name+". You can close this page and go back to the device."
		}
		if err != nil {
			status, message = http.StatusBadRequest, strings.TrimPrefix(err.Error(), "devidp: ")
		} else {
			code = ""
		}
	}
	type userView struct{ Name, Username, Scopes string }
	var users []userView
	for _, u := range p.cfg.users {
		users = append(users, userView{u.Name, u.Username, strings.Join(u.Scopes, " ")})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = deviceLoginPage.Execute(w, map[string]any{
		"Tenant": p.cfg.tenantID, "Action": p.baseURL(r) + "/" + p.cfg.tenantID + "/" + deviceLoginPath, "Code": safe(code), "Message": message, "Users": users,
	})
}

// sameOrigin reports whether a form post comes from the page's own origin
// own, as far as the browser says: its Origin is own (never "null", the
// opaque origin of a sandboxed iframe or a data: page, which any site can
// create), and its Sec-Fetch-Site, when sent, is same-origin (or none:
// typed or bookmarked). A request that sends neither is not from a browser
// form of another site, since browsers send Origin with every form post.
func sameOrigin(r *http.Request, own string) bool {
	if o, ok := r.Header["Origin"]; ok && (len(o) != 1 || o[0] != own) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}
