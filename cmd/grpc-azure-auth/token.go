package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

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
