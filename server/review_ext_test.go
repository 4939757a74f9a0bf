package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// More spellings of the exempt methods than the finding-2 test tries, from
// an outside review of issue 17: none skips the rules, and none reaches a
// catch-all unknown-service handler. (grpc-go refuses a name without its
// leading slash as malformed, Unimplemented, before any interceptor.)
func TestReviewSpellingsOfExemptMethodsDoNotSkipTheRules(t *testing.T) {
	srv, h := startCatchAll(t)
	token := passwordToken(t, srv.Server, "alice", "Items.Read")
	for _, method := range []string{
		"grpc.health.v1.Health/Check",
		"/grpc.health.v1.Health/check",
		"/GRPC.HEALTH.V1.HEALTH/CHECK",
		"/grpc.health.v1.Health/Check%2F",
		"/grpc%2Ehealth.v1.Health/Check",
		"/grpc.health.v1.Health/Check?x=1",
		"/grpc.health.v1.Health/Check ",
		"/grpc.health.v1.Health//Check",
		"/grpc.health.v2.Health/Check",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo/x",
		"/grpc.reflection.v1beta.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/serverReflectionInfo",
	} {
		for _, withToken := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q with token %v", method, withToken), func(t *testing.T) {
				ctx := context.Background()
				if withToken {
					ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
				}
				before := h.reached.Load()
				got := call(ctx, srv.Conn, method)
				if malformed := method[0] != '/' && got == codes.Unimplemented; !malformed && got != codes.PermissionDenied && got != codes.Unauthenticated {
					t.Errorf("%q: %v, want PermissionDenied or Unauthenticated", method, got)
				}
				if h.reached.Load() != before {
					t.Errorf("%q reached the unknown-service handler", method)
				}
			})
		}
	}
}

// The metadata cap counts what the headers decode to (RFC 9113 §6.5.2:
// each field's name, value and 32 octets), not the bytes on the wire: a
// few bytes of HPACK that repeat one indexed small entry thousands of times
// are refused as one big entry is, and so are oversized trailers.
func TestReviewManySmallMetadataEntriesAndTrailersAreCapped(t *testing.T) {
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
