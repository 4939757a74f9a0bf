package devidp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
)

// The provider stands in for Entra ID in development: mounted under a path
// prefix of a server, as the serving kit's development mode mounts it at
// /dev-idp/, it signs users and daemons in, and a validator pointed at its
// authority takes the same path as in production (discovery, key set,
// signature, claims). Tests start one with entratest.NewServer instead.
func Example() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	idp, err := devidp.NewProvider(srv.URL+"/dev-idp", itemsAccounts()...)
	if err != nil {
		panic(err)
	}
	mux.Handle("/dev-idp/", idp)

	v, err := entra.NewValidator(
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	)
	if err != nil {
		panic(err)
	}
	// bob signs in with his password, as `grpc-azure-auth token -user bob`
	// does.
	resp, err := http.PostForm(idp.TokenURL(), url.Values{
		"grant_type": {"password"},
		"client_id":  {devidp.DefaultSPAClientID},
		"username":   {"bob"},
		"password":   {"dev"},
		"scope":      {idp.AppIDURI() + "/Items.Read"},
	})
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		panic(err)
	}
	claims, err := v.Validate(context.Background(), body.AccessToken)
	fmt.Println(resp.Status, claims.PreferredUsername, claims.Scopes, err)
	// Output:
	// 200 OK bob Items.Read <nil>
}

// Issue makes development tokens without a round trip: each option
// changes one thing of a valid token.
func ExampleProvider_Issue() {
	idp, err := devidp.NewProvider("http://localhost:8000/dev-idp", itemsAccounts()...)
	if err != nil {
		panic(err)
	}
	for _, tok := range []string{
		idp.Issue(), // alice, with all her scopes
		idp.Issue(devidp.ForUser("bob")),
		idp.Issue(devidp.ForUser("alice"), devidp.Scopes("Items.Write"), devidp.Roles("Items.Admin")),
		idp.Issue(devidp.ForApp("reporting-daemon")),
	} {
		c := claimsOf(tok)
		who := c["preferred_username"]
		if c["preferred_username"] == nil { // an app: no user, no scp
			who = "app " + c["azp"].(string)
		}
		fmt.Printf("%v: scp=%v roles=%v\n", who, c["scp"], c["roles"])
	}
	fmt.Println(claimsOf(idp.Issue())["iss"])
	// Output:
	// alice: scp=Items.Read Items.Write roles=<nil>
	// bob: scp=Items.Read roles=<nil>
	// alice: scp=Items.Write roles=[Items.Admin]
	// app 7e1d2c3b-4a5f-4b6c-8d7e-9f0a1b2c3d4e: scp=<nil> roles=[Items.Export]
	// http://localhost:8000/dev-idp/8b5fd8f4-6f3b-4c7e-9d1a-2f0e3c4b5a69/v2.0
}

// A device signs a user in with the device authorization grant: it gets a
// user code, the user approves it (on the verification page, or here in
// code, as bob), and the device's next poll gets bob's token.
func ExampleProvider_ApproveDeviceCode() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	idp, err := devidp.NewProvider(srv.URL, itemsAccounts()...)
	if err != nil {
		panic(err)
	}
	mux.Handle("/", idp)
	postForm := func(u string, form url.Values) map[string]any {
		resp, err := http.PostForm(u, form)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	client := url.Values{"client_id": {devidp.DefaultSPAClientID}, "scope": {idp.AppIDURI() + "/Items.Read"}}
	dev := postForm(idp.DeviceCodeURL(), client)
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": client["client_id"], "device_code": {dev["device_code"].(string)}}

	fmt.Println(postForm(idp.TokenURL(), poll)["error"])
	if err := idp.ApproveDeviceCode(dev["user_code"].(string), "bob"); err != nil {
		panic(err)
	}
	fmt.Println(claimsOf(postForm(idp.TokenURL(), poll)["access_token"].(string))["preferred_username"])
	// Output:
	// authorization_pending
	// bob
}

// itemsAccounts gives devidp's users and apps, which have no permissions
// of their own, those of an API: alice may read and write items, bob may
// read them, reporting-daemon may export them. The serving kit's
// development mode gives them those its rules name.
func itemsAccounts() []devidp.Option {
	users, apps := devidp.DefaultUsers(), devidp.DefaultApps()
	users[0].Scopes = []string{"Items.Read", "Items.Write"}
	users[1].Scopes = []string{"Items.Read"}
	apps[0].Roles = []string{"Items.Export"}
	apps[1].Roles = []string{"Items.Admin", "Items.Export"}
	return []devidp.Option{devidp.WithUsers(users...), devidp.WithApps(apps...)}
}

// claimsOf decodes a token's claims without verifying it.
func claimsOf(token string) map[string]any {
	_, payload, _ := strings.Cut(token, ".")
	payload, _, _ = strings.Cut(payload, ".")
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		panic(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return c
}

// Development mode keeps its signing key in a directory (the user's cache
// directory by default, devidp.DefaultStateDir): a provider given the
// same key after a restart still publishes the key of tokens issued
// before it.
func ExampleLoadOrCreateSigningKey() {
	dir, err := os.MkdirTemp("", "devidp-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	key, err := devidp.LoadOrCreateSigningKey(dir) // made and kept, mode 0600
	if err != nil {
		panic(err)
	}
	before, _ := devidp.NewProvider("http://127.0.0.1:8000/dev-idp", devidp.WithKey(key))
	token := before.Issue(devidp.ForUser("bob"))

	// The next run reads the same key.
	again, _ := devidp.LoadOrCreateSigningKey(dir)
	after, _ := devidp.NewProvider("http://127.0.0.1:8000/dev-idp", devidp.WithKey(again))
	fmt.Println(after.Unsigned().KeyID == headerOf(token)["kid"])
	// Output: true
}

// headerOf returns a token's protected header.
func headerOf(tok string) map[string]any {
	h, _, _ := strings.Cut(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(h)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
