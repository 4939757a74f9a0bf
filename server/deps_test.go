package server_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestProgramsDoNotLinkTestCode checks, with go list -deps, that what a
// program links holds no test code: the serving kit, the command and the
// development identity provider reach neither the test kit entratest nor
// package testing nor httptest (as programs built on net/http do not link
// httptest), nor a test package of grpc-go such as grpc/test/bufconn (the
// gateway's in-process connection is the server's own listener).
func TestProgramsDoNotLinkTestCode(t *testing.T) {
	const module = "github.com/grpc-azure-auth/grpc-azure-auth"
	forbidden := []string{module + "/entratest", "testing", "net/http/httptest"}
	forbiddenPrefixes := []string{"google.golang.org/grpc/test/", "google.golang.org/grpc/internal/testutils"}
	for _, pkg := range []string{module + "/server", module + "/cmd/grpc-azure-auth", module + "/devidp"} {
		t.Run(pkg+" links no test code", func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", pkg).Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, pkg) {
				t.Fatalf("go list -deps %s does not list the package itself:\n%s", pkg, out)
			}
			for _, dep := range deps {
				if slices.Contains(forbidden, dep) || slices.ContainsFunc(forbiddenPrefixes, func(p string) bool { return strings.HasPrefix(dep, p) }) {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		})
	}
}
