package server_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A program built on the kit links no test package of grpc-go: the
// gateway's in-process connection is the server's own listener, not
// grpc/test/bufconn (issue 18).
func TestServerLinksNoGRPCTestPackage(t *testing.T) {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "google.golang.org/grpc/test/") || strings.Contains(pkg, "/internal/testutils") {
			t.Errorf("server links %s", pkg)
		}
	}
}
