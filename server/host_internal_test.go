package server

import (
	"net"
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

// A development server refuses a listener whose address is off loopback,
// whatever name it was given (a "localhost" resolving elsewhere).
func TestBoundToLoopback(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		ok   bool
	}{
		{"127.0.0.1 is loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}, true},
		{"127.0.0.53 is loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 53), Port: 8000}, true},
		{"::1 is loopback", &net.TCPAddr{IP: net.IPv6loopback, Port: 8000}, true},
		{"an address off loopback is refused", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8000}, false},
		{"the unspecified address is refused", &net.TCPAddr{IP: net.IPv4zero, Port: 8000}, false},
		{"a non-TCP listener is refused", &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := boundToLoopback("HTTP_ADDR", fakeListener{tt.addr})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "HTTP_ADDR") {
				t.Fatalf("err = %v, want it to name HTTP_ADDR", err)
			}
		})
	}
}

type fakeListener struct{ addr net.Addr }

func (fakeListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (fakeListener) Close() error              { return nil }
func (l fakeListener) Addr() net.Addr          { return l.addr }
