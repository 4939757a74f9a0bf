package server

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzIsHostOfAcceptsOnlyTheNames checks every accepted Host against
// net/url: its hostname is one of the names and its port is a number.
func FuzzIsHostOfAcceptsOnlyTheNames(f *testing.F) {
	names := []string{"localhost", "127.0.0.1", "[::1]", "127.0.0.10"}
	for _, seed := range []string{
		"localhost", "localhost:8000", "LocalHost:8000", "127.0.0.1:8000", "[::1]:8000", "[::1]", "127.0.0.10:8000",
		"", "attacker.example", "localhost.attacker.example:8000", "localhost:8000.attacker.example",
		"127.0.0.1.attacker.example", "0.0.0.0:8000", "::1", "localhost:", "[localhost]:8000", "localhoſt", "127.0.0.100",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !isHostOf(host, names) {
			return
		}
		u := &url.URL{Host: host}
		name, port := strings.ToLower(u.Hostname()), u.Port()
		if strings.Contains(name, ":") {
			name = "[" + name + "]"
		}
		if !slices.Contains(names, name) {
			t.Fatalf("%q accepted: hostname %q", host, u.Hostname())
		}
		if strings.Trim(port, "0123456789") != "" || strings.HasSuffix(host, ":") {
			t.Fatalf("%q accepted: port %q", host, port)
		}
	})
}
