package bearer_test

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A proxy named by an unspecified address (0.0.0.0, ::) is reached on
// loopback: a connection to it ends at the local listener, and its peer
// reads 127.0.0.1. The check must not take it for a proxy off loopback.
func TestGRPCPlaintextDoesNotGoThroughAProxyNamedByAnUnspecifiedAddress(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		mu.Lock()
		seen[strings.Join(md.Get("x-case"), "")] = strings.Join(md.Get("authorization"), ",")
		mu.Unlock()
		return status.Error(codes.Unimplemented, "nothing here")
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	proxy := startConnectProxy(t, lis.Addr().String())
	_, port, _ := net.SplitHostPort(proxy.lis.Addr().String())

	for _, host := range []string{"0.0.0.0", "[::]"} {
		t.Run(host, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
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
			mu.Lock()
			defer mu.Unlock()
			if auth := seen[name]; auth != "" {
				t.Errorf("%s: the remote server saw authorization %q through the proxy", name, auth)
			}
			if got := proxy.targets(); len(got) == before {
				t.Fatal("the proxy was asked for nothing: the test does not go through it")
			}
		})
	}
}
