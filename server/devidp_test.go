package server_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

func TestDevIdentityProviderSignsInTheServicesOwnUsers(t *testing.T) {
	carol := entratest.User{Name: "Carol Clerk", Username: "carol", ObjectID: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", Password: "dev",
		Scopes: []string{"Items.Write"}}
	srv := servertest.Start(t, server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"},
		append(example(), server.WithLogger(slog.New(slog.DiscardHandler)),
			server.WithDevIdentityProvider(entratest.WithUsers(carol)))...)

	passwordToken(t, srv.Server, "carol", "Items.Write")
	resp, err := http.PostForm(srv.DevIDP().TokenURL(), url.Values{
		"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"alice"}, "password": {"dev"},
		"scope": {srv.DevIDP().AppIDURI() + "/Items.Read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("alice, replaced by the service's users, signs in: %s", resp.Status)
	}
}

func TestInvalidDevIdentityProviderOptionsFailNew(t *testing.T) {
	_, err := server.New(server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"},
		append(example(), server.WithLogger(slog.New(slog.DiscardHandler)),
			server.WithDevIdentityProvider(entratest.WithUsers(entratest.User{Name: "no username"})))...)
	if err == nil || !strings.Contains(err.Error(), "usernames must be unique and non-empty") {
		t.Fatalf("New = %v, want an error about the user without a username", err)
	}
}
