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
	"time"

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

// start runs the server configured by env on loopback ports of its own.
func start(t *testing.T, env ...string) (*server.Server, *grpc.ClientConn, *logBuffer) {
	t.Helper()
	cfg, err := server.LoadConfig(append([]string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0"}, env...), "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv, err := server.New(cfg, append(example(), server.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("no graceful shutdown within 15s")
		}
	})
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return srv, conn, logs
}

// passwordToken signs in through the embedded provider's token endpoint,
// as `make token` does.
func passwordToken(t *testing.T, srv *server.Server, user, scope string) string {
	t.Helper()
	idp := srv.DevIDP()
	resp, err := http.PostForm(idp.TokenURL(), url.Values{
		"grant_type": {"password"}, "username": {user}, "password": {"dev"},
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

	// Health answers without a token and turns SERVING once keys are loaded.
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("health without token: %v", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never SERVING")
		}
		time.Sleep(20 * time.Millisecond)
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
