package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://login.microsoftonline.com/t/v2.0", true},
		{"http://127.0.0.1:8000/dev-idp", true},
		{"http://127.9.9.9:1", true},
		{"http://localhost:8000", true},
		{"http://[::1]:8000", true},
		{"http://login.microsoftonline.com", false},
		{"http://127.0.0.1.evil.example", false},
		{"http://localhost.evil.example", false},
		{"ftp://example.com", false},
		{"https://", false},
		{"https://user:pw@example.com", false},
		{"https://example.com/#frag", false},
		{"//example.com", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		_, err := checkURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("checkURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func rsaKey(t testing.TB) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return testKey
}

func jwksJSON(t testing.TB, entries ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": entries})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rsaEntry(t testing.TB, pub *rsa.PublicKey, extra map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.FromRaw(pub)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(k)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for name, v := range extra {
		if v == nil {
			delete(m, name)
		} else {
			m[name] = v
		}
	}
	return m
}

func TestParseJWKS(t *testing.T) {
	pub := &rsaKey(t).PublicKey
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		body  []byte
		kids  []string
		error string
	}{
		{"an Entra-shaped key set without alg is usable", jwksJSON(t, rsaEntry(t, pub, map[string]any{"kid": "k1", "use": "sig", "issuer": "https://iss"})), []string{"k1"}, ""},
		{"a key without use is usable", jwksJSON(t, rsaEntry(t, pub, map[string]any{"kid": "k1"})), []string{"k1"}, ""},
		{"an encryption key is skipped", jwksJSON(t, rsaEntry(t, pub, map[string]any{"kid": "enc", "use": "enc"}), rsaEntry(t, pub, map[string]any{"kid": "k1"})), []string{"k1"}, ""},
		{"a key without kid is skipped", jwksJSON(t, rsaEntry(t, pub, nil), rsaEntry(t, pub, map[string]any{"kid": "k1"})), []string{"k1"}, ""},
		{"a 1024-bit key is skipped", jwksJSON(t, rsaEntry(t, &small.PublicKey, map[string]any{"kid": "weak"}), rsaEntry(t, pub, map[string]any{"kid": "k1"})), []string{"k1"}, ""},
		{"an oct (HMAC) key is skipped", jwksJSON(t, map[string]any{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}, rsaEntry(t, pub, map[string]any{"kid": "k1"})), []string{"k1"}, ""},
		{"a kid listed twice is dropped", jwksJSON(t, rsaEntry(t, pub, map[string]any{"kid": "d"}), rsaEntry(t, pub, map[string]any{"kid": "d"}), rsaEntry(t, pub, map[string]any{"kid": "k1"})), []string{"k1"}, ""},
		{"a set with no usable key is an error", jwksJSON(t, rsaEntry(t, pub, map[string]any{"kid": "enc", "use": "enc"})), nil, "no usable"},
		{"an empty set is an error", []byte(`{"keys":[]}`), nil, "no usable"},
		{"garbage is an error", []byte(`<html>`), nil, "not a key set"},
		{"too many keys is an error", jwksJSON(t, manyEntries(t, pub, maxKeys+1)...), nil, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseJWKS(tt.body)
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("err = %v, want %q", err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tt.kids) {
				t.Fatalf("got %d keys, want %v", len(keys), tt.kids)
			}
			for _, kid := range tt.kids {
				if keys[kid] == nil || keys[kid].key.N.Cmp(pub.N) != 0 {
					t.Fatalf("key %q missing or wrong", kid)
				}
			}
		})
	}
}

func manyEntries(t testing.TB, pub *rsa.PublicKey, n int) []map[string]any {
	var out []map[string]any
	for i := 0; i < n; i++ {
		out = append(out, rsaEntry(t, pub, map[string]any{"kid": strings.Repeat("k", i+1)}))
	}
	return out
}

func TestParseDiscovery(t *testing.T) {
	tests := []struct {
		name, body, error string
	}{
		{"an Entra-shaped document is read", `{"issuer":"https://login.microsoftonline.com/t/v2.0","jwks_uri":"https://login.microsoftonline.com/t/discovery/v2.0/keys"}`, ""},
		{"a document without issuer is refused", `{"jwks_uri":"https://x/keys"}`, "no issuer"},
		{"a document without jwks_uri is refused", `{"issuer":"https://x"}`, "no jwks_uri"},
		{"an http jwks_uri off loopback is refused", `{"issuer":"https://x","jwks_uri":"http://x/keys"}`, "https"},
		{"a non-object is refused", `[1,2]`, "not a discovery document"},
		{"a wrongly typed issuer is refused", `{"issuer":5}`, "not a discovery document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDiscovery([]byte(tt.body))
			if (err == nil) != (tt.error == "") || (err != nil && !strings.Contains(err.Error(), tt.error)) {
				t.Fatalf("err = %v, want %q", err, tt.error)
			}
		})
	}
}

func FuzzParseJWKS(f *testing.F) {
	pub := &rsaKey(f).PublicKey
	f.Add(jwksJSON(f, rsaEntry(f, pub, map[string]any{"kid": "k1", "use": "sig"})))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"x"}]}`))
	f.Add([]byte(`{"keys":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := parseJWKS(body)
		if err != nil {
			return
		}
		if len(keys) == 0 || len(keys) > maxKeys {
			t.Fatalf("%d keys without error", len(keys))
		}
		for kid, k := range keys {
			if kid == "" || k.key.N.BitLen() < minRSABits {
				t.Fatalf("unusable key %q accepted", kid)
			}
		}
	})
}

func FuzzParseDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://login.microsoftonline.com/t/v2.0","jwks_uri":"https://login.microsoftonline.com/t/discovery/v2.0/keys"}`))
	f.Add([]byte(`{"issuer":"http://127.0.0.1/x","jwks_uri":"http://127.0.0.1/keys"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseDiscovery(body)
		if err != nil {
			return
		}
		if _, err := checkURL(m.JWKSURI); err != nil {
			t.Fatalf("accepted jwks_uri %q: %v", m.JWKSURI, err)
		}
		if m.Issuer == "" {
			t.Fatal("accepted empty issuer")
		}
	})
}
