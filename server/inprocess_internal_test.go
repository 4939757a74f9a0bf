package server

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
)

func TestInProcessListener(t *testing.T) {
	t.Run("a dialled connection is the other end of the accepted one", func(t *testing.T) {
		l := newInProcessListener()
		defer l.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				t.Error(err)
			}
			accepted <- c
		}()
		client, err := l.DialContext(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server := <-accepted
		defer server.Close()
		go client.Write([]byte("ping"))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("read %q, %v", buf, err)
		}
		if server.RemoteAddr().Network() != "pipe" || l.Addr().Network() != "pipe" {
			t.Fatalf("networks %s, %s; want pipe", server.RemoteAddr().Network(), l.Addr().Network())
		}
	})
	t.Run("a closed listener refuses Accept and DialContext", func(t *testing.T) {
		l := newInProcessListener()
		if err := errors.Join(l.Close(), l.Close()); err != nil {
			t.Fatalf("Close twice: %v", err)
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept: %v, want net.ErrClosed", err)
		}
		if _, err := l.DialContext(context.Background()); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("DialContext: %v, want net.ErrClosed", err)
		}
	})
	t.Run("a dial nobody accepts ends with its context", func(t *testing.T) {
		l := newInProcessListener()
		defer l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := l.DialContext(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("DialContext: %v, want context.Canceled", err)
		}
	})
}
