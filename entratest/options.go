package entratest

import (
	"crypto/rsa"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// The provider's configuration is package devidp's: a test configures its
// provider exactly as development mode configures the embedded one, and
// an [Option] is a [devidp.Option], so the same values work in both
// (server.WithDevIdentityProvider takes them). The functions below are
// devidp's, named here so that a test needs one import.

// Option configures a [Provider], for [NewProvider], [NewServer] and
// [NewServerAt]: a [devidp.Option].
type Option = devidp.Option

// User is a development user who can sign in: a [devidp.User].
type User = devidp.User

// App is a confidential client application (a daemon): a [devidp.App].
type App = devidp.App

// Identifiers of the default tenant and applications, and of the tenant of
// personal accounts: devidp's.
const (
	// DefaultTenantID is the tenant the provider serves unless WithTenantID.
	DefaultTenantID = devidp.DefaultTenantID
	// DefaultClientID is the protected API's client ID: the audience of the
	// tokens issued unless WithClientID.
	DefaultClientID = devidp.DefaultClientID
	// DefaultSPAClientID is the client application (azp) of user tokens.
	DefaultSPAClientID = devidp.DefaultSPAClientID
	// ReportingDaemonClientID is the client ID of reporting-daemon.
	ReportingDaemonClientID = devidp.ReportingDaemonClientID
	// AdminDaemonClientID is the client ID of admin-daemon.
	AdminDaemonClientID = devidp.AdminDaemonClientID
	// ConsumersTenantID is the tenant of personal Microsoft accounts.
	ConsumersTenantID = devidp.ConsumersTenantID
)

// Errors of [devidp.Provider.ApproveDeviceCode] and
// [devidp.Provider.DeclineDeviceCode].
var (
	// ErrNoDeviceCode is [devidp.ErrNoDeviceCode].
	ErrNoDeviceCode = devidp.ErrNoDeviceCode
	// ErrDeviceCodeUser is [devidp.ErrDeviceCodeUser].
	ErrDeviceCodeUser = devidp.ErrDeviceCodeUser
)

// DefaultUsers returns the test tenant's users: devidp's alice, who has
// the scopes Items.Read, Items.Write, Items.Import and Items.Sync of the
// repository's Items example, and bob, who has Items.Read. A provider of
// this package has them unless WithUsers.
func DefaultUsers() []User {
	users := devidp.DefaultUsers()
	users[0].Scopes = []string{"Items.Read", "Items.Write", "Items.Import", "Items.Sync"}
	users[1].Scopes = []string{"Items.Read"}
	return users
}

// DefaultApps returns the test tenant's apps: devidp's reporting-daemon,
// with the app role Items.Export, and admin-daemon, with Items.Admin and
// Items.Export. A provider of this package has them unless WithApps.
func DefaultApps() []App {
	apps := devidp.DefaultApps()
	apps[0].Roles = []string{"Items.Export"}
	apps[1].Roles = []string{"Items.Admin", "Items.Export"}
	return apps
}

// WithTenantID is [devidp.WithTenantID].
func WithTenantID(id string) Option { return devidp.WithTenantID(id) }

// WithClientID is [devidp.WithClientID].
func WithClientID(id string) Option { return devidp.WithClientID(id) }

// WithAppIDURI is [devidp.WithAppIDURI].
func WithAppIDURI(uri string) Option { return devidp.WithAppIDURI(uri) }

// WithUsers is [devidp.WithUsers].
func WithUsers(users ...User) Option { return devidp.WithUsers(users...) }

// WithApps is [devidp.WithApps].
func WithApps(apps ...App) Option { return devidp.WithApps(apps...) }

// WithClock is [devidp.WithClock].
func WithClock(now func() time.Time) Option { return devidp.WithClock(now) }

// WithKey is [devidp.WithKey].
func WithKey(key *rsa.PrivateKey) Option { return devidp.WithKey(key) }

// WithSPA is [devidp.WithSPA].
func WithSPA(clientID string, redirectURIs ...string) Option {
	return devidp.WithSPA(clientID, redirectURIs...)
}

// WithPublicClient is [devidp.WithPublicClient].
func WithPublicClient(clientIDs ...string) Option { return devidp.WithPublicClient(clientIDs...) }

// WithIssuerBase is [devidp.WithIssuerBase].
func WithIssuerBase(base string) Option { return devidp.WithIssuerBase(base) }

// WithV1IssuerBase is [devidp.WithV1IssuerBase].
func WithV1IssuerBase(base string) Option { return devidp.WithV1IssuerBase(base) }

// WithB2C is [devidp.WithB2C]; start the provider on B2C's host with
// [NewServerAt].
func WithB2C(tenantName string, policies ...string) Option {
	return devidp.WithB2C(tenantName, policies...)
}

// WithCustomSigningKey is [devidp.WithCustomSigningKey].
func WithCustomSigningKey() Option { return devidp.WithCustomSigningKey() }
