package entratest_test

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/exampletb"
)

// A device signs a user in with the device authorization grant: it gets a
// user code, the user approves it (here the test, as bob), and the
// device's next poll gets bob's token.
func ExampleProvider_ApproveDeviceCode() {
	tb := new(exampletb.TB)
	defer tb.Close()
	idp := entratest.NewServer(tb)
	postForm := func(u string, form url.Values) map[string]any {
		resp, err := idp.Client().PostForm(u, form)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	client := url.Values{"client_id": {entratest.DefaultSPAClientID}, "scope": {idp.AppIDURI() + "/Items.Read"}}
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
