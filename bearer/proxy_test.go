package bearer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
)

// authRecorder is a plaintext gRPC server on loopback that plays the
// remote host: it answers every call Unimplemented and records the
// authorization each call carried, by the call's x-case metadata.
type authRecorder struct {
	lis   net.Listener
	mu    sync.Mutex
	calls map[string][]string
}

func startAuthRecorder(t *testing.T) *authRecorder {
	r := &authRecorder{calls: map[string][]string{}}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		name := strings.Join(md.Get("x-case"), "")
		r.mu.Lock()
		r.calls[name] = append(r.calls[name], strings.Join(md.Get("authorization"), ","))
		r.mu.Unlock()
		return status.Error(codes.Unimplemented, "nothing here")
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.lis = lis
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return r
}

// seen returns the authorizations the calls of case name carried, in order.
func (r *authRecorder) seen(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls[name])
}

// reset forgets every call.
func (r *authRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.calls)
}

// connectProxy is an HTTP CONNECT proxy on loopback that records the
// targets it is asked for and tunnels every one of them to dest, so that
// a "remote" target is in fact served on loopback.
type connectProxy struct {
	lis  net.Listener
	mu   sync.Mutex
	seen []string
}

func startConnectProxy(t *testing.T, dest string) *connectProxy {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{lis: lis}
	var wg sync.WaitGroup
	t.Cleanup(func() { lis.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.tunnel(c, dest) })
		}
	})
	return p
}

func (p *connectProxy) tunnel(c net.Conn, dest string) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		return
	}
	p.mu.Lock()
	p.seen = append(p.seen, req.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", dest)
	if err != nil {
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{})
	go func() { _, _ = io.Copy(up, br); up.Close(); close(done) }()
	_, _ = io.Copy(c, up)
	c.Close()
	<-done
}

func (p *connectProxy) targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// The environment variable that makes TestGRPCPlaintextDoesNotGoThroughALoopbackProxy
// the client process: grpc-go (through net/http) reads HTTPS_PROXY once per
// process, so the client runs in a process of its own started with it.
const proxyClientEnv = "BEARER_TEST_PROXY_CLIENT"

func TestGRPCPlaintextDoesNotGoThroughALoopbackProxy(t *testing.T) {
	if target := os.Getenv(proxyClientEnv); target != "" {
		proxyClient(target)
		return
	}
	rec := startAuthRecorder(t)
	lis := rec.lis
	proxy := startConnectProxy(t, lis.Addr().String())

	cmd := exec.Command(os.Args[0], "-test.run=^TestGRPCPlaintextDoesNotGoThroughALoopbackProxy$", "-test.count=1")
	cmd.Env = append(os.Environ(), proxyClientEnv+"="+lis.Addr().String(),
		"HTTPS_PROXY=http://"+proxy.lis.Addr().String(), "https_proxy=", "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client process: %v\n%s", err, out)
	}
	results := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, res, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(name, "case ") {
			results[strings.TrimPrefix(name, "case ")] = res
		}
	}
	if got := proxy.targets(); len(got) == 0 || got[0] != "api.example.com:80" {
		t.Fatalf("the proxy was asked for %q, want api.example.com:80: the test does not go through the proxy", got)
	}
	tests := []struct {
		name, want, auth string
	}{
		{name: "through the proxy, naming localhost", want: "refused", auth: ""},
		{name: "through the proxy, with InsecureAllowPlaintext", want: "sent", auth: "Bearer never-for-the-proxy"},
		{name: "to loopback directly, the proxy set", want: "sent", auth: "Bearer never-for-the-proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if results[tt.name] != tt.want {
				t.Errorf("the call was %q, want %q (client output:\n%s)", results[tt.name], tt.want, out)
			}
			if got := strings.Join(rec.seen(tt.name), ","); got != tt.auth {
				t.Errorf("the server saw authorization %q, want %q", got, tt.auth)
			}
		})
	}
}

// proxyClient makes the calls of TestGRPCPlaintextDoesNotGoThroughALoopbackProxy
// with HTTPS_PROXY set, and prints how each ended.
func proxyClient(direct string) {
	cases := []struct {
		name, target string
		opts         []bearer.Option
		dial         []grpc.DialOption
	}{
		{name: "through the proxy, naming localhost", target: "api.example.com:80",
			dial: []grpc.DialOption{grpc.WithAuthority("localhost")}},
		{name: "through the proxy, with InsecureAllowPlaintext", target: "api.example.com:80",
			opts: []bearer.Option{bearer.InsecureAllowPlaintext()}, dial: []grpc.DialOption{grpc.WithAuthority("localhost")}},
		{name: "to loopback directly, the proxy set", target: direct},
	}
	for _, c := range cases {
		src, err := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "never-for-the-proxy", TokenType: "Bearer"}), c.opts...)
		if err != nil {
			panic(err)
		}
		conn, err := grpc.NewClient(c.target, append(c.dial, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(src.PerRPCCredentials()))...)
		if err != nil {
			panic(err)
		}
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-case", c.name)
		err = conn.Invoke(ctx, "/bearertest.v1.Echo/WhoAmI", &emptypb.Empty{}, &emptypb.Empty{})
		conn.Close()
		switch {
		case status.Code(err) == codes.Unimplemented:
			fmt.Printf("case %s: sent\n", c.name)
		case status.Code(err) == codes.Unauthenticated && strings.Contains(err.Error(), bearer.ErrInsecureTransport.Error()):
			fmt.Printf("case %s: refused\n", c.name)
		default:
			fmt.Printf("case %s: %v\n", c.name, err)
		}
	}
}

func TestGRPCPlaintextIsRefusedWhenThePeerMayBeTheEnvironmentsProxy(t *testing.T) {
	// net/http and grpc-go read the proxy settings once per process: read
	// them now, before this test changes them, so that only the check
	// under test sees the changes. grpc-go never proxies the loopback
	// target below; the check cannot know that, and must refuse whenever
	// the peer may be the proxy.
	_, _ = http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: "https", Host: "example.com"}})
	rec := startAuthRecorder(t)
	lis := rec.lis
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	tests := []struct {
		name, proxy string
		refused     bool
	}{
		{name: "no proxy: sent", proxy: ""},
		{name: "a loopback proxy on the peer's port: refused", proxy: "http://127.0.0.1:" + port, refused: true},
		{name: "the same without a scheme: refused", proxy: "127.0.0.1:" + port, refused: true},
		{name: "localhost on the peer's port: refused", proxy: "http://localhost:" + port, refused: true},
		{name: "a host name on the peer's port (it may resolve to loopback): refused", proxy: "http://proxy.example:" + port, refused: true},
		{name: "a loopback proxy on another port: sent", proxy: "http://127.0.0.1:1"},
		{name: "a proxy at an IP address off loopback: sent", proxy: "http://203.0.113.9:" + port},
		{name: "a proxy without a port, the peer not on 80 or 443: sent", proxy: "http://127.0.0.1"},
		{name: "an unreadable proxy: refused", proxy: "http://[::1", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HTTPS_PROXY", tt.proxy)
			t.Setenv("https_proxy", "")
			rec.reset()
			src, _ := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", TokenType: "Bearer"}))
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithPerRPCCredentials(src.PerRPCCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			err = conn.Invoke(t.Context(), "/bearertest.v1.Echo/WhoAmI", &emptypb.Empty{}, &emptypb.Empty{})
			seen := rec.seen("")
			if tt.refused {
				if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), bearer.ErrInsecureTransport.Error()) || len(seen) != 0 {
					t.Fatalf("%v (server saw %q), want ErrInsecureTransport and nothing sent", err, seen)
				}
				return
			}
			if status.Code(err) != codes.Unimplemented || len(seen) != 1 || seen[0] != "Bearer t" {
				t.Fatalf("%v (server saw %q), want the call to carry the token", err, seen)
			}
		})
	}
}

// A proxy named by an unspecified address (0.0.0.0, ::) is reached on
// loopback: a connection to it ends at the local listener, and its peer
// reads 127.0.0.1. The check must not take it for a proxy off loopback.
func TestGRPCPlaintextDoesNotGoThroughAProxyNamedByAnUnspecifiedAddress(t *testing.T) {
	rec := startAuthRecorder(t)
	lis := rec.lis
	proxy := startConnectProxy(t, lis.Addr().String())
	_, port, _ := net.SplitHostPort(proxy.lis.Addr().String())

	for _, host := range []string{"0.0.0.0", "[::]"} {
		t.Run(host, func(t *testing.T) {
			rec.reset()
			before := len(proxy.targets())
			// The client of TestGRPCPlaintextDoesNotGoThroughALoopbackProxy,
			// in a process of its own with this proxy.
			cmd := exec.Command(os.Args[0], "-test.run=^TestGRPCPlaintextDoesNotGoThroughALoopbackProxy$", "-test.count=1")
			cmd.Env = append(os.Environ(), proxyClientEnv+"="+lis.Addr().String(),
				"HTTPS_PROXY=http://"+host+":"+port, "https_proxy=", "NO_PROXY=", "no_proxy=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("client process: %v\n%s", err, out)
			}
			const name = "through the proxy, naming localhost"
			if !strings.Contains(string(out), "case "+name+": refused") {
				t.Errorf("%s: the call was not refused (client output:\n%s)", name, out)
			}
			if auth := strings.Join(rec.seen(name), ","); auth != "" {
				t.Errorf("%s: the remote server saw authorization %q through the proxy", name, auth)
			}
			if got := proxy.targets(); len(got) == before {
				t.Fatal("the proxy was asked for nothing: the test does not go through it")
			}
		})
	}
}
