package devidp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// stringsClaim is the array of strings claim name of c, or nil.
func stringsClaim(c map[string]any, name string) []string {
	arr, _ := c[name].([]any)
	var out []string
	for _, v := range arr {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// withPermissions gives the default users a scope and the default apps a
// role, which they do not carry by themselves.
func withPermissions() []devidp.Option {
	users, apps := devidp.DefaultUsers(), devidp.DefaultApps()
	for i := range users {
		users[i].Scopes = []string{"Items.Read"}
	}
	for i := range apps {
		apps[i].Roles = []string{"Items.Admin"}
	}
	return []devidp.Option{devidp.WithUsers(users...), devidp.WithApps(apps...)}
}

func TestTokenEndpointHonoursTheClaimsParameter(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	user := func(claims string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {devidp.DefaultSPAClientID}, "username": {"alice"}, "password": {"dev"},
			"scope": {"api://" + devidp.DefaultClientID + "/.default"}, "claims": {claims}}
	}
	app := func(claims string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {devidp.AdminDaemonClientID}, "client_secret": {"dev-secret"},
			"scope": {"api://" + devidp.DefaultClientID + "/.default"}, "claims": {claims}}
	}
	tests := []struct {
		name      string
		form      url.Values
		acrs, xcc []string
	}{
		{"no claims parameter gives neither acrs nor xms_cc", user(""), nil, nil},
		{"an essential acrs value is satisfied", user(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`), []string{"c1"}, nil},
		{"acrs values are all satisfied", user(`{"access_token":{"acrs":{"values":["c2","c1","c2"]}}}`), []string{"c1", "c2"}, nil},
		{"a non-essential acrs value is satisfied", user(`{"access_token":{"acrs":{"essential":false,"value":"c99"}}}`), []string{"c99"}, nil},
		{"the cp1 capability appears in xms_cc", user(`{"access_token":{"xms_cc":{"values":["cp1"]}}}`), nil, []string{"cp1"}},
		{"a challenge merged with cp1 gives both", user(`{"access_token":{"xms_cc":{"values":["cp1"]},"acrs":{"essential":true,"value":"c1"}}}`), []string{"c1"}, []string{"cp1"}},
		{"capabilities are lower-cased, as Entra emits them", user(`{"access_token":{"xms_cc":{"values":["CP1","cp1"]}}}`), nil, []string{"cp1"}},
		{"a CAE nbf request is read and ignored", user(`{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}`), nil, nil},
		{"an app-only token never carries acrs", app(`{"access_token":{"acrs":{"essential":true,"value":"c1"},"xms_cc":{"values":["cp1"]}}}`), nil, []string{"cp1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postForm(t, srv.Client(), p.TokenURL(), tt.form)
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, body)
			}
			c := payload(t, body["access_token"].(string))
			if got := stringsClaim(c, "acrs"); !slices.Equal(got, tt.acrs) {
				t.Errorf("acrs %v, want %v", got, tt.acrs)
			}
			if got := stringsClaim(c, "xms_cc"); !slices.Equal(got, tt.xcc) {
				t.Errorf("xms_cc %v, want %v", got, tt.xcc)
			}
		})
	}
}

func TestMalformedClaimsParameterIsInvalidRequest(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	tests := []struct{ name, claims string }{
		{"not JSON", `{"access_token":`},
		{"not an object", `["access_token"]`},
		{"null", `null`},
		{"an unknown member", `{"refresh_token":{}}`},
		{"a member in another case", `{"Access_Token":{"acrs":{"value":"c1"}}}`},
		{"a member given twice", `{"access_token":{"acrs":{"value":"c1"}},"access_token":{}}`},
		{"a claim given twice", `{"access_token":{"acrs":{"value":"c1"},"acrs":{"value":"c2"}}}`},
		{"value and values both", `{"access_token":{"acrs":{"value":"c1","values":["c2"]}}}`},
		{"essential not a boolean", `{"access_token":{"acrs":{"essential":"true","value":"c1"}}}`},
		{"an unknown member of a claim request", `{"access_token":{"acrs":{"value":"c1","optional":true}}}`},
		{"an acrs value that is not a context ID", `{"access_token":{"acrs":{"value":"c100"}}}`},
		{"an acrs value that is not a string", `{"access_token":{"acrs":{"value":1}}}`},
		{"an acrs value null", `{"access_token":{"acrs":{"value":null}}}`},
		{"a capability with a space", `{"access_token":{"xms_cc":{"values":["cp 1"]}}}`},
		{"too many values", `{"access_token":{"acrs":{"values":["c1","c2","c3","c4","c5","c6","c7","c8","c9","c10","c11","c12","c13","c14","c15","c16","c17"]}}}`},
		{"too long", `{"access_token":{"nbf":{"value":"` + strings.Repeat("1", 5000) + `"}}}`},
		{"invalid UTF-8", "{\"access_token\":{\"x\xff\":null}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"dev"},
				"scope": {"api://" + devidp.DefaultClientID + "/.default"}, "claims": {tt.claims}}
			status, body := postForm(t, srv.Client(), p.TokenURL(), form)
			desc, _ := body["error_description"].(string)
			if status != http.StatusBadRequest || body["error"] != "invalid_request" || !strings.HasPrefix(desc, "AADSTS50117:") {
				t.Fatalf("%d %v, want 400 invalid_request AADSTS50117", status, body)
			}
		})
	}
	t.Run("a claims parameter given twice", func(t *testing.T) {
		form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"dev"},
			"scope":  {"api://" + devidp.DefaultClientID + "/.default"},
			"claims": {`{"access_token":{"acrs":{"value":"c1"}}}`, `{}`}}
		if status, body := postForm(t, srv.Client(), p.TokenURL(), form); status != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Fatalf("%d %v, want 400 invalid_request", status, body)
		}
	})
}

func TestDeviceCodeGrantHonoursTheClaimsParameter(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	const claims = `{"access_token":{"xms_cc":{"values":["cp1"]},"acrs":{"essential":true,"value":"c1"}}}`
	resp, err := srv.Client().PostForm(p.DeviceCodeURL(), url.Values{"client_id": {devidp.DefaultSPAClientID},
		"scope": {"api://" + devidp.DefaultClientID + "/Items.Read"}, "claims": {claims}})
	if err != nil {
		t.Fatal(err)
	}
	var dev map[string]any
	err = json.NewDecoder(resp.Body).Decode(&dev)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %v %v", resp.Status, dev, err)
	}
	if err := p.ApproveDeviceCode(dev["user_code"].(string), "bob"); err != nil {
		t.Fatal(err)
	}
	status, body := postForm(t, srv.Client(), p.TokenURL(), url.Values{"grant_type": {"device_code"}, "client_id": {devidp.DefaultSPAClientID},
		"device_code": {dev["device_code"].(string)}, "claims": {claims}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	c := payload(t, body["access_token"].(string))
	if acrs, xcc := stringsClaim(c, "acrs"), stringsClaim(c, "xms_cc"); !slices.Equal(acrs, []string{"c1"}) || !slices.Equal(xcc, []string{"cp1"}) {
		t.Fatalf("acrs %v xms_cc %v, want [c1] [cp1]", acrs, xcc)
	}

	resp, err = srv.Client().PostForm(p.DeviceCodeURL(), url.Values{"client_id": {devidp.DefaultSPAClientID},
		"scope": {"api://" + devidp.DefaultClientID + "/Items.Read"}, "claims": {`{"access_token":`}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed claims parameter at the device code endpoint: %s, want 400", resp.Status)
	}
}

func TestIssueWithAuthContextsAndClientCapabilities(t *testing.T) {
	p, err := devidp.NewProvider("http://127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := payload(t, p.Issue(devidp.AuthContexts("c1", "c2"), devidp.ClientCapabilities("cp1")))
	if acrs, xcc := stringsClaim(c, "acrs"), stringsClaim(c, "xms_cc"); !slices.Equal(acrs, []string{"c1", "c2"}) || !slices.Equal(xcc, []string{"cp1"}) {
		t.Fatalf("acrs %v xms_cc %v", acrs, xcc)
	}
	c = payload(t, p.Issue(devidp.AuthContexts(), devidp.ClientCapabilities()))
	if _, ok := c["acrs"]; ok {
		t.Error("AuthContexts() gives an acrs claim")
	}
	if _, ok := c["xms_cc"]; ok {
		t.Error("ClientCapabilities() gives an xms_cc claim")
	}
}
