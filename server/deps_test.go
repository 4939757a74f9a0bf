package server_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestProgramsDoNotLinkTestCode checks, with go list -deps, that what a
// program links holds no test code: the serving kit, the command and the
// development identity provider reach neither the test kit entratest nor
// package testing nor httptest, as programs built on net/http do not link
// httptest.
func TestProgramsDoNotLinkTestCode(t *testing.T) {
	const module = "github.com/grpc-azure-auth/grpc-azure-auth"
	testCode := []string{module + "/entratest", "testing", "net/http/httptest"}
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{module + "/server", testCode},
		{module + "/cmd/grpc-azure-auth", testCode},
		{module + "/devidp", testCode},
	}
	for _, tt := range tests {
		t.Run(tt.pkg+" links no test code", func(t *testing.T) {
			t.Parallel()
			// go test puts the go command of the toolchain on PATH.
			out, err := exec.Command("go", "list", "-deps", tt.pkg).Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("go list -deps %s: %v\n%s", tt.pkg, err, stderr)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, tt.pkg) {
				t.Fatalf("go list -deps %s does not list the package itself:\n%s", tt.pkg, out)
			}
			for _, f := range tt.forbidden {
				if slices.Contains(deps, f) {
					t.Errorf("%s links %s", tt.pkg, f)
				}
			}
		})
	}
}
