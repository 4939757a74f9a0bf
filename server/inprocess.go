package server

import (
	"context"
	"net"
	"sync"
)

// inProcessListener is a net.Listener whose connections are in-memory pipes
// (net.Pipe) dialled from this process: the REST gateway's way into the
// gRPC server, which never touches a network interface.
type inProcessListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newInProcessListener() *inProcessListener {
	return &inProcessListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next DialContext, or for Close.
func (l *inProcessListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and DialContext; connections already made stay open.
func (l *inProcessListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr is the listener's address, network "pipe".
func (l *inProcessListener) Addr() net.Addr { return inProcessAddr{} }

// DialContext returns the client end of a new pipe once Accept has taken
// the server end.
func (l *inProcessListener) DialContext(ctx context.Context) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		server.Close()
		client.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Addr: inProcessAddr{}, Err: net.ErrClosed}
	case <-ctx.Done():
		server.Close()
		client.Close()
		return nil, ctx.Err()
	}
}

// inProcessAddr is the address of an inProcessListener, as net.Pipe's connections
// name theirs.
type inProcessAddr struct{}

func (inProcessAddr) Network() string { return "pipe" }
func (inProcessAddr) String() string  { return "in-process" }
