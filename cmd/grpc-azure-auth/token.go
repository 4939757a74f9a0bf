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
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
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
	fs.StringVar(&f.server, "server", "", "base URL of the running server's HTTP listener (default: HTTP_ADDR from the environment or .env, as make run reads it)")
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
	if f.api == "" {
		f.api = "api://" + devidp.DefaultClientID
	}
	tenantURL := strings.TrimSuffix(f.server, "/") + server.DevIDPPath + "/" + devidp.DefaultTenantID
	endpoint := oauth2.Endpoint{
		TokenURL:      tenantURL + "/oauth2/v2.0/token",
		DeviceAuthURL: tenantURL + "/oauth2/v2.0/devicecode",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if strings.HasPrefix(f.server, "https://") {
		// A server in development TLS mode (AZUREAD_DEV_TLS) serves the
		// certificate it keeps in the user's cache directory.
		roots, err := devRoots()
		if err != nil {
			return nil, err
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	var fetch func() (*oauth2.Token, error)
	switch {
	case f.app != "":
		// A development app by its name (admin-daemon) or client ID.
		clientID, ok := devidp.AppNamed(devidp.DefaultApps(), f.app)
		if !ok {
			clientID = f.app
		}
		cc := clientcredentials.Config{ClientID: clientID, ClientSecret: f.secret, TokenURL: endpoint.TokenURL,
			Scopes: f.fullScopes(), AuthStyle: oauth2.AuthStyleInParams}
		fetch = func() (*oauth2.Token, error) { return cc.Token(ctx) }
	case f.device:
		cfg := oauth2.Config{ClientID: devidp.DefaultSPAClientID, Endpoint: endpoint, Scopes: f.fullScopes()}
		fetch = func() (*oauth2.Token, error) {
			da, err := cfg.DeviceAuth(ctx)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(prompt, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
			return cfg.DeviceAccessToken(ctx, da)
		}
	default:
		cfg := oauth2.Config{ClientID: devidp.DefaultSPAClientID, Endpoint: endpoint, Scopes: f.fullScopes()}
		fetch = func() (*oauth2.Token, error) { return cfg.PasswordCredentialsToken(ctx, f.user, f.password) }
	}
	src, err := bearer.FromOAuth2(tokenFunc(func() (*oauth2.Token, error) {
		tok, err := fetch()
		var re *oauth2.RetrieveError
		if err != nil && !errors.As(err, &re) {
			err = fmt.Errorf("is the server running (make run)? %w", err)
		}
		return tok, err
	}), bearer.WithFetchTimeout(waitForUser))
	return src, err
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

// tokenFunc is an oauth2.TokenSource from a function.
type tokenFunc func() (*oauth2.Token, error)

func (fn tokenFunc) Token() (*oauth2.Token, error) { return fn() }
