package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/openapilint"
)

// TestServedDocumentsPassTheValidators runs swagger-cli, Spectral
// (spectral:oas) and Redocly (recommended) on the documents the notes
// example serves: no errors, and only the warnings docs/openapi.md lists.
func TestServedDocumentsPassTheValidators(t *testing.T) {
	e := start(t)
	for _, path := range []string{"/openapi.json", "/swagger.json"} {
		resp, err := http.Get(e.srv.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %v", path, resp.Status, err)
		}
		openapilint.Validate(t, "Notes "+path, body)
	}
}
