package devidp

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Option configures a [Provider].
type Option func(*config)

type config struct {
	tenantID     string
	clientID     string
	appIDURI     string
	users        []User
	apps         []App
	now          func() time.Time
	key          *rsa.PrivateKey
	spas         map[string][]string // SPA client ID → redirect URIs
	issuerBase   string              // "" means the authority
	v1IssuerBase string              // "" means the authority + "/sts"
	b2cName      string              // B2C tenant name, "" outside B2C
	b2cPolicies  []string
	customKey    bool
	// publicClients may use the device code grant (WithPublicClient).
	publicClients []string
	// accessTokenLifetime is the lifetime of the tokens the provider
	// issues (WithTokenLifetime).
	accessTokenLifetime time.Duration
	// devicePollInterval is the interval device code clients are asked to
	// poll at (WithDevicePollInterval).
	devicePollInterval time.Duration
	// idtyp: the API's registration asks for the optional claim idtyp
	// (WithIDTypClaim).
	idtyp bool
}

// WithIDTypClaim gives app-only tokens the claim idtyp "app", as Entra does
// when the API's app registration lists idtyp among its optional claims;
// without it they carry none, as by default in Entra (validators then
// tell app tokens by their lack of scp).
func WithIDTypClaim() Option { return func(c *config) { c.idtyp = true } }

// WithDevicePollInterval sets how often clients of the device code grant
// are asked to poll the token endpoint (the interval of the device code
// answer), in whole seconds from 1 to 60; Entra's 5 seconds by default.
// Tests that approve a device code make their clients poll sooner.
func WithDevicePollInterval(d time.Duration) Option {
	return func(c *config) { c.devicePollInterval = d }
}

// WithTokenLifetime sets the lifetime of the access and ID tokens the
// provider issues, an hour by default (Entra's are 60 to 90 minutes); at
// least a minute, at most a day. A short lifetime shows how clients
// renew their tokens.
func WithTokenLifetime(d time.Duration) Option { return func(c *config) { c.accessTokenLifetime = d } }

// WithTenantID sets the tenant ID, [DefaultTenantID] by default.
func WithTenantID(id string) Option { return func(c *config) { c.tenantID = id } }

// WithClientID sets the protected API's client ID, the default audience,
// [DefaultClientID] by default.
func WithClientID(id string) Option { return func(c *config) { c.clientID = id } }

// WithAppIDURI sets the API's Application ID URI, "api://" + client ID by
// default.
func WithAppIDURI(uri string) Option { return func(c *config) { c.appIDURI = uri } }

// WithUsers replaces [DefaultUsers]. Usernames must be unique and non-empty.
func WithUsers(users ...User) Option { return func(c *config) { c.users = cloneUsers(users) } }

// WithApps replaces [DefaultApps]. Client IDs must be unique and non-empty.
func WithApps(apps ...App) Option { return func(c *config) { c.apps = cloneApps(apps) } }

// WithClock sets the time tokens are issued at (iat, nbf, exp), time.Now by
// default.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithKey sets the signing key, an RSA key of at least 2048 bits. By
// default, providers share a key generated once per process, so two
// providers publish the same key unless one gets its own with WithKey.
func WithKey(key *rsa.PrivateKey) Option { return func(c *config) { c.key = key } }

// Provider is the identity provider as an http.Handler, serving under its
// authority URL. It is safe for concurrent use.
type Provider struct {
	cfg       config
	authority string
	prefix    string // the authority's path, "" or "/dev-idp"

	mu      sync.RWMutex
	key     signingKey
	keyGen  int
	codes   oneUse[*authCode]
	devices devices
	refresh oneUse[*refreshState]
}

// NewProvider returns a provider that serves under authority
// (scheme://host[:port][/prefix], no trailing slash): the value resource
// servers use as their authority host.
func NewProvider(authority string, opts ...Option) (*Provider, error) {
	u, err := url.Parse(authority)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(authority, "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("devidp: authority %q: want scheme://host[:port][/prefix]", authority)
	}
	c := config{
		tenantID: DefaultTenantID,
		clientID: DefaultClientID,
		users:    DefaultUsers(),
		apps:     DefaultApps(),
		now:      time.Now,

		accessTokenLifetime: time.Hour,
		devicePollInterval:  deviceCodeInterval * time.Second,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.appIDURI == "" {
		c.appIDURI = "api://" + c.clientID
	}
	if c.tenantID == "" || c.clientID == "" || strings.ContainsAny(c.tenantID, "/?#") {
		return nil, errors.New("devidp: tenant and client IDs must be non-empty path segments")
	}
	if c.issuerBase == "" {
		c.issuerBase = authority
	}
	if c.v1IssuerBase == "" {
		c.v1IssuerBase = authority + "/sts"
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	p := &Provider{cfg: c, authority: authority, prefix: u.Path}
	if c.key != nil {
		p.key = newSigningKey(c.key)
	} else {
		p.key = newSigningKey(poolKey(p.keyGen))
	}
	return p, nil
}

// Authority is the provider's authority URL, what resource servers use as
// their authority host (AZURE_AUTHORITY_HOST).
func (p *Provider) Authority() string { return p.authority }

// TenantID is the tenant the provider serves.
func (p *Provider) TenantID() string { return p.cfg.tenantID }

// ClientID is the protected API's client ID, the default audience.
func (p *Provider) ClientID() string { return p.cfg.clientID }

// AppIDURI is the protected API's Application ID URI.
func (p *Provider) AppIDURI() string { return p.cfg.appIDURI }

// Issuer is the iss of the provider's v2 tokens: {issuer base}/{tenant}/v2.0,
// where the issuer base is the authority unless [WithIssuerBase]; for a
// B2C provider {issuer base}/{tenant}/v2.0/, with B2C's trailing slash.
func (p *Provider) Issuer() string { return p.issuer(p.cfg.tenantID, false) }

// V1Issuer is the iss of the provider's v1 tokens ([V1Token]):
// {v1 issuer base}/{tenant}/, with the trailing slash of
// https://sts.windows.net/{tenant}/. See [WithV1IssuerBase].
func (p *Provider) V1Issuer() string { return p.issuer(p.cfg.tenantID, true) }

// issuer is the iss of tenant's tokens of either version; tenant may be
// the literal {tenantid} of multi-tenant metadata.
func (p *Provider) issuer(tenant string, v1 bool) string {
	switch {
	case v1:
		return p.cfg.v1IssuerBase + "/" + tenant + "/"
	case p.cfg.b2cName != "":
		return p.cfg.issuerBase + "/" + tenant + "/v2.0/"
	}
	return p.cfg.issuerBase + "/" + tenant + "/v2.0"
}

// DiscoveryURL is the URL of the OpenID Connect discovery document of the
// provider's tenant and v2 tokens; for a B2C provider, that of its first
// user flow.
func (p *Provider) DiscoveryURL() string {
	return p.metadataURL() + "/v2.0/.well-known/openid-configuration"
}

// JWKSURL is the URL of the key set that DiscoveryURL names.
func (p *Provider) JWKSURL() string { return p.metadataURL() + "/discovery/v2.0/keys" }

// metadataURL is where the tenant's metadata paths start.
func (p *Provider) metadataURL() string {
	if p.cfg.b2cName != "" {
		return p.authority + "/" + p.cfg.b2cName + ".onmicrosoft.com/" + p.cfg.b2cPolicies[0]
	}
	return p.tenantURL()
}

// TokenURL is the token endpoint's URL.
func (p *Provider) TokenURL() string { return p.tenantURL() + "/oauth2/v2.0/token" }

// AuthorizeURL is the authorization endpoint's URL.
func (p *Provider) AuthorizeURL() string { return p.tenantURL() + "/oauth2/v2.0/authorize" }

func (p *Provider) tenantURL() string { return p.authority + "/" + p.cfg.tenantID }

// Users returns a copy of the users who can sign in.
func (p *Provider) Users() []User { return cloneUsers(p.cfg.users) }

// Apps returns a copy of the confidential client applications.
func (p *Provider) Apps() []App { return cloneApps(p.cfg.apps) }

// check reports the first problem of a configuration.
func (c *config) check() error {
	if c.now == nil {
		return errors.New("WithClock(nil)")
	}
	if c.accessTokenLifetime < time.Minute || c.accessTokenLifetime > 24*time.Hour {
		return fmt.Errorf("WithTokenLifetime(%v): want a minute to a day", c.accessTokenLifetime)
	}
	if c.devicePollInterval < time.Second || c.devicePollInterval > time.Minute || c.devicePollInterval%time.Second != 0 {
		return fmt.Errorf("WithDevicePollInterval(%v): want whole seconds from 1 to 60", c.devicePollInterval)
	}
	if c.key != nil && c.key.N.BitLen() < 2048 {
		return fmt.Errorf("signing key of %d bits, want at least 2048", c.key.N.BitLen())
	}
	for _, base := range []string{c.issuerBase, c.v1IssuerBase} {
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(base, "/") || u.RawQuery != "" {
			return fmt.Errorf("issuer base %q: want scheme://host[/path], no trailing slash", base)
		}
	}
	for id, uris := range c.spas {
		for _, ru := range uris {
			if u, err := url.Parse(ru); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(ru, "#") {
				return fmt.Errorf("WithSPA(%q): redirect URI %q: want an absolute http or https URL without a fragment", id, ru)
			}
		}
	}
	if c.b2cName != "" || c.b2cPolicies != nil {
		if !b2cNamePattern.MatchString(c.b2cName) || len(c.b2cPolicies) == 0 {
			return fmt.Errorf("WithB2C(%q, %q): want a tenant name (the part before .onmicrosoft.com) and at least one user flow", c.b2cName, c.b2cPolicies)
		}
		for _, pol := range c.b2cPolicies {
			if !b2cPolicyPattern.MatchString(pol) {
				return fmt.Errorf("B2C user flow %q: want a name such as B2C_1_signupsignin", pol)
			}
		}
	}
	seen := map[string]bool{}
	for _, u := range c.users {
		if u.Username == "" || seen[u.Username] {
			return fmt.Errorf("user %q: usernames must be unique and non-empty", u.Username)
		}
		seen[u.Username] = true
	}
	clear(seen)
	for _, a := range c.apps {
		if a.ClientID == "" || seen[a.ClientID] {
			return fmt.Errorf("app %q: client IDs must be unique and non-empty", a.ClientID)
		}
		seen[a.ClientID] = true
	}
	return nil
}

func cloneUsers(users []User) []User {
	out := slices.Clone(users)
	for i := range out {
		out[i].Scopes = slices.Clone(out[i].Scopes)
		out[i].Roles = slices.Clone(out[i].Roles)
	}
	return out
}

func cloneApps(apps []App) []App {
	out := slices.Clone(apps)
	for i := range out {
		out[i].Roles = slices.Clone(out[i].Roles)
		out[i].Certificates = slices.Clone(out[i].Certificates)
	}
	return out
}

// RotateKeys replaces the signing key, as Entra does without notice: later
// tokens are signed with a new key and the old key leaves the key set, so
// tokens signed before no longer verify once validators refetch the set.
func (p *Provider) RotateKeys() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keyGen++
	p.key = newSigningKey(poolKey(p.keyGen))
}

func (p *Provider) signingKey() signingKey {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.key
}
