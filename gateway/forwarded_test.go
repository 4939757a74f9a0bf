package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
)

// metadataEcho is an InfoService whose GetInfo answers with the metadata it
// received, as JSON in the name field.
type metadataEcho struct {
	itemsv1.UnimplementedInfoServiceServer
}

func (metadataEcho) GetInfo(ctx context.Context, _ *itemsv1.GetInfoRequest) (*itemsv1.GetInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	b, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	return &itemsv1.GetInfoResponse{Name: string(b)}, nil
}

// startEcho serves metadataEcho over gRPC on loopback, and through a gateway
// built with opts over HTTP on loopback; it returns the gateway's URL.
func startEcho(t *testing.T, opts ...gateway.Option) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	itemsv1.RegisterInfoServiceServer(s, metadataEcho{})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h, err := gateway.New(context.Background(), conn, []gateway.RegisterFunc{itemsv1.RegisterInfoServiceHandler}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestForwardedHeaders(t *testing.T) {
	token := entratest.NewServer(t).Issue()
	tests := []struct {
		name     string
		opts     []gateway.Option
		headers  http.Header // sent as written: the keys are not canonicalized
		wantFor  string      // "" stands for the peer address, 127.0.0.1
		wantHost string      // "" stands for the request's Host
	}{
		{
			name:    "the caller's X-Forwarded-For and X-Forwarded-Host do not reach the backend",
			headers: http.Header{"X-Forwarded-For": {"10.9.8.7"}, "X-Forwarded-Host": {"admin.internal"}},
		},
		{
			name:    "lower-case and repeated forwarded headers do not reach the backend either",
			headers: http.Header{"x-forwarded-for": {"10.9.8.7", "10.9.8.6"}, "x-forwarded-host": {"admin.internal", "b.internal"}},
		},
		{
			name:    "Grpc-Metadata-X-Forwarded-For and -Host do not reach the backend",
			headers: http.Header{"Grpc-Metadata-X-Forwarded-For": {"10.9.8.7"}, "Grpc-Metadata-X-Forwarded-Host": {"admin.internal"}},
		},
		{
			name:     "behind a trusted proxy the forwarded headers reach the backend",
			opts:     []gateway.Option{gateway.WithTrustedProxy()},
			headers:  http.Header{"X-Forwarded-For": {"10.9.8.7"}, "X-Forwarded-Host": {"admin.internal"}},
			wantFor:  "10.9.8.7, 127.0.0.1",
			wantHost: "admin.internal",
		},
		{
			name: "behind a trusted proxy that sends none, the peer address and Host reach the backend",
			opts: []gateway.Option{gateway.WithTrustedProxy()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := startEcho(t, tt.opts...)
			req, err := http.NewRequest("GET", base+"/v1/info", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.headers.Clone()
			if req.Header == nil {
				req.Header = http.Header{}
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var info struct{ Name string }
			var md map[string][]string
			if err := json.Unmarshal(body, &info); err != nil || resp.StatusCode != 200 {
				t.Fatalf("got %s %s", resp.Status, body)
			}
			if err := json.Unmarshal([]byte(info.Name), &md); err != nil {
				t.Fatal(err)
			}

			wantFor, wantHost := tt.wantFor, tt.wantHost
			if wantFor == "" {
				wantFor = "127.0.0.1"
			}
			if wantHost == "" {
				wantHost = strings.TrimPrefix(base, "http://")
			}
			if got := md["x-forwarded-for"]; len(got) != 1 || got[0] != wantFor {
				t.Errorf("x-forwarded-for = %q, want [%q]", got, wantFor)
			}
			if got := md["x-forwarded-host"]; len(got) != 1 || got[0] != wantHost {
				t.Errorf("x-forwarded-host = %q, want [%q]", got, wantHost)
			}
			if got := md["authorization"]; len(got) != 1 || got[0] != "Bearer "+token {
				t.Errorf("authorization = %q, want the caller's token alone", got)
			}
		})
	}
}
