// Command grpc-azure-auth runs the example API and fetches development
// tokens.
//
//	grpc-azure-auth serve                      # the server (make run)
//	grpc-azure-auth token -user bob -scopes Items.Read
//	grpc-azure-auth token -app admin-daemon    # client credentials
//
// serve reads its configuration from the environment and ./.env (see
// package server). token asks the running server's development identity
// provider for a token and prints it, so that
//
//	grpcurl -plaintext -H "authorization: Bearer $(grpc-azure-auth token)" localhost:50051 list
//
// works in one line.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve()
	case "token":
		err = token(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpc-azure-auth:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: grpc-azure-auth serve | token [-user NAME | -app CLIENT] [-scopes 'A B']")
	os.Exit(2)
}

func serve() error {
	cfg, err := server.LoadConfig(os.Environ(), ".env")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	srv, err := server.New(cfg, logger)
	if err != nil {
		return err
	}
	if idp := srv.DevIDP(); idp != nil {
		printDevHelp(idp, srv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Serve(ctx)
}

func printDevHelp(idp *entratest.Provider, srv *server.Server) {
	fmt.Fprintf(os.Stderr, "\nNo AZURE_TENANT_ID: using the development identity provider at %s\n", idp.Authority())
	fmt.Fprintln(os.Stderr, "Development users (password \"dev\") and apps (secret \"dev-secret\"):")
	for _, u := range idp.Users() {
		fmt.Fprintf(os.Stderr, "  user %-8s scopes: %s; roles: %s\n", u.Username, strings.Join(u.Scopes, " "), strings.Join(u.Roles, " "))
	}
	for _, a := range idp.Apps() {
		fmt.Fprintf(os.Stderr, "  app  %-18s roles: %s\n", a.ClientID, strings.Join(a.Roles, " "))
	}
	fmt.Fprintf(os.Stderr, "Try:\n  grpcurl -plaintext -H \"authorization: Bearer $(make -s token AS=bob SCOPES=Items.Read)\" %s example.items.v1.ItemService/ListItems\n\n", srv.GRPCAddr())
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	base := fs.String("server", "", "base URL of the running server's HTTP listener (default: HTTP_ADDR from the environment or .env, as make run reads it)")
	user := fs.String("user", "alice", "development user to sign in as")
	password := fs.String("password", "dev", "the user's password")
	app := fs.String("app", "", "development app (client ID) to get an app-only token for, instead of a user")
	secret := fs.String("secret", "dev-secret", "the app's client secret")
	scopes := fs.String("scopes", "", "space-separated short scope names (default: every scope the user has)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" {
		cfg, err := server.LoadConfig(os.Environ(), ".env") // the HTTP_ADDR make run listens on
		if err != nil {
			return err
		}
		*base = "http://" + cfg.HTTPAddr
	}
	api := "api://" + entratest.DefaultClientID
	form := url.Values{}
	if *app != "" {
		form.Set("grant_type", "client_credentials")
		form.Set("client_id", *app)
		form.Set("client_secret", *secret)
		form.Set("scope", api+"/.default")
	} else {
		form.Set("grant_type", "password")
		form.Set("client_id", entratest.DefaultSPAClientID)
		form.Set("username", *user)
		form.Set("password", *password)
		full := []string{api + "/.default"}
		if *scopes != "" {
			full = nil
			for _, s := range strings.Fields(*scopes) {
				full = append(full, api+"/"+s)
			}
		}
		form.Set("scope", strings.Join(full, " "))
	}
	endpoint := strings.TrimSuffix(*base, "/") + server.DevIDPPath + "/" + entratest.DefaultTenantID + "/oauth2/v2.0/token"
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.PostForm(endpoint, form)
	if err != nil {
		return fmt.Errorf("is the server running (make run)? %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return fmt.Errorf("token endpoint answered %s: %w", resp.Status, err)
	}
	if body.AccessToken == "" {
		return errors.New("token endpoint: " + body.Error + ": " + body.Description)
	}
	fmt.Println(body.AccessToken)
	return nil
}
