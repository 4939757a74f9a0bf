package entratest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// clock is a settable clock for the provider.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startDevice asks for a device code and returns the answer.
func startDevice(t *testing.T, idp *entratest.Server, clientID, scope string) map[string]any {
	t.Helper()
	code, body := post(t, idp.Client(), idp.DeviceCodeURL(), url.Values{"client_id": {clientID}, "scope": {scope}})
	if code != http.StatusOK {
		t.Fatalf("devicecode: %d %v", code, body)
	}
	return body
}

// poll polls the token endpoint once with a device code.
func poll(t *testing.T, idp *entratest.Server, grant, clientID string, dev map[string]any) (int, map[string]any) {
	t.Helper()
	return post(t, idp.Client(), idp.TokenURL(), url.Values{
		"grant_type": {grant}, "client_id": {clientID}, "device_code": {dev["device_code"].(string)},
	})
}

func TestDeviceCodeGrant(t *testing.T) {
	clk := &clock{now: time.Now()}
	idp := entratest.NewServer(t, entratest.WithClock(clk.Now), entratest.WithPublicClient("my-cli"))
	api := idp.AppIDURI()

	t.Run("the device code answer has every field Entra's has", func(t *testing.T) {
		dev := startDevice(t, idp, "my-cli", api+"/Items.Read openid offline_access")
		if dev["verification_uri"] != idp.DeviceLoginURL() || dev["expires_in"] != float64(900) || dev["interval"] != float64(5) {
			t.Fatalf("answer %v", dev)
		}
		uc, _ := dev["user_code"].(string)
		msg, _ := dev["message"].(string)
		if len(uc) != 9 || !strings.Contains(msg, uc) || !strings.Contains(msg, idp.DeviceLoginURL()) || len(dev["device_code"].(string)) < 40 {
			t.Fatalf("answer %v", dev)
		}
	})
	for _, grant := range []string{"urn:ietf:params:oauth:grant-type:device_code", "device_code"} {
		t.Run("polling with grant "+grant+" is pending until the user approves, then gives the token once", func(t *testing.T) {
			dev := startDevice(t, idp, "my-cli", api+"/Items.Read "+api+"/Items.Write")
			code, body := poll(t, idp, grant, "my-cli", dev)
			if code != 400 || body["error"] != "authorization_pending" {
				t.Fatalf("before approval: %d %v", code, body)
			}
			checkEntraError(t, body, "AADSTS70016")
			if err := idp.ApproveDeviceCode(dev["user_code"].(string), "bob"); err != nil {
				t.Fatal(err)
			}
			code, body = poll(t, idp, grant, "my-cli", dev)
			if code != 200 {
				t.Fatalf("after approval: %d %v", code, body)
			}
			tok, _ := body["access_token"].(string)
			if err := verify(t, idp, tok); err != nil {
				t.Fatal(err)
			}
			_, c := parts(t, tok)
			checkClaims(t, c, map[string]any{"preferred_username": "bob", "scp": "Items.Read", "azp": "my-cli", "aud": idp.ClientID()}, []string{"idtyp"})
			if code, body = poll(t, idp, grant, "my-cli", dev); code != 400 || body["error"] != "bad_verification_code" {
				t.Fatalf("second redemption: %d %v", code, body)
			}
		})
	}
	failures := []struct {
		name   string
		decide func(t *testing.T, userCode string)
		client string
		error  string
		aadsts string
	}{
		{"a declined code is authorization_declined", func(t *testing.T, uc string) {
			if err := idp.DeclineDeviceCode(uc); err != nil {
				t.Fatal(err)
			}
		}, "my-cli", "authorization_declined", "AADSTS70020"},
		{"an expired code is expired_token", func(*testing.T, string) { clk.Add(15 * time.Minute) }, "my-cli", "expired_token", "AADSTS70019"},
		{"another client's poll is invalid_grant", func(*testing.T, string) {}, entratest.DefaultSPAClientID, "invalid_grant", "AADSTS70000"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			dev := startDevice(t, idp, "my-cli", api+"/Items.Read")
			tt.decide(t, dev["user_code"].(string))
			code, body := poll(t, idp, "device_code", tt.client, dev)
			if code != 400 || body["error"] != tt.error {
				t.Fatalf("%d %v, want %s", code, body, tt.error)
			}
			checkEntraError(t, body, tt.aadsts)
		})
	}
	t.Run("approval is refused for unknown codes, spent codes, unknown users and users without the scopes", func(t *testing.T) {
		if err := idp.ApproveDeviceCode("BCDFGHJKL", "bob"); !errors.Is(err, entratest.ErrNoDeviceCode) {
			t.Fatalf("unknown code: %v", err)
		}
		dev := startDevice(t, idp, "my-cli", api+"/Items.Write")
		uc := dev["user_code"].(string)
		if err := idp.ApproveDeviceCode(uc, "mallory"); !errors.Is(err, entratest.ErrDeviceCodeUser) {
			t.Fatalf("unknown user: %v", err)
		}
		if err := idp.ApproveDeviceCode(uc, "bob"); !errors.Is(err, entratest.ErrDeviceCodeUser) {
			t.Fatalf("bob has no Items.Write: %v", err)
		}
		if err := idp.ApproveDeviceCode(strings.ToLower(uc[:4])+"-"+uc[4:], "alice"); err != nil {
			t.Fatalf("the code typed in lower case with a dash: %v", err)
		}
		if err := idp.DeclineDeviceCode(uc); !errors.Is(err, entratest.ErrNoDeviceCode) {
			t.Fatalf("decided twice: %v", err)
		}
	})
	t.Run("device code requests are checked", func(t *testing.T) {
		for _, tc := range []struct {
			form         url.Values
			error, aadst string
		}{
			{url.Values{"client_id": {entratest.AdminDaemonClientID}, "scope": {api + "/Items.Read"}}, "unauthorized_client", "AADSTS700016"},
			{url.Values{"client_id": {"my-cli"}, "scope": {"openid profile"}}, "invalid_scope", "AADSTS70011"},
			{url.Values{"client_id": {"my-cli"}}, "invalid_request", "AADSTS900144"},
		} {
			code, body := post(t, idp.Client(), idp.DeviceCodeURL(), tc.form)
			if code != 400 || body["error"] != tc.error {
				t.Errorf("%v: %d %v, want %s", tc.form, code, body, tc.error)
				continue
			}
			checkEntraError(t, body, tc.aadst)
		}
	})
}

func TestDeviceCodesAreBounded(t *testing.T) {
	clk := &clock{now: time.Now()}
	idp := entratest.NewServer(t, entratest.WithClock(clk.Now))
	form := url.Values{"client_id": {entratest.DefaultSPAClientID}, "scope": {idp.AppIDURI() + "/.default"}}
	for i := range 256 {
		if code, body := post(t, idp.Client(), idp.DeviceCodeURL(), form); code != 200 {
			t.Fatalf("code %d: %d %v", i, code, body)
		}
	}
	code, body := post(t, idp.Client(), idp.DeviceCodeURL(), form)
	if code != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" {
		t.Fatalf("257th waiting code: %d %v", code, body)
	}
	clk.Add(15 * time.Minute)
	if code, body := post(t, idp.Client(), idp.DeviceCodeURL(), form); code != 200 {
		t.Fatalf("once the others expired: %d %v", code, body)
	}
}

func TestDeviceLoginPage(t *testing.T) {
	idp := entratest.NewServer(t)
	dev := startDevice(t, idp, entratest.DefaultSPAClientID, idp.AppIDURI()+"/.default")
	uc := dev["user_code"].(string)
	page := func(t *testing.T, method string, form url.Values, origin string, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, idp.DeviceLoginURL(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := idp.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Run("the page lists the users and asks for the code", func(t *testing.T) {
		code, body := page(t, http.MethodGet, nil, "")
		if code != 200 || !strings.Contains(body, `id="user-alice"`) || !strings.Contains(body, `name="user_code"`) {
			t.Fatalf("%d %s", code, body)
		}
	})
	// A page on any site can post a form here: from a sandboxed iframe
	// its Origin is "null", and a browser that sends no Origin still says
	// where the form came from in Sec-Fetch-Site.
	for _, tt := range []struct {
		name    string
		origin  string
		headers []string
	}{
		{"a form from another origin is refused", "https://evil.example", nil},
		{"a form from an opaque origin (a sandboxed iframe) is refused", "null", nil},
		{"a form from another site without Origin is refused", "", []string{"Sec-Fetch-Site", "cross-site"}},
		{"a form from a sibling origin without Origin is refused", "", []string{"Sec-Fetch-Site", "same-site"}},
		{"a form from another origin that also says same-origin is refused", "https://evil.example", []string{"Sec-Fetch-Site", "same-origin"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, _ := page(t, http.MethodPost, url.Values{"user_code": {uc}, "username": {"alice"}}, tt.origin, tt.headers...); code != http.StatusForbidden {
				t.Fatalf("%d, want 403", code)
			}
		})
	}
	t.Run("a wrong code says so", func(t *testing.T) {
		code, body := page(t, http.MethodPost, url.Values{"user_code": {"<b>nope</b>"}, "username": {"alice"}}, "")
		if code != 400 || !strings.Contains(body, "no device is waiting") || strings.Contains(body, "<b>nope") {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("picking a user approves the device", func(t *testing.T) {
		code, body := page(t, http.MethodPost, url.Values{"user_code": {uc}, "username": {"alice"}}, idp.Authority(), "Sec-Fetch-Site", "same-origin")
		if code != 200 || !strings.Contains(body, "Signed in as alice") {
			t.Fatalf("%d %s", code, body)
		}
		if code, body := poll(t, idp, "device_code", entratest.DefaultSPAClientID, dev); code != 200 {
			t.Fatalf("poll after approval: %d %v", code, body)
		}
	})
}

// FuzzDeviceLoginPage posts anything to the verification page: it never
// crashes, and only the pending code, entered as the user would, signs a
// configured user in.
func FuzzDeviceLoginPage(f *testing.F) {
	for _, seed := range [][2]string{{"BCDFGHJKL", "bob"}, {"bcd-fgh-jkl", "alice"}, {"<b>x</b>", "bob"}, {"", ""}, {"\x00\xff", "mallory"}} {
		f.Add(seed[0], seed[1], false)
	}
	f.Add("", "bob", true)
	f.Fuzz(func(t *testing.T, code, username string, decline bool) {
		p, err := entratest.NewProvider("https://login.microsoftonline.us")
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, p.DeviceCodeURL(), strings.NewReader(url.Values{
			"client_id": {entratest.DefaultSPAClientID}, "scope": {p.AppIDURI() + "/Items.Read"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		var dev map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &dev); err != nil || dev["user_code"] == nil {
			t.Fatalf("devicecode: %v %s", err, rec.Body)
		}
		if code == "BCDFGHJKL" { // the seed stands for the pending code
			code = dev["user_code"].(string)
		}
		form := url.Values{"user_code": {code}, "username": {username}}
		if decline {
			form.Set("decline", "1")
		}
		req = httptest.NewRequest(http.MethodPost, p.DeviceLoginURL(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec = httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		norm := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
		want := http.StatusBadRequest
		if norm == dev["user_code"] && (decline || username == "alice" || username == "bob") {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Fatalf("code %q, user %q, decline %v: %d, want %d (pending code %v)", code, username, decline, rec.Code, want, dev["user_code"])
		}
	})
}
