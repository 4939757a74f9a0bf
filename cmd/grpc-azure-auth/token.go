package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/loopback"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

const tokenUsage = `usage: grpc-azure-auth token [flags]

Prints an access token, and nothing else, on stdout; prompts and errors go
to stderr.

From the development identity provider of a running server (make run):

  grpc-azure-auth token                          # alice, all her scopes (password grant)
  grpc-azure-auth token -user bob -scopes Items.Read
  grpc-azure-auth token -app admin-daemon        # app-only (client credentials)
  grpc-azure-auth token -device                  # device code: approve on the page it names

From an Entra ID tenant (-tenant), for the API -api (its client ID or
Application ID URI), through the Azure SDK:

  grpc-azure-auth token -tenant T -api api://API -device -client-id PUBLIC_CLIENT -scopes Items.Read
  grpc-azure-auth token -tenant T -api api://API -azcli -scopes Items.Read   # az login's user
  AZURE_CLIENT_SECRET=… grpc-azure-auth token -tenant T -api api://API -app DAEMON_CLIENT_ID
  grpc-azure-auth token -tenant T -api api://API -app DAEMON_CLIENT_ID -cert daemon.pem

A step-up: -claims asks for a token with a claims request, such as the
one a claims challenge names (an authentication context, here c1):

  grpc-azure-auth token -claims '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
  grpc-azure-auth token -claims '{"access_token":{"xms_cc":{"values":["cp1"]}}}'   # declare cp1

Users get the delegated -scopes (short names; all they may have when
empty, as {api}/.default); apps get {api}/.default, their app roles. A
national cloud: -authority-host https://login.microsoftonline.us.

Flags:
`

// tokenFlags are the token command's settings.
type tokenFlags struct {
	server, user, password, app, secret, scopes string
	device                                      bool
	tenant, api, clientID, cert, authority      string
	azcli                                       bool
	claims                                      string
}

func token(args []string) error { return runToken(args, os.Stdout, os.Stderr) }

// runToken is the token command writing the token to stdout, prompts and
// usage to stderr.
func runToken(args []string, stdout, stderr io.Writer) error {
	var f tokenFlags
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tokenUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.server, "server", "", "base URL of the running server's HTTP listener, http:// on loopback only (default: HTTP_ADDR from the environment or .env, as make run reads it)")
	fs.StringVar(&f.user, "user", "alice", "development user to sign in as")
	fs.StringVar(&f.password, "password", "dev", "the development user's password")
	fs.StringVar(&f.app, "app", "", "the app to get an app-only token for (client credentials), instead of a user: a development app's name (admin-daemon) or client ID")
	fs.StringVar(&f.secret, "secret", "dev-secret", "the development app's client secret (for a tenant: $AZURE_CLIENT_SECRET)")
	fs.StringVar(&f.scopes, "scopes", "", "space-separated short scope names (default: every scope the user may have)")
	fs.BoolVar(&f.device, "device", false, "sign a user in with a device code (the prompt goes to stderr)")
	fs.StringVar(&f.tenant, "tenant", "", "Entra ID tenant (ID or domain): get the token from it, not from the development identity provider")
	fs.StringVar(&f.api, "api", "", "the API's Application ID URI or client ID (default: the development API)")
	fs.StringVar(&f.clientID, "client-id", "", "with -tenant -device: the public client application that signs the user in")
	fs.StringVar(&f.cert, "cert", "", "with -tenant -app: PEM file of the app's certificate and private key, instead of a secret")
	fs.StringVar(&f.authority, "authority-host", "", "with -tenant: the cloud's authority host (default: https://login.microsoftonline.com)")
	fs.BoolVar(&f.azcli, "azcli", false, "with -tenant: the user signed in with the Azure CLI (az login)")
	fs.StringVar(&f.claims, "claims", "", `claims request (JSON) to send with the token request, such as a claims challenge's: {"access_token":{"acrs":{"essential":true,"value":"c1"}}}`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q (see grpc-azure-auth token -h)", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var (
		src *bearer.Source
		err error
	)
	if f.tenant != "" {
		src, err = tenantSource(f, stderr)
	} else {
		src, err = devSource(ctx, f, stderr)
	}
	if err != nil {
		return err
	}
	if f.claims != "" {
		ctx = bearer.ContextWithClaims(ctx, f.claims)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// scopes returns the full scopes to ask for: {api}/{scope} for each short
// name, or {api}/.default.
func (f *tokenFlags) fullScopes() []string {
	api := strings.TrimSuffix(f.api, "/")
	if f.app != "" || strings.TrimSpace(f.scopes) == "" {
		return []string{api + "/.default"}
	}
	var out []string
	for _, s := range strings.Fields(f.scopes) {
		out = append(out, api+"/"+s)
	}
	return out
}

// waitForUser is how long a device code may wait for its user: Entra's
// device codes last 15 minutes.
const waitForUser = 15 * time.Minute

// devSource gets tokens from the development identity provider of a
// running server, with x/oauth2.
func devSource(ctx context.Context, f tokenFlags, prompt io.Writer) (*bearer.Source, error) {
	if f.server == "" {
		cfg, err := server.LoadConfig(os.Environ(), ".env") // the HTTP_ADDR make run listens on
		if err != nil {
			return nil, err
		}
		f.server = "http://" + cfg.HTTPAddr
		if cfg.DevTLS {
			f.server = "https://" + cfg.HTTPAddr
		}
	}
	if err := plaintextOnLoopback(f.server); err != nil {
		return nil, err
	}
	if f.api == "" {
		f.api = "api://" + devidp.DefaultClientID
	}
	tenantURL := strings.TrimSuffix(f.server, "/") + server.DevIDPPath + "/" + devidp.DefaultTenantID
	endpoint := oauth2.Endpoint{
		TokenURL:      tenantURL + "/oauth2/v2.0/token",
		DeviceAuthURL: tenantURL + "/oauth2/v2.0/devicecode",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
	// A token endpoint answers; it never redirects. Following a 307 would
	// post the password or client secret to wherever it points.
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("the identity provider redirected the request, which is not followed")
	}}
	if strings.HasPrefix(f.server, "https://") {
		// A server in development TLS mode (AZUREAD_DEV_TLS) serves the
		// certificate it keeps in the user's cache directory.
		roots, err := devRoots()
		if err != nil {
			return nil, err
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	}
	var fetch bearer.TokenFunc
	switch {
	case f.app != "":
		// A development app by its name (admin-daemon) or client ID.
		clientID, ok := devidp.AppNamed(devidp.DefaultApps(), f.app)
		if !ok {
			clientID = f.app
		}
		fetch = func(ctx context.Context, claims string) (*oauth2.Token, error) {
			cc := clientcredentials.Config{ClientID: clientID, ClientSecret: f.secret, TokenURL: endpoint.TokenURL,
				Scopes: f.fullScopes(), AuthStyle: oauth2.AuthStyleInParams, EndpointParams: claimsParam(claims)}
			return cc.Token(ctx)
		}
	case f.device:
		cfg := oauth2.Config{ClientID: devidp.DefaultSPAClientID, Endpoint: endpoint, Scopes: f.fullScopes()}
		fetch = func(ctx context.Context, claims string) (*oauth2.Token, error) {
			var opts []oauth2.AuthCodeOption
			if claims != "" {
				opts = append(opts, oauth2.SetAuthURLParam("claims", claims))
			}
			da, err := cfg.DeviceAuth(ctx, opts...)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(prompt, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
			return cfg.DeviceAccessToken(ctx, da, opts...)
		}
	default:
		// oauth2.Config.PasswordCredentialsToken takes no parameters, so
		// no claims: the password grant goes through clientcredentials,
		// whose EndpointParams may replace grant_type.
		fetch = func(ctx context.Context, claims string) (*oauth2.Token, error) {
			params := claimsParam(claims)
			params.Set("grant_type", "password")
			params.Set("username", f.user)
			params.Set("password", f.password)
			cc := clientcredentials.Config{ClientID: devidp.DefaultSPAClientID, TokenURL: endpoint.TokenURL,
				Scopes: f.fullScopes(), AuthStyle: oauth2.AuthStyleInParams, EndpointParams: params}
			return cc.Token(ctx)
		}
	}
	return bearer.FromOAuth2Func(func(fctx context.Context, claims string) (*oauth2.Token, error) {
		tok, err := fetch(context.WithValue(fctx, oauth2.HTTPClient, client), claims)
		var re *oauth2.RetrieveError
		switch {
		case err == nil:
		case !errors.As(err, &re):
			if ctx.Err() == nil {
				err = fmt.Errorf("is the server running (make run)? %w", err)
			}
		case re.ErrorCode != "":
			// The description's first line says what failed (for an
			// unknown user or app, which ones there are); the rest are
			// Entra's trace IDs.
			desc, _, _ := strings.Cut(re.ErrorDescription, "\r\n")
			err = fmt.Errorf("the development identity provider refused: %s: %s", printable(re.ErrorCode), printable(desc))
		}
		return tok, err
	}, bearer.WithFetchTimeout(waitForUser))
}

// claimsParam is the form parameters that send claims, if any.
func claimsParam(claims string) url.Values {
	v := url.Values{}
	if claims != "" {
		v.Set("claims", claims)
	}
	return v
}

// plaintextOnLoopback refuses an http:// server off this machine: the
// development password or client secret would cross the network in
// plaintext.
func plaintextOnLoopback(serverURL string) error {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("token: -server %q: want http://host:port on this machine, or https://", serverURL)
	}
	// No host (HTTP_ADDR=:8000) dials this machine.
	if u.Scheme == "http" && u.Hostname() != "" && !loopback.Host(u.Hostname()) {
		return fmt.Errorf("token: -server %s: http:// off loopback would send the development password or secret in plaintext; use https:// or a loopback address", u.Redacted())
	}
	return nil
}

// printable keeps the printable runes of what a server said, so that it
// cannot drive the terminal, at most 500 bytes of it.
func printable(s string) string {
	if len(s) > 500 {
		s = s[:500]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

// devRoots are the system's roots (SSL_CERT_FILE included) and the
// development certificate, when development mode has made one.
func devRoots() (*x509.CertPool, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	dir, err := devidp.DefaultStateDir()
	if err != nil {
		return roots, nil
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, devidp.TLSCertFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("token: the development certificate: %w", err)
	case !roots.AppendCertsFromPEM(pemBytes):
		return nil, fmt.Errorf("token: %s holds no certificate", filepath.Join(dir, devidp.TLSCertFile))
	}
	return roots, nil
}

// tenantSource gets tokens from an Entra ID tenant with the Azure SDK.
func tenantSource(f tokenFlags, prompt io.Writer) (*bearer.Source, error) {
	if f.api == "" {
		return nil, errors.New("token: -tenant needs -api, the API's Application ID URI (api://…) or client ID")
	}
	opts := azcore.ClientOptions{}
	if f.authority != "" {
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimSuffix(f.authority, "/") + "/"}
	}
	var (
		cred azcore.TokenCredential
		err  error
	)
	switch {
	case f.device:
		if f.clientID == "" {
			return nil, errors.New("token: -device needs -client-id, a public client application registered in the tenant")
		}
		cred, err = azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: opts, TenantID: f.tenant, ClientID: f.clientID,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				_, err := fmt.Fprintln(prompt, m.Message)
				return err
			},
		})
	case f.azcli:
		cred, err = azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: f.tenant})
	case f.app != "" && f.cert != "":
		cred, err = certificateCredential(f, opts)
	case f.app != "":
		secret := os.Getenv("AZURE_CLIENT_SECRET")
		if secret == "" {
			return nil, errors.New("token: -tenant -app needs the client secret in $AZURE_CLIENT_SECRET (not a flag, which other users can see), or -cert")
		}
		cred, err = azidentity.NewClientSecretCredential(f.tenant, f.app, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	default:
		return nil, errors.New("token: with -tenant, say how: -device, -azcli or -app (see grpc-azure-auth token -h)")
	}
	if err != nil {
		return nil, err
	}
	return bearer.FromAzure(cred, f.fullScopes(), bearer.WithFetchTimeout(waitForUser))
}

func certificateCredential(f tokenFlags, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	pem, err := os.ReadFile(f.cert)
	if err != nil {
		return nil, err
	}
	certs, key, err := azidentity.ParseCertificates(pem, nil)
	if err != nil {
		return nil, fmt.Errorf("token: %s: %w", f.cert, err)
	}
	return azidentity.NewClientCertificateCredential(f.tenant, f.app, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: opts})
}
