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
	// Scopes are preselected when signing in (full names), each one of the
	// document's security scheme; nil preselects every one.
	Scopes []string
	// AuthorizationParams are added to the query of the authorization
	// request, e.g. prompt=select_account or domain_hint=contoso.com. Swagger
	// UI sets the OAuth2 parameters itself: client_id, response_type,
	// redirect_uri, scope, state, code_challenge and code_challenge_method
	// are refused here.
	AuthorizationParams map[string]string
}

// reservedParams are the authorization request parameters Swagger UI sets.
var reservedParams = []string{"client_id", "response_type", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

// Handler serves docs.OpenAPI at /openapi.json, docs.Swagger at
// /swagger.json and Swagger UI at /docs/ (with its OAuth2 redirect page at
// /docs/oauth2-redirect.html).
func Handler(docs *Documents, ui UI) (http.Handler, error) {
	if docs == nil {
		return nil, errors.New("openapi: no documents")
	}
	var parsed struct {
		Components struct {
			SecuritySchemes map[string]struct {
				Flows struct {
					AuthorizationCode struct {
						Scopes map[string]string `json:"scopes"`
					} `json:"authorizationCode"`
				} `json:"flows"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(docs.OpenAPI, &parsed); err != nil {
		return nil, fmt.Errorf("openapi: the document is not JSON: %w", err)
	}
	if !json.Valid(docs.Swagger) {
		return nil, errors.New("openapi: the Swagger 2.0 document is not JSON")
	}
	scopes := parsed.Components.SecuritySchemes[SchemeName].Flows.AuthorizationCode.Scopes
	for _, s := range ui.Scopes {
		if _, ok := scopes[s]; !ok {
			return nil, fmt.Errorf("openapi: Swagger UI would preselect %q, which no operation needs", s)
		}
	}
	if ui.Scopes == nil {
		for s := range scopes {
			ui.Scopes = append(ui.Scopes, s)
		}
		slices.Sort(ui.Scopes)
	}
	if ui.ClientID == "" {
		return nil, errors.New("openapi: Swagger UI needs the client ID of its app registration")
	}
	for k := range ui.AuthorizationParams {
		if slices.Contains(reservedParams, k) {
			return nil, fmt.Errorf("openapi: authorization parameter %q is set by Swagger UI", k)
		}
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
	for path, doc := range map[string][]byte{"/openapi.json": docs.OpenAPI, "/swagger.json": docs.Swagger} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			http.ServeContent(w, r, path, modTime, bytes.NewReader(doc))
		})
	}
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
	params := ui.AuthorizationParams
	if params == nil {
		params = map[string]string{}
	}
	cfg, err := json.Marshal(map[string]any{"clientId": ui.ClientID, "scopes": ui.Scopes, "params": params})
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
    // The x-azureauth-* extensions state each operation's rule.
    showExtensions: true,
    showCommonExtensions: true,
  });
  window.ui.initOAuth({
    clientId: cfg.clientId,
    usePkceWithAuthorizationCodeGrant: true,
    scopes: cfg.scopes,
    additionalQueryStringParams: cfg.params,
  });
};
`)
	return b.Bytes(), nil
}
