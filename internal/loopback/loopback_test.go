package loopback_test

import (
	"net"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/loopback"
)

func TestHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.0.0.2", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"", false},
		{"localhost.", false},
		{"localhost.example.com", false},
		{"127.0.0.1.nip.io", false},
		{"[::1]", false},
		{"10.0.0.1", false},
		{"0.0.0.0", false},
	}
	for _, tt := range tests {
		if got := loopback.Host(tt.host); got != tt.want {
			t.Errorf("Host(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

type otherAddr string

func (a otherAddr) Network() string { return "other" }
func (a otherAddr) String() string  { return string(a) }

func TestAddr(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		want bool
	}{
		{"a loopback TCP address", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, true},
		{"an IPv6 loopback TCP address", &net.TCPAddr{IP: net.IPv6loopback, Port: 1}, true},
		{"a Unix socket", &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, true},
		{"another type naming a mapped loopback address", otherAddr("[::ffff:127.0.0.1]:80"), true},
		{"a remote TCP address", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}, false},
		{"another type naming a remote address", otherAddr("192.0.2.1:80"), false},
		{"another type naming no address", otherAddr("bufconn"), false},
		{"nil", nil, false},
		{"a nil *net.TCPAddr", (*net.TCPAddr)(nil), false},
	}
	for _, tt := range tests {
		if got := loopback.Addr(tt.addr); got != tt.want {
			t.Errorf("%s: Addr = %v, want %v", tt.name, got, tt.want)
		}
	}
}
