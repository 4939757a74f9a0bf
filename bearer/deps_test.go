package bearer_test

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestClientsDoNotLinkTheValidator keeps the validator (package entra) and
// its JOSE library out of every program that only calls protected
// services: bearer shares what it needs with entra through leaf packages.
func TestClientsDoNotLinkTheValidator(t *testing.T) {
	// go test puts its own go first on PATH.
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "google.golang.org/grpc/credentials") || !slices.Contains(deps, "github.com/grpc-azure-auth/grpc-azure-auth/bearer") {
		t.Fatalf("go list -deps printed %.200q…: not bearer's dependencies", out)
	}
	forbidden := regexp.MustCompile(`jwx|/grpc-azure-auth/(entra|entratest|interceptor|rules|server)$`)
	for _, d := range deps {
		if forbidden.MatchString(d) {
			t.Errorf("bearer depends on %s", d)
		}
	}
}
