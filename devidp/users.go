package devidp

import "crypto/x509"

// Identifiers of the default tenant and applications. They are fixed so that
// development tokens and configuration stay stable across restarts.
const (
	// DefaultTenantID is the tenant the provider serves unless WithTenantID.
	DefaultTenantID = "8b5fd8f4-6f3b-4c7e-9d1a-2f0e3c4b5a69"
	// DefaultClientID is the protected API's client ID: the audience of the
	// tokens issued unless WithClientID.
	DefaultClientID = "6a1f4e2b-93c5-4d8e-b7a0-5c2d9e8f1b34"
	// DefaultSPAClientID is the client application (azp) of user tokens:
	// the single-page app, such as Swagger UI, that signed the user in.
	DefaultSPAClientID = "0d7c3b9a-2e41-4f6b-8a5d-c1e2f3a4b5c6"
	// ReportingDaemonClientID is the client ID of reporting-daemon, one
	// of [DefaultApps].
	ReportingDaemonClientID = "7e1d2c3b-4a5f-4b6c-8d7e-9f0a1b2c3d4e"
	// AdminDaemonClientID is the client ID of admin-daemon, one of
	// [DefaultApps].
	AdminDaemonClientID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d"
)

// User is a development user who can sign in.
type User struct {
	// Name is the display name (name claim).
	Name string
	// Username is the sign-in name (preferred_username claim).
	Username string
	// ObjectID is the user's oid.
	ObjectID string
	// Password is checked by the password grant.
	Password string
	// Scopes are the delegated scopes the user may be granted (short names).
	Scopes []string
	// Roles are the app roles assigned to the user.
	Roles []string
}

// App is a confidential client application (a daemon) that gets app-only
// tokens with client credentials.
type App struct {
	// Name is the app's display name, such as reporting-daemon: what
	// people call it ([ForApp] and the token command take it too).
	Name string
	// ClientID is the app's client ID (azp claim), a GUID as in Entra: what
	// the token endpoint takes as client_id.
	ClientID string
	// ClientSecret is checked by the client credentials grant; "" means the
	// app has no secret.
	ClientSecret string
	// Certificates are the app's registered certificates: a client
	// assertion signed with the key of one of them (RSA, within its
	// validity) authenticates the app, and its tokens have azpacr "2".
	Certificates []*x509.Certificate
	// ObjectID is the oid of the app's service principal.
	ObjectID string
	// Roles are the application permissions granted to the app.
	Roles []string
}

// DefaultUsers returns alice and bob, with the password "dev" and no
// scopes or roles: a provider knows no API's permissions. The serving kit's
// development mode gives them the scopes its rules name (alice every one,
// bob the read-only ones); elsewhere, give users theirs with [WithUsers].
func DefaultUsers() []User {
	return []User{
		{Name: "Alice Admin", Username: "alice", ObjectID: "1f0c2a3b-4d5e-4f60-8a71-b2c3d4e5f601", Password: "dev"},
		{Name: "Bob Reader", Username: "bob", ObjectID: "2a1b3c4d-5e6f-4a70-9b82-c3d4e5f60712", Password: "dev"},
	}
}

// DefaultApps returns reporting-daemon ([ReportingDaemonClientID]) and
// admin-daemon ([AdminDaemonClientID]), with the secret "dev-secret" and
// no app roles. The serving kit's development mode gives them the app roles
// its rules name (admin-daemon every one); elsewhere, give apps theirs with
// [WithApps].
func DefaultApps() []App {
	return []App{
		{Name: "reporting-daemon", ClientID: ReportingDaemonClientID, ClientSecret: "dev-secret", ObjectID: "3b2c4d5e-6f70-4a81-8c93-d4e5f6071823"},
		{Name: "admin-daemon", ClientID: AdminDaemonClientID, ClientSecret: "dev-secret", ObjectID: "4c3d5e6f-7081-4b92-9da4-e5f607182934"},
	}
}

// AppNamed returns the client ID of the app with that display name (or
// that client ID) among apps, and whether there is one: what the token
// command does with -app reporting-daemon.
func AppNamed(apps []App, name string) (string, bool) {
	for _, a := range apps {
		if a.ClientID == name {
			return a.ClientID, true
		}
	}
	for _, a := range apps {
		if a.Name == name {
			return a.ClientID, true
		}
	}
	return "", false
}
