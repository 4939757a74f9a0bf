package entra

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// PersonalAccountsTenantID is the tenant of personal Microsoft accounts
// (MSA): the tid of their tokens. As a validator's tenant, like
// "consumers", it admits every personal account in the world, and needs
// the same explicit choice as a multi-tenant tenant.
const PersonalAccountsTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// Authority hosts of the Microsoft clouds.
const (
	PublicCloud  = "https://login.microsoftonline.com"
	USGovernment = "https://login.microsoftonline.us"
	China        = "https://login.partner.microsoftonline.cn"
)

// Defaults of the options.
const (
	// DefaultRetryInterval is the least time between two attempts while no
	// key set has been fetched yet.
	DefaultRetryInterval = 10 * time.Second

	defaultMaxTokenBytes      = 16 << 10         // WithMaxTokenBytes
	defaultClockSkew          = 2 * time.Minute  // WithClockSkew
	defaultRefreshInterval    = 12 * time.Hour   // WithRefreshInterval
	defaultMinRefreshInterval = 5 * time.Minute  // WithMinRefreshInterval
	defaultFetchTimeout       = 10 * time.Second // one fetch of discovery document and key set
	defaultCacheSize          = 10_000           // WithCacheSize
)

// Option configures a [Validator].
type Option func(*config)

type config struct {
	authorityHost string
	tenant        string
	discoveryURL  string
	discovery     []discovery
	versions      []TokenVersion
	multiTenant   bool
	personal      bool
	allowed       []string
	tenantFilter  func(tenantID string) bool
	anyTenant     bool
	b2cPolicy     string
	allowGuests   bool
	appID         string
	cacheSize     int
	audiences     []string
	algorithms    []string
	clockSkew     time.Duration
	maxTokenBytes int
	client        *http.Client
	now           func() time.Time
	clockSet      bool // WithClock was given
	realClock     bool // now is time.Now
	logger        *slog.Logger
	refresh       time.Duration
	minRefresh    time.Duration
	keySet        KeySet   // WithKeySet
	keySetIssuers []issuer // the issuers with keySet
	// nilOptions names the options given a nil value, each an error.
	nilOptions []string
}

// WithTenant sets the tenant whose tokens are accepted: its ID (a GUID) or
// one of its domains (contoso.onmicrosoft.com). Required.
func WithTenant(tenant string) Option { return func(c *config) { c.tenant = tenant } }

// WithAuthorityHost sets the Entra ID host: [PublicCloud] (the default),
// [USGovernment], [China], https://{name}.b2clogin.com for the Azure AD
// B2C tenant {name}.onmicrosoft.com (with [WithB2CPolicy]),
// https://{subdomain}.ciamlogin.com for a Microsoft Entra External ID
// tenant (with its tenant ID), or a development identity provider. It must
// be https, or http on a loopback host.
func WithAuthorityHost(host string) Option {
	return func(c *config) { c.authorityHost = host }
}

// WithDiscoveryURL replaces the discovery document URL derived from the
// authority host and tenant (for v2 tokens).
func WithDiscoveryURL(url string) Option { return func(c *config) { c.discoveryURL = url } }

// TokenVersion is an access token version, the ver claim.
type TokenVersion string

// Token versions. Which one Entra ID issues depends on the API's app
// registration (requestedAccessTokenVersion: null or 1 gives v1, 2 gives
// v2), not on the endpoint clients use.
const (
	// V1 tokens: issuer https://sts.windows.net/{tid}/, appid, upn.
	V1 TokenVersion = "1.0"
	// V2 tokens: issuer https://login.microsoftonline.com/{tid}/v2.0, azp,
	// preferred_username.
	V2 TokenVersion = "2.0"
)

// WithTokenVersions sets the accepted token versions, V2 by default.
func WithTokenVersions(versions ...TokenVersion) Option {
	return func(c *config) { c.versions = versions }
}

// WithAllowedTenants accepts, with a multi-tenant tenant ("organizations"
// or "common"), tokens from these tenant IDs only. With "consumers" (or
// [PersonalAccountsTenantID]) the only tenant there is to list is
// PersonalAccountsTenantID: listing it says, as explicitly as
// [InsecureAllowAnyTenant], that every personal account is accepted.
func WithAllowedTenants(tenantIDs ...string) Option {
	return func(c *config) { c.allowed = append(c.allowed, tenantIDs...) }
}

// WithTenantFilter accepts, with a multi-tenant tenant, tokens of the tenant
// IDs for which allow returns true. It runs on every validation: keep it
// fast and non-blocking.
func WithTenantFilter(allow func(tenantID string) bool) Option {
	return func(c *config) {
		c.tenantFilter = allow
		if allow == nil {
			c.nilOptions = append(c.nilOptions, "WithTenantFilter")
		}
	}
}

// InsecureAllowAnyTenant accepts, with a multi-tenant tenant, tokens from
// every Entra tenant in the world; with "consumers" (or
// [PersonalAccountsTenantID]), tokens of every personal Microsoft account.
// Only APIs that authorize each tenant or user themselves should use it.
func InsecureAllowAnyTenant() Option { return func(c *config) { c.anyTenant = true } }

// WithB2CPolicy makes the validator an Azure AD B2C one for the user flow
// (policy) such as "B2C_1_signupsignin": discovery at
// {host}/{tenant}/{policy}/v2.0/…, with host https://{name}.b2clogin.com (or a custom domain)
// and tenant "{name}.onmicrosoft.com"; tokens must name the policy in tfp
// or acr.
func WithB2CPolicy(policy string) Option { return func(c *config) { c.b2cPolicy = policy } }

// WithAllowGuests accepts guest users (acct 1, or an idp other than the
// issuer), denied by default.
func WithAllowGuests() Option { return func(c *config) { c.allowGuests = true } }

// WithAppSpecificKeys fetches the signing keys of an application that uses
// a custom signing key: discovery with ?appid=appID.
func WithAppSpecificKeys(appID string) Option { return func(c *config) { c.appID = appID } }

// WithCacheSize sets how many validated tokens are remembered, 10,000 by
// default; 0 turns the cache off.
func WithCacheSize(n int) Option { return func(c *config) { c.cacheSize = n } }

// WithAudiences sets the accepted aud values: the API's client ID and, if its
// tokens use it, the Application ID URI (api://…). Compared exactly.
// Required.
func WithAudiences(audiences ...string) Option {
	return func(c *config) { c.audiences = append(c.audiences, audiences...) }
}

// WithAlgorithms replaces the accepted signing algorithms, RS256 by default
// (the only one Entra ID uses). Only RSA algorithms (RS256, RS384, RS512,
// PS256, PS384, PS512) are possible: Entra's keys are RSA, and HMAC or
// "none" would let anyone holding the public key forge tokens.
func WithAlgorithms(algs ...string) Option { return func(c *config) { c.algorithms = algs } }

// WithClockSkew sets the tolerance for exp and nbf, 2 minutes by default:
// it absorbs clock drift between Entra ID and this server. Zero means
// exact.
func WithClockSkew(d time.Duration) Option { return func(c *config) { c.clockSkew = d } }

// WithMaxTokenBytes bounds a token's size before any decoding, 16 KiB by
// default: Entra access tokens are 1–4 KB; group and role claims can make
// them grow, rarely past 8 KB.
func WithMaxTokenBytes(n int) Option { return func(c *config) { c.maxTokenBytes = n } }

// WithHTTPClient sets the client for discovery and key fetches, for proxies
// or custom CAs. Default: a client with a timeout of 10 seconds. A nil
// client is an error.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) {
		c.client = client
		if client == nil {
			c.nilOptions = append(c.nilOptions, "WithHTTPClient")
		}
	}
}

// WithClock sets the validator's clock, time.Now by default.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now, c.clockSet = now, true }
}

// WithLogger sets where key fetches are logged, slog.Default() by default.
// A nil logger is an error.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		c.logger = l
		if l == nil {
			c.nilOptions = append(c.nilOptions, "WithLogger")
		}
	}
}

// WithRefreshInterval sets how old the key set may grow before it is fetched
// again in the background, 12 hours by default (Microsoft recommends
// 12–24 h).
func WithRefreshInterval(d time.Duration) Option { return func(c *config) { c.refresh = d } }

// WithMinRefreshInterval sets the least time between two fetches triggered
// by unknown key IDs, 5 minutes by default.
func WithMinRefreshInterval(d time.Duration) Option {
	return func(c *config) { c.minRefresh = d }
}

// OptionError is a problem with one option. NewValidator's error wraps one
// for each problem with the tenancy, authority host and audiences, so that a
// program reading its configuration from elsewhere (package server, from
// variables) can name its own settings instead of the options.
type OptionError struct {
	// Option names the option at fault, such as "WithTenant".
	Option string
	// Problem says what is wrong, without naming options.
	Problem string
	// Fix names the options that would mend it, if any, such as
	// "WithAllowedTenants" and "InsecureAllowAnyTenant".
	Fix []string
}

// Error names the option, the problem and the options that would mend it.
func (e *OptionError) Error() string {
	if len(e.Fix) == 0 {
		return e.Option + ": " + e.Problem
	}
	return e.Option + ": " + e.Problem + " (" + strings.Join(e.Fix, " or ") + ")"
}

func optionError(option, problem string, fix ...string) error {
	return &OptionError{Option: option, Problem: problem, Fix: fix}
}

var (
	tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$`)
	policyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
	rsaAlgorithms = map[string]bool{"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true}
)

func newConfig(opts []Option) (*config, error) {
	c := &config{
		authorityHost: PublicCloud,
		clockSkew:     defaultClockSkew,
		maxTokenBytes: defaultMaxTokenBytes,
		now:           time.Now,
		refresh:       defaultRefreshInterval,
		minRefresh:    defaultMinRefreshInterval,
		cacheSize:     defaultCacheSize,
	}
	for _, o := range opts {
		o(c)
	}
	var errs []error
	for _, name := range c.nilOptions {
		errs = append(errs, fmt.Errorf("%s: nil", name))
	}
	host := trimSlash(c.authorityHost)
	if _, err := checkURL(host); err != nil {
		errs = append(errs, optionError("WithAuthorityHost", "authority host: "+err.Error()))
	}
	errs = append(errs, c.tenancy(host)...)
	if c.keySet != nil && c.tenant != "" {
		var more []error
		c.keySetIssuers, more = c.staticIssuers(host)
		errs = append(errs, more...)
	}
	if len(c.audiences) == 0 {
		errs = append(errs, optionError("WithAudiences", "at least one audience is required"))
	}
	for _, a := range c.audiences {
		if strings.TrimSpace(a) != a || a == "" {
			errs = append(errs, optionError("WithAudiences", fmt.Sprintf("audience %q is empty or has surrounding spaces", a)))
		}
	}
	if len(c.algorithms) == 0 {
		c.algorithms = []string{jwa.RS256.String()}
	}
	for _, a := range c.algorithms {
		if !rsaAlgorithms[a] {
			errs = append(errs, fmt.Errorf("algorithm %q is not allowed: only RSA algorithms (RS256, RS384, RS512, PS256, PS384, PS512)", a))
		}
	}
	if c.clockSkew < 0 || c.clockSkew > time.Hour {
		errs = append(errs, fmt.Errorf("clock skew %v: want 0 to 1h", c.clockSkew))
	}
	if c.maxTokenBytes < 1024 || c.maxTokenBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("max token bytes %d: want 1 KiB to 1 MiB", c.maxTokenBytes))
	}
	if c.cacheSize < 0 || c.cacheSize > 10_000_000 {
		errs = append(errs, fmt.Errorf("cache size %d: want 0 to 10,000,000", c.cacheSize))
	}
	if c.refresh < time.Minute {
		errs = append(errs, fmt.Errorf("refresh interval %v: want at least 1m", c.refresh))
	}
	if c.minRefresh < 0 || c.minRefresh > c.refresh {
		errs = append(errs, fmt.Errorf("min refresh interval %v: want 0 to the refresh interval", c.minRefresh))
	}
	if c.tenantFilter != nil && c.anyTenant {
		errs = append(errs, errors.New("a tenant filter and InsecureAllowAnyTenant contradict each other"))
	}
	if c.now == nil {
		errs = append(errs, errors.New("WithClock: nil"))
	}
	c.realClock = !c.clockSet
	if c.client == nil {
		c.client = &http.Client{Timeout: defaultFetchTimeout}
	}
	c.client = checkRedirects(c.client)
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("entra: invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// tenancy checks the tenant options together and derives the discovery
// documents to fetch.
func (c *config) tenancy(host string) []error {
	var errs []error
	t := strings.ToLower(c.tenant)
	c.multiTenant = t == "common" || t == "organizations"
	c.personal = t == "consumers" || t == PersonalAccountsTenantID
	if len(c.versions) == 0 {
		c.versions = []TokenVersion{V2}
	}
	for i, v := range c.versions {
		switch {
		case v != V1 && v != V2:
			errs = append(errs, optionError("WithTokenVersions", fmt.Sprintf("token version %q: want %q or %q", v, V1, V2)))
		case slices.Contains(c.versions[:i], v):
			errs = append(errs, optionError("WithTokenVersions", fmt.Sprintf("token version %q is listed twice", v)))
		}
	}
	for _, id := range c.allowed {
		if !isTenantID(id) {
			errs = append(errs, optionError("WithAllowedTenants", fmt.Sprintf("allowed tenant %q is not a tenant ID (a lowercase GUID)", id)))
		}
	}
	// A list next to a filter or to any tenant would be silently ignored.
	if len(c.allowed) > 0 && (c.tenantFilter != nil || c.anyTenant) {
		errs = append(errs, optionError("WithAllowedTenants", "allowed tenants and a tenant filter or any tenant contradict each other: use one (a filter can consult a list)"))
	}
	restricted := len(c.allowed) > 0 || c.tenantFilter != nil || c.anyTenant
	switch {
	case c.tenant == "":
		errs = append(errs, optionError("WithTenant", "tenant is required"))
	case !tenantPattern.MatchString(c.tenant):
		errs = append(errs, optionError("WithTenant", fmt.Sprintf("tenant %q is not a tenant ID or domain", c.tenant)))
	case c.multiTenant && !restricted:
		errs = append(errs, optionError("WithTenant", fmt.Sprintf("tenant %q accepts every tenant's tokens: list them, filter them, or opt in", c.tenant),
			"WithAllowedTenants", "WithTenantFilter", "InsecureAllowAnyTenant"))
	case c.personal && !restricted:
		errs = append(errs, optionError("WithTenant", fmt.Sprintf("tenant %q accepts the tokens of every personal Microsoft account in the world: list its tenant %s, or opt in", c.tenant, PersonalAccountsTenantID),
			"WithAllowedTenants", "InsecureAllowAnyTenant"))
	case !c.multiTenant && !c.personal && restricted:
		option := map[bool]string{true: "WithAllowedTenants", false: "InsecureAllowAnyTenant"}[len(c.allowed) > 0]
		if c.tenantFilter != nil {
			option = "WithTenantFilter"
		}
		errs = append(errs, optionError(option, fmt.Sprintf("allowed tenants need a multi-tenant tenant (organizations, common or consumers), not %q", c.tenant), "WithTenant"))
	}
	if c.b2cPolicy != "" {
		switch {
		case !policyPattern.MatchString(c.b2cPolicy):
			errs = append(errs, optionError("WithB2CPolicy", fmt.Sprintf("B2C policy %q: want a user flow name such as B2C_1_signupsignin", c.b2cPolicy)))
		case c.multiTenant:
			errs = append(errs, optionError("WithB2CPolicy", "B2C needs its tenant (name.onmicrosoft.com or ID), not a multi-tenant name", "WithTenant"))
		case len(c.versions) != 1 || c.versions[0] != V2:
			errs = append(errs, optionError("WithB2CPolicy", "B2C issues v2 tokens only", "WithTokenVersions"))
		case c.appID != "":
			errs = append(errs, optionError("WithAppSpecificKeys", "app-specific keys do not apply to B2C"))
		}
	}
	if c.discoveryURL != "" {
		if _, err := checkURL(c.discoveryURL); err != nil {
			errs = append(errs, fmt.Errorf("discovery URL: %w", err))
		}
		if len(c.versions) != 1 {
			errs = append(errs, errors.New("an explicit discovery URL serves one token version"))
		}
		c.discovery = []discovery{{url: c.discoveryURL, version: string(c.versions[0])}}
		return errs
	}
	query := ""
	if c.appID != "" {
		query = "?appid=" + url.QueryEscape(c.appID)
	}
	for _, v := range c.versions {
		path := "/v2.0/.well-known/openid-configuration"
		if v == V1 {
			path = "/.well-known/openid-configuration" // never with B2C
		}
		c.discovery = append(c.discovery, discovery{url: c.tenantURL(host) + path + query, version: string(v)})
	}
	return errs
}

// tenantURL is where the tenant's (and B2C user flow's) documents and
// endpoints are: {host}/{tenant}[/{policy}].
func (c *config) tenantURL(host string) string {
	if c.b2cPolicy != "" {
		return host + "/" + c.tenant + "/" + c.b2cPolicy
	}
	return host + "/" + c.tenant
}

// Endpoints are the OAuth 2.0 endpoints of the identity provider a
// validator trusts, where the API's clients sign users in and get its
// tokens: what the provider's v2.0 discovery document lists as
// authorization_endpoint and token_endpoint, known without fetching it.
type Endpoints struct {
	AuthorizationURL, TokenURL string
}

// EndpointsOf returns the endpoints of the tenant (or B2C user flow) that
// opts, the options of [NewValidator], configure; invalid options are the
// error NewValidator would return.
func EndpointsOf(opts ...Option) (Endpoints, error) {
	c, err := newConfig(opts)
	if err != nil {
		return Endpoints{}, err
	}
	base := c.tenantURL(trimSlash(c.authorityHost)) + "/oauth2/v2.0/"
	return Endpoints{AuthorizationURL: base + "authorize", TokenURL: base + "token"}, nil
}
