package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

// h2 is a raw HTTP/2 client of the gRPC listener: it sees the server's
// settings and, unlike a gRPC client, ignores them, as an attacker would.
type h2 struct {
	t        *testing.T
	conn     net.Conn
	fr       *http2.Framer
	settings map[http2.SettingID]uint32
	enc      *hpack.Encoder
	block    bytes.Buffer
}

func dialH2(t *testing.T, addr string) *h2 {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// A guard against a hung test, not a synchronisation: every read below
	// waits for a frame the server sends at once.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &h2{t: t, conn: conn, fr: http2.NewFramer(conn, conn), settings: map[http2.SettingID]uint32{}}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.block)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's settings: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = sf.ForeachSetting(func(s http2.Setting) error { c.settings[s.ID] = s.Val; return nil })
			if err := c.fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
}

// open sends the headers of a call of method on stream id, with extra
// metadata, in frames of the default 16 KiB, and no message yet.
func (c *h2) open(id uint32, method string, extra ...hpack.HeaderField) error {
	c.block.Reset()
	for _, f := range append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: method}, {Name: ":authority", Value: "localhost"},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	}, extra...) {
		c.enc.WriteField(f)
	}
	const frame = 16 << 10
	b := c.block.Bytes()
	n := min(len(b), frame)
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[:n], EndHeaders: n == len(b)})
	for b = b[n:]; err == nil && len(b) > 0; b = b[n:] {
		n = min(len(b), frame)
		err = c.fr.WriteContinuation(id, n == len(b), b[:n])
	}
	return err
}

// finish sends an empty message that ends stream id.
func (c *h2) finish(id uint32) error {
	return c.fr.WriteData(id, true, []byte{0, 0, 0, 0, 0})
}

// ending is how a stream ended: reset with a code, answered with a
// grpc-status, or with its connection closed by the server.
type ending struct {
	rst        http2.ErrCode
	grpcStatus string
	closed     bool
}

// served reports whether the call was answered with status OK.
func (e ending) served() bool { return e == ending{grpcStatus: "0"} }

// end reads frames until stream id ends, and returns how. Any other stream
// ending first fails the test.
func (c *h2) end(id uint32) ending {
	c.t.Helper()
	for {
		f, err := c.fr.ReadFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return ending{closed: true}
		}
		if err != nil {
			c.t.Fatalf("waiting for stream %d to end: %v", id, err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID != id {
				c.t.Fatalf("stream %d was reset (%v) while waiting for stream %d", f.StreamID, f.ErrCode, id)
			}
			return ending{rst: f.ErrCode}
		case *http2.MetaHeadersFrame:
			if f.StreamEnded() {
				if f.StreamID != id {
					c.t.Fatalf("stream %d ended while waiting for stream %d", f.StreamID, id)
				}
				return ending{grpcStatus: grpcStatusOf(f)}
			}
		case *http2.GoAwayFrame:
			c.t.Fatalf("GOAWAY (%v, %q) while waiting for stream %d", f.ErrCode, f.DebugData(), id)
		}
	}
}

func grpcStatusOf(f *http2.MetaHeadersFrame) string {
	for _, hf := range f.Fields {
		if hf.Name == "grpc-status" {
			return hf.Value
		}
	}
	return ""
}

// startCounted serves the Items example in development mode with opts, and
// counts the unary calls that reach the server's interceptors.
func startCounted(t *testing.T, opts ...grpc.ServerOption) (*servertest.Server, *atomic.Int64) {
	t.Helper()
	var reached atomic.Int64
	count := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		reached.Add(1)
		return next(ctx, req)
	}
	srv := servertest.Start(t, devConfig, append(example(), quiet,
		server.WithGRPCServerOptions(append(opts, grpc.ChainUnaryInterceptor(count))...))...)
	return srv, &reached
}

// tighter are options a WithGRPCServerOptions caller tightens the
// listener's limits with.
var tighter = []grpc.ServerOption{grpc.MaxHeaderListSize(8 << 10), grpc.MaxConcurrentStreams(2)}

func TestGRPCListenerAnnouncesItsLimits(t *testing.T) {
	for _, tt := range []struct {
		name             string
		opts             []grpc.ServerOption
		headers, streams uint32
	}{
		{"by default, 64 KiB of metadata and 100 streams per connection", nil, 64 << 10, 100},
		{"WithGRPCServerOptions tightens both", tighter, 8 << 10, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := startCounted(t, tt.opts...)
			c := dialH2(t, srv.GRPCAddr())
			if got := c.settings[http2.SettingMaxHeaderListSize]; got != tt.headers {
				t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE %d, want %d", got, tt.headers)
			}
			if got := c.settings[http2.SettingMaxConcurrentStreams]; got != tt.streams {
				t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", got, tt.streams)
			}
		})
	}
}

func TestOversizedMetadataIsRefused(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     []grpc.ServerOption
		metadata int
		refused  bool
	}{
		{"a call with 16 KiB of metadata (a large token) is served", nil, 16 << 10, false},
		{"a call with 1 MiB of metadata is refused", nil, 1 << 20, true},
		{"a call over a tightened cap is refused", tighter, 16 << 10, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, reached := startCounted(t, tt.opts...)
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-padding", strings.Repeat("a", tt.metadata))
			_, err := itemsv1.NewInfoServiceClient(srv.Conn).GetInfo(ctx, &itemsv1.GetInfoRequest{})
			if tt.refused {
				if status.Code(err) == codes.OK || reached.Load() != 0 {
					t.Fatalf("gRPC client: %v, interceptors reached %d times; want refused before them", err, reached.Load())
				}
			} else if err != nil || reached.Load() != 1 {
				t.Fatalf("gRPC client: %v, interceptors reached %d times; want served", err, reached.Load())
			}

			// A client that ignores the announced cap: the server refuses
			// the call itself (x/net's framer closes the connection once
			// the headers outgrow the cap, without decoding the rest).
			c := dialH2(t, srv.GRPCAddr())
			err = c.open(1, "/example.items.v1.InfoService/GetInfo", hpack.HeaderField{Name: "x-padding", Value: strings.Repeat("a", tt.metadata)})
			if err == nil {
				err = c.finish(1)
			}
			if err != nil && !tt.refused {
				t.Fatal(err)
			}
			if e := c.end(1); e.served() == tt.refused || tt.refused && e.rst == 0 && !e.closed {
				t.Fatalf("raw HTTP/2: %+v; want refused %v", e, tt.refused)
			}
			if want := map[bool]int64{true: 0, false: 2}[tt.refused]; reached.Load() != want {
				t.Fatalf("interceptors reached %d times, want %d", reached.Load(), want)
			}
		})
	}
}

// The metadata cap counts what the headers decode to (RFC 9113 §6.5.2:
// each field's name, value and 32 octets), not the bytes on the wire: a
// few bytes of HPACK that repeat one indexed small entry thousands of times
// are refused as one big entry is, and so are oversized trailers.
func TestManySmallMetadataEntriesAndTrailersAreCapped(t *testing.T) {
	many := make([]hpack.HeaderField, 3000) // 3000 × (3+1+32) octets ≈ 105 KiB decoded
	for i := range many {
		many[i] = hpack.HeaderField{Name: "x-a", Value: "b"}
	}
	t.Run("3000 indexed one-byte entries", func(t *testing.T) {
		srv, reached := startCounted(t)
		c := dialH2(t, srv.GRPCAddr())
		err := c.open(1, "/example.items.v1.InfoService/GetInfo", many...)
		if n := c.block.Len(); n > 8<<10 {
			t.Fatalf("the header block is %d bytes, want a few KB: the test does not compress", n)
		}
		if err == nil {
			err = c.finish(1)
		}
		if e := c.end(1); e.served() || e.rst == 0 && !e.closed {
			t.Fatalf("raw HTTP/2: %+v (%v); want refused", e, err)
		}
		if reached.Load() != 0 {
			t.Fatalf("interceptors reached %d times, want 0", reached.Load())
		}
	})
	t.Run("trailers of 1 MiB", func(t *testing.T) {
		srv, _ := startCounted(t)
		c := dialH2(t, srv.GRPCAddr())
		if err := c.open(1, "/example.items.v1.InfoService/GetInfo"); err != nil {
			t.Fatal(err)
		}
		if err := c.fr.WriteData(1, false, []byte{0, 0, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
		// Trailers: a second header block that ends the stream.
		c.block.Reset()
		c.enc.WriteField(hpack.HeaderField{Name: "x-padding", Value: strings.Repeat("a", 1<<20)})
		b := c.block.Bytes()
		const frame = 16 << 10
		n := min(len(b), frame)
		err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:n], EndStream: true, EndHeaders: n == len(b)})
		for b = b[n:]; err == nil && len(b) > 0; b = b[n:] {
			n = min(len(b), frame)
			err = c.fr.WriteContinuation(1, n == len(b), b[:n])
		}
		if e := c.end(1); e.rst == 0 && !e.closed {
			t.Fatalf("raw HTTP/2: %+v (%v); want the stream reset or the connection closed", e, err)
		}
	})
}

func TestConcurrentStreamLimitHolds(t *testing.T) {
	for _, tt := range []struct {
		name  string
		opts  []grpc.ServerOption
		limit uint32
	}{
		{"by default the 101st stream on a connection is refused", nil, 100},
		{"with WithGRPCServerOptions(MaxConcurrentStreams(2)) the third is", tighter, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := startCounted(t, tt.opts...)
			c := dialH2(t, srv.GRPCAddr())
			// Calls whose request has not come yet stay open; the server
			// reads frames in order, so each is open before the next.
			for i := range tt.limit + 1 {
				if err := c.open(2*i+1, "/example.items.v1.InfoService/GetInfo"); err != nil {
					t.Fatal(err)
				}
			}
			over := 2*tt.limit + 1
			if e := c.end(over); e.rst != http2.ErrCodeRefusedStream {
				t.Fatalf("stream %d past the limit: %+v; want REFUSED_STREAM", over, e)
			}
			// The streams within the limit were kept: the first one is
			// served once its request comes.
			if err := c.finish(1); err != nil {
				t.Fatal(err)
			}
			if e := c.end(1); !e.served() {
				t.Fatalf("stream 1: %+v; want served", e)
			}
		})
	}
}

// REST calls share the gateway's one in-process connection, which the
// per-connection stream limit of the gRPC listener must not throttle.
func TestRESTCallsAreNotHeldToTheStreamLimit(t *testing.T) {
	const calls = 3 // more than tighter's stream limit
	arrived := make(chan struct{}, calls)
	release := make(chan struct{})
	hold := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if info.FullMethod == itemsv1.InfoService_GetInfo_FullMethodName {
			arrived <- struct{}{}
			<-release
		}
		return next(ctx, req)
	}
	srv := servertest.Start(t, devConfig, append(example(), quiet,
		server.WithGRPCServerOptions(append(tighter, grpc.ChainUnaryInterceptor(hold))...))...)
	done := make(chan error, calls)
	for range calls {
		go func() {
			resp, err := http.Get(srv.HTTPURL() + "/v1/info")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = errors.New(resp.Status)
				}
			}
			done <- err
		}()
	}
	// A watchdog, not a synchronisation: the calls arrive at once, or, held
	// to the limit, the third never does.
	watchdog := time.After(20 * time.Second)
	for i := range calls {
		select {
		case <-arrived:
		case <-watchdog:
			close(release)
			t.Fatalf("%d of %d concurrent REST calls reached the server", i, calls)
		}
	}
	close(release)
	for range calls {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// Keepalive enforcement: a client pinging far more often than every 30 s
// is sent GOAWAY once it has three strikes. (grpc-go enforces a minimum
// interval by default too, of 5 minutes without calls in flight; this
// holds the server to enforcing one at all.)
func TestAClientFloodingPingsIsSentAway(t *testing.T) {
	srv, _ := startCounted(t)
	c := dialH2(t, srv.GRPCAddr())
	for i := range 4 {
		if err := c.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			if g.ErrCode != http2.ErrCodeEnhanceYourCalm || string(g.DebugData()) != "too_many_pings" {
				t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", g.ErrCode, g.DebugData())
			}
			return
		}
	}
}
