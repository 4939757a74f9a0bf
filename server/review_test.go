package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The identity-like settings an outside review of issue 17's finding 5
// tried beyond TestIdentityLikeSettingsNeverStartDevelopmentMode: none
// starts development mode, and each error names what it saw.
func TestReviewIdentityLikeSettingsNeverStartDevelopmentMode(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		dotenv string
		args   []string
		want   string // in the error
	}{
		{"a .NET-style name is another program's, and looks like a tenant", []string{"AzureAd__TenantId=t"}, "", nil,
			"AzureAd__TenantId in the environment"},
		{"an ideographic space is blank", []string{"AZUREAD_TENANT_ID=\u3000"}, "", nil,
			"AZUREAD_TENANT_ID is blank in the environment"},
		{"a zero-width space is a value, and not a tenant", []string{"AZUREAD_TENANT_ID=\u200b", "AZUREAD_CLIENT_ID=c"}, "", nil,
			`tenant "\u200b" is not a tenant ID or domain`},
		{"a zero-width space alone is a tenant without a client ID", []string{"AZUREAD_TENANT_ID=\u200b"}, "", nil,
			"AZUREAD_CLIENT_ID is required with AZUREAD_TENANT_ID"},
		{"a tenant in .env, blank in the environment and in a flag", []string{"AZUREAD_TENANT_ID="}, "AZUREAD_TENANT_ID=t\nAZUREAD_CLIENT_ID=c\n", []string{"-tenant-id="},
			"AZUREAD_TENANT_ID is blank in flag -tenant-id"},
		{"a quoted blank in .env", nil, "AZUREAD_TENANT_ID=\" \"\n", nil,
			"AZUREAD_TENANT_ID is blank in .env"},
		{"a byte-order mark in .env is not skipped", nil, "\ufeffAZUREAD_TENANT_ID=t\n", nil,
			"line 1: unknown variable"},
		{"a variable set without =", []string{"AZUREAD_TENANT_ID"}, "", nil,
			"AZUREAD_TENANT_ID is blank in the environment"},
		// Values that read as unset are still identity settings someone gave.
		{"a tenancy switch set to false", []string{"AZUREAD_ALLOW_GUESTS=false"}, "", nil,
			"AZUREAD_ALLOW_GUESTS is set"},
		{"a tenancy switch set to false in .env", nil, "AZUREAD_ALLOW_ANY_TENANT=false\n", nil,
			"AZUREAD_ALLOW_ANY_TENANT is set"},
		{"audiences that are only commas", []string{"AZUREAD_AUDIENCES=,"}, "", nil,
			"AZUREAD_AUDIENCES is set"},
		{"allowed tenants that are only commas and spaces", nil, "", []string{"-allowed-tenants", " , "},
			"AZUREAD_ALLOWED_TENANTS is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env")
			if tt.dotenv != "" {
				if err := os.WriteFile(path, []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := LoadConfig(tt.env, path, tt.args...)
			if err == nil || c.DevMode {
				t.Fatalf("got development mode %v, %v; want an error", c.DevMode, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("the error lacks %q:\n%v", tt.want, err)
			}
		})
	}
}
