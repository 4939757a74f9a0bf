// Package loopback says whether a host or an address is on this machine:
// the only places a token or an identity provider may be reached over
// plaintext. It is a leaf, shared by the validator (entra) and the calling
// side (bearer), so that neither links the other.
package loopback

import (
	"net"
	"net/netip"
	"strings"
)

// Host reports whether host (a host name or IP address, without port or
// brackets) is localhost or a loopback address.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr reports whether a is a loopback IP address (IPv4-mapped included)
// or a Unix socket.
func Addr(a net.Addr) bool {
	switch a := a.(type) {
	case nil:
		return false
	case *net.TCPAddr:
		return a != nil && a.IP.IsLoopback()
	case *net.UDPAddr:
		return a != nil && a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
