package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		dotenv  string
		want    func(Config) bool
		wantErr string
	}{
		{"no variables run the development identity provider on the defaults", nil, "",
			func(c Config) bool {
				return c.Dev() && c.GRPCAddr == "localhost:50051" && c.HTTPAddr == "localhost:8000"
			}, ""},
		{"a tenant with a client ID and audiences", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZURE_AUDIENCES= api://c , x ,"}, "",
			func(c Config) bool {
				return !c.Dev() && c.ClientID == "c" && strings.Join(c.Audiences, "|") == "api://c|x"
			}, ""},
		{".env is read", nil, "# comment\nexport AZURE_TENANT_ID=\"t\"\nAZURE_CLIENT_ID='c'\n\nLOG_LEVEL=debug\n",
			func(c Config) bool { return c.TenantID == "t" && c.ClientID == "c" && c.LogLevel.String() == "DEBUG" }, ""},
		{"the environment wins over .env", []string{"AZURE_CLIENT_ID=env"}, "AZURE_TENANT_ID=t\nAZURE_CLIENT_ID=file\n",
			func(c Config) bool { return c.ClientID == "env" }, ""},
		{"a tenant without client ID is refused", []string{"AZURE_TENANT_ID=t"}, "", nil, "AZURE_CLIENT_ID is required"},
		{"a client ID without tenant is refused", []string{"AZURE_CLIENT_ID=c"}, "", nil, "need AZURE_TENANT_ID"},
		{"an unknown AZURE_ variable is refused", []string{"AZURE_TENANT=t"}, "", nil, "unknown variable AZURE_TENANT"},
		{"an unknown .env line is refused", nil, "AZURE_TENNANT_ID=t\n", nil, "unknown variable AZURE_TENNANT_ID"},
		{"a .env line without = is refused", nil, "AZURE_TENANT_ID\n", nil, "want KEY=VALUE"},
		{"a bad address is refused", []string{"GRPC_ADDR=50051"}, "", nil, "GRPC_ADDR"},
		{"a bad log level is refused", []string{"LOG_LEVEL=loud"}, "", nil, "LOG_LEVEL"},
		{"the development provider off loopback is refused", []string{"HTTP_ADDR=0.0.0.0:8000"}, "", nil, "loopback only"},
		{"other variables are ignored", []string{"HOME=/root", "PATH=/bin"}, "", func(c Config) bool { return c.Dev() }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env")
			if tt.dotenv != "" {
				if err := os.WriteFile(path, []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := LoadConfig(tt.env, path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.want(c) {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}
