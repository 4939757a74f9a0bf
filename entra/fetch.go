package entra

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/loopback"
)

// checkURL accepts https URLs, and http URLs whose host is a loopback
// address or "localhost" (development and tests).
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("invalid URL %q: want scheme://host/path", raw)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if loopback.Host(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("URL %q: http is allowed only for loopback hosts, use https", raw)
	default:
		return nil, fmt.Errorf("URL %q: scheme must be https", raw)
	}
}

// maxRedirects bounds the redirects one fetch follows.
const maxRedirects = 10

// checkRedirects returns a copy of client that applies checkURL to every
// redirect, so a redirect cannot lead a fetch to plain http off loopback.
// The caller's client and its own redirect policy are kept.
func checkRedirects(client *http.Client) *http.Client {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if _, err := checkURL(req.URL.String()); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &c
}

// fetch GETs url, refusing answers that are not 200 or larger than limit
// bytes.
func fetch(ctx context.Context, client *http.Client, rawURL string, limit int64) ([]byte, error) {
	if _, err := checkURL(rawURL); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %s", rawURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", rawURL, limit)
	}
	return body, nil
}
