package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// example is the Items example, served as make run serves it.
func example() []server.Option {
	return []server.Option{
		server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}),
		server.WithOpenAPI(items.OpenAPI()),
	}
}

// startDev runs the server as make run does, on loopback ports of its own.
func startDev(t *testing.T) (*server.Server, *grpc.ClientConn, *logBuffer) {
	t.Helper()
	return start(t)
}

// start runs the server configured by env on loopback ports of its own,
// once it is SERVING.
func start(t *testing.T, env ...string) (*server.Server, *grpc.ClientConn, *logBuffer) {
	t.Helper()
	cfg, err := server.LoadConfig(append([]string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0"}, env...), "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv := servertest.Start(t, cfg, append(example(), server.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))...)
	return srv.Server, srv.Conn, logs
}

// passwordToken signs in through the embedded provider's token endpoint,
// as `make token` does.
func passwordToken(t *testing.T, srv *server.Server, user, scope string) string {
	t.Helper()
	idp := srv.DevIDP()
	resp, err := http.PostForm(idp.TokenURL(), url.Values{
		"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {user}, "password": {"dev"},
		"scope": {idp.AppIDURI() + "/" + scope},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token endpoint: %s %v", resp.Status, err)
	}
	return body.AccessToken
}

func TestDevServerEndToEnd(t *testing.T) {
	srv, conn, logs := startDev(t)
	if !strings.HasPrefix(srv.DevIDP().Authority(), srv.HTTPURL()+server.DevIDPPath) {
		t.Fatalf("dev provider at %s, want under %s", srv.DevIDP().Authority(), srv.HTTPURL())
	}
	ctx := context.Background()

	// Health answers without a token and turned SERVING (start waited for
	// it) once keys were loaded; so does /readyz.
	if resp, body := doWithHost(t, endpoint{method: "GET", url: srv.HTTPURL() + "/readyz"}, ""); resp.StatusCode != 200 || body != "ready\n" {
		t.Fatalf("/readyz once SERVING: %s %q", resp.Status, body)
	}

	// Reflection answers without a token, so grpcurl can list services.
	rc, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Recv()
	if err != nil {
		t.Fatalf("reflection without token: %v", err)
	}
	if !strings.Contains(resp.String(), "example.items.v1.ItemService") {
		t.Fatalf("reflection lists %v", resp)
	}

	items := itemsv1.NewItemServiceClient(conn)
	if _, err := items.ListItems(ctx, &itemsv1.ListItemsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+passwordToken(t, srv, "bob", "Items.Read"))
	list, err := items.ListItems(authed, &itemsv1.ListItemsRequest{})
	if err != nil || len(list.GetItems()) != 3 {
		t.Fatalf("bob lists: %v, %v", list, err)
	}
	if _, err := items.CreateItem(authed, &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "x"}}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("bob creates: %v, want PermissionDenied", err)
	}
	info := itemsv1.NewInfoServiceClient(conn)
	if _, err := info.GetDebugInfo(authed, &itemsv1.GetDebugInfoRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("unannotated method: %v, want PermissionDenied", err)
	}
	if !strings.Contains(logs.String(), "method has no access rule") || !strings.Contains(logs.String(), "GetDebugInfo") {
		t.Fatalf("the unprotected method was not logged at startup:\n%s", logs)
	}
	if n := strings.Count(logs.String(), "every call is denied"); n != 1 {
		t.Fatalf("%d unprotected-method warnings, want 1 (GetDebugInfo; health and reflection are exempt):\n%s", n, logs)
	}
}

func TestRealTenantIsUnavailableWhileItsKeysCannotLoad(t *testing.T) {
	idp := entratest.NewServer(t)
	idp.SetDown(true)
	cfg, err := server.LoadConfig([]string{
		"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0",
		"AZUREAD_TENANT_ID=" + idp.TenantID(), "AZUREAD_CLIENT_ID=" + idp.ClientID(), "AZUREAD_AUTHORITY_HOST=" + idp.Authority(),
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, append(example(), server.WithLogger(slog.New(slog.NewTextHandler(&logBuffer{}, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx)
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+idp.Issue())
	_, err = itemsv1.NewItemServiceClient(conn).ListItems(authed, &itemsv1.ListItemsRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want Unavailable while the provider is down", err)
	}
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health = %v, %v; want NOT_SERVING", h, err)
	}
}

// A pod with AKS workload identity gets AZURE_CLIENT_ID (its managed
// identity), AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and
// AZURE_AUTHORITY_HOST from the webhook, and here a downstream credential
// too. The server reads only its AZUREAD_ settings: it starts, fetches keys
// from AZUREAD_AUTHORITY_HOST (AZURE_AUTHORITY_HOST names the real
// Microsoft host, which this test cannot reach), and accepts tokens for the
// API's audience only, never for the managed identity's.
func TestPodWithWorkloadIdentityValidatesTokensForTheAPIsAudience(t *testing.T) {
	idp := entratest.NewServer(t)
	const managedIdentity = "5c1f7ed9-7a2e-4b4e-9d6c-0e6fb9a1c3d2"
	srv, conn, logs := start(t,
		"AZURE_CLIENT_ID="+managedIdentity,
		"AZURE_TENANT_ID="+idp.TenantID(),
		"AZURE_FEDERATED_TOKEN_FILE=/var/run/secrets/azure/tokens/azure-identity-token",
		"AZURE_AUTHORITY_HOST=https://login.microsoftonline.com/",
		"AZURE_CLIENT_SECRET=downstream-api-secret",
		"AZUREAD_TENANT_ID="+idp.TenantID(),
		"AZUREAD_CLIENT_ID="+idp.ClientID(),
		"AZUREAD_AUTHORITY_HOST="+idp.Authority(),
	)
	if srv.DevIDP() != nil {
		t.Fatal("development mode with a tenant configured")
	}
	items := itemsv1.NewItemServiceClient(conn)
	tests := []struct {
		name  string
		token string
		want  codes.Code
		rest  int
	}{
		{"a token for the API's client ID is accepted", idp.Issue(entratest.Scopes("Items.Read")), codes.OK, 200},
		{"a token for the managed identity's client ID is refused", idp.Issue(entratest.Scopes("Items.Read"), entratest.Audience(managedIdentity)), codes.Unauthenticated, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name+" over gRPC", func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tt.token)
			if _, err := items.ListItems(ctx, &itemsv1.ListItemsRequest{}); status.Code(err) != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
		t.Run(tt.name+" over REST", func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.HTTPURL()+"/v1/items", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.rest {
				t.Fatalf("got %s, want %d", resp.Status, tt.rest)
			}
		})
	}
	// The managed identity's client ID may show only as the audience of a
	// refused token, which the log names (issue 17, finding 8).
	seen := strings.ReplaceAll(logs.String(), `aud \"`+managedIdentity+`\"`, "")
	if strings.Contains(seen, managedIdentity) || strings.Contains(seen, "downstream-api-secret") {
		t.Fatalf("the logs name the process's own credentials:\n%s", logs)
	}
}

// Development mode trusts a provider that signs anyone in: New refuses to
// listen anywhere but on loopback, naming the variable.
func TestDevelopmentModeListensOnLoopbackOnly(t *testing.T) {
	tests := []struct {
		name, env, want string
	}{
		{"a gRPC listener on every interface is refused", "GRPC_ADDR=0.0.0.0:50051", "GRPC_ADDR"},
		{"a gRPC listener on an empty host is refused", "GRPC_ADDR=:50051", "GRPC_ADDR"},
		{"an HTTP listener on every interface is refused", "HTTP_ADDR=0.0.0.0:8000", "HTTP_ADDR"},
		{"an HTTP listener on IPv6's every interface is refused", "HTTP_ADDR=[::]:8000", "HTTP_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := []string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0", "AZUREAD_DEV_MODE=true", tt.env}
			_, err := server.LoadConfig(env, "")
			if err == nil || !strings.Contains(err.Error(), tt.want+"=") || !strings.Contains(err.Error(), "loopback only") {
				t.Fatalf("LoadConfig: %v, want an error naming %s", err, tt.want)
			}
			// A Config built by hand gets the same answer from New.
			cfg := server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
			name, addr, _ := strings.Cut(tt.env, "=")
			if name == "GRPC_ADDR" {
				cfg.GRPCAddr = addr
			} else {
				cfg.HTTPAddr = addr
			}
			if _, err := server.New(cfg, example()...); err == nil || !strings.Contains(err.Error(), tt.want+"=") {
				t.Fatalf("New: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// A tenant whose identity provider the default client cannot reach (a
// private CA, here entratest's test certificate for a real host name) is
// trusted through WithIdentityProviderClient; AZUREAD_CLIENT_SECRET, kept
// for the handlers, is never logged.
func TestATenantReachedThroughTheIdentityProviderClient(t *testing.T) {
	idp := entratest.NewServerAt(t, "https://login.microsoftonline.us")
	cfg, err := server.LoadConfig([]string{
		"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0",
		"AZUREAD_TENANT_ID=" + idp.TenantID(), "AZUREAD_CLIENT_ID=" + idp.ClientID(), "AZUREAD_AUTHORITY_HOST=" + idp.Authority(),
		"AZUREAD_CLIENT_SECRET=the-apis-own-secret",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv := servertest.Start(t, cfg, append(example(), server.WithIdentityProviderClient(idp.Client()),
		server.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))...)
	authed := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+idp.Issue(entratest.Scopes("Items.Read")))
	if _, err := itemsv1.NewItemServiceClient(srv.Conn).ListItems(authed, &itemsv1.ListItemsRequest{}); err != nil {
		t.Fatalf("a token of the tenant: %v", err)
	}
	if idp.Fetches().JWKS == 0 {
		t.Error("the keys did not come from the provider")
	}
	if strings.Contains(logs.String(), "the-apis-own-secret") {
		t.Fatalf("the logs show the API's client secret:\n%s", logs)
	}
}
