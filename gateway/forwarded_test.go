package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
)

func TestForwardedHeaders(t *testing.T) {
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
			e := start(t, tt.opts...)
			base, token := e.base, e.idp.Issue()
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
			// GetInfo answers with the metadata that reached its handler.
			var info struct{ Metadata map[string][]string }
			if err := json.Unmarshal(body, &info); err != nil || resp.StatusCode != 200 {
				t.Fatalf("got %s %s", resp.Status, body)
			}
			md := info.Metadata

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
