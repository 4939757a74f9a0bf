package devidp_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// The token endpoint answers a sign-in as a user or app the provider does
// not have with the ones it has, and a scope the user may not have with
// those the user has, so that a typo or a missing WithUsers is a one-step
// fix; a wrong password or secret lists nobody.
func TestUnknownAccountsListTheOnesTheProviderHas(t *testing.T) {
	carol := devidp.User{Name: "Carol", Username: "carol", ObjectID: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", Password: "dev", Scopes: []string{"Notes.Read"}}
	tests := []struct {
		name        string
		opts        []devidp.Option
		form        url.Values
		code        int
		error, want string
	}{
		{"an unknown user is told the default users", nil,
			url.Values{"grant_type": {"password"}, "username": {"ann"}, "password": {"dev"}},
			400, "invalid_grant", "AADSTS50034: The user account 'ann' does not exist in this directory. The development users are alice, bob."},
		{"an unknown user is told the users WithUsers gave", []devidp.Option{devidp.WithUsers(carol)},
			url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"dev"}},
			400, "invalid_grant", "AADSTS50034: The user account 'alice' does not exist in this directory. The development users are carol."},
		{"a provider without users says so", []devidp.Option{devidp.WithUsers()},
			url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"dev"}},
			400, "invalid_grant", "AADSTS50034: The user account 'alice' does not exist in this directory. The development identity provider has no users."},
		{"a known user with a wrong password is told nothing more", nil,
			url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"Dev"}},
			400, "invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password."},
		{"a scope the user lacks is told the user's scopes", []devidp.Option{devidp.WithUsers(carol)},
			url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"dev"}, "scope": {"api://" + devidp.DefaultClientID + "/Notes.Write"}},
			400, "invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application with scope 'api://" + devidp.DefaultClientID + "/Notes.Write'. carol's scopes are Notes.Read."},
		{"a user without scopes is told so", nil,
			url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"dev"}},
			400, "invalid_scope", "AADSTS70011: The provided request must include a scope of this API. bob has no scopes."},
		{"an unknown app is told the default apps", nil,
			url.Values{"grant_type": {"client_credentials"}, "client_id": {"backup-daemon"}, "client_secret": {"dev-secret"}},
			401, "invalid_client", "AADSTS700016: Application with identifier 'backup-daemon' was not found in the directory. The development apps are reporting-daemon, admin-daemon."},
		{"a known app with a wrong secret is told nothing more", nil,
			url.Values{"grant_type": {"client_credentials"}, "client_id": {devidp.AdminDaemonClientID}, "client_secret": {"nope"}},
			401, "invalid_client", "AADSTS7000215: Invalid client secret provided."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := serve(t, tt.opts...)
			if tt.form.Get("client_id") == "" {
				tt.form.Set("client_id", devidp.DefaultSPAClientID)
			}
			if tt.form.Get("scope") == "" {
				tt.form.Set("scope", p.AppIDURI()+"/.default")
			}
			resp, err := srv.Client().PostForm(p.TokenURL(), tt.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			// Entra's trace and correlation IDs follow on lines of their own.
			desc, _, _ := strings.Cut(body.Description, "\r\n")
			if resp.StatusCode != tt.code || body.Error != tt.error || desc != tt.want {
				t.Fatalf("%d %s %q, want %d %s %q", resp.StatusCode, body.Error, desc, tt.code, tt.error, tt.want)
			}
		})
	}
}
