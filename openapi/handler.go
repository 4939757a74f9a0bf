package openapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"time"
)

//go:embed swaggerui ui
var assets embed.FS

// UI configures Swagger UI.
type UI struct {
	// ClientID is the Swagger UI app registration (a single-page
	// application) that signs users in: OPENAPI_CLIENT_ID.
	ClientID string
	// Scopes are preselected when signing in (full names); nil preselects
	// every scope of the document's security scheme.
	Scopes []string
}

// Handler serves doc at /openapi.json and Swagger UI at /docs/ (with its
// OAuth2 redirect page at /docs/oauth2-redirect.html).
func Handler(doc []byte, ui UI) (http.Handler, error) {
	var parsed struct {
		SecurityDefinitions map[string]struct {
			Scopes map[string]string `json:"scopes"`
		} `json:"securityDefinitions"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		return nil, fmt.Errorf("openapi: the document is not JSON: %w", err)
	}
	if ui.Scopes == nil {
		for s := range parsed.SecurityDefinitions[SchemeName].Scopes {
			ui.Scopes = append(ui.Scopes, s)
		}
		slices.Sort(ui.Scopes)
	}
	if ui.ClientID == "" {
		return nil, errors.New("openapi: Swagger UI needs the client ID of its app registration")
	}
	init, err := initializer(ui)
	if err != nil {
		return nil, err
	}
	dist, _ := fs.Sub(assets, "swaggerui")
	index, _ := assets.ReadFile("ui/index.html")
	files := http.StripPrefix("/docs/", http.FileServerFS(dist))
	modTime := time.Now()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "openapi.json", modTime, bytes.NewReader(doc))
	})
	mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	mux.HandleFunc("GET /docs/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		http.ServeContent(w, r, "index.html", modTime, bytes.NewReader(index))
	})
	mux.HandleFunc("GET /docs/swagger-initializer.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeContent(w, r, "swagger-initializer.js", modTime, bytes.NewReader(init))
	})
	mux.Handle("GET /docs/", files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		mux.ServeHTTP(w, r)
	}), nil
}

// initializer writes the script that starts Swagger UI. The configuration
// is JSON-encoded, so no value can break out of the script.
func initializer(ui UI) ([]byte, error) {
	cfg, err := json.Marshal(map[string]any{"clientId": ui.ClientID, "scopes": ui.Scopes})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("window.onload = function () {\n  const cfg = ")
	b.Write(cfg)
	b.WriteString(`;
  window.ui = SwaggerUIBundle({
    url: new URL("../openapi.json", window.location.href).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    oauth2RedirectUrl: new URL("oauth2-redirect.html", window.location.href).href,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
  window.ui.initOAuth({
    clientId: cfg.clientId,
    usePkceWithAuthorizationCodeGrant: true,
    scopes: cfg.scopes,
  });
};
`)
	return b.Bytes(), nil
}
