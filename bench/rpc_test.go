package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
)

// serve starts the example services on loopback, behind the authorizer
// when v is not nil, and returns a client connection.
func serve(b *testing.B, v *entra.Validator) *grpc.ClientConn {
	var opts []grpc.ServerOption
	if v != nil {
		authz, err := interceptor.New(v, interceptor.WithLogger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, grpc.UnaryInterceptor(authz.UnaryServerInterceptor()), grpc.StreamInterceptor(authz.StreamServerInterceptor()))
	}
	srv := grpc.NewServer(opts...)
	itemsv1.RegisterItemServiceServer(srv, items.New())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

type variant struct {
	name string
	conn *grpc.ClientConn
}

func variants(b *testing.B, f *fixture) []variant {
	return []variant{
		{"auth=none", serve(b, nil)},
		{"auth=ours-cached", serve(b, f.validator(b))},
		{"auth=ours-uncached", serve(b, f.validator(b, entra.WithCacheSize(0)))},
	}
}

// BenchmarkUnaryRPC is a whole GetItem call over loopback. Compare with:
// benchstat -col /auth.
func BenchmarkUnaryRPC(b *testing.B) {
	f := newFixture(b)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.token)
	req := &itemsv1.GetItemRequest{Id: "item-1"}
	for _, v := range variants(b, f) {
		client := itemsv1.NewItemServiceClient(v.conn)
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.GetItem(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.GetItem(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkServerStreamRPC is a whole ExportItems stream (three messages).
func BenchmarkServerStreamRPC(b *testing.B) {
	f := newFixture(b)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.token)
	for _, v := range variants(b, f) {
		client := itemsv1.NewItemServiceClient(v.conn)
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st, err := client.ExportItems(ctx, &itemsv1.ExportItemsRequest{})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := st.Recv(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkREST is GET /v1/items/item-1 through the gateway.
func BenchmarkREST(b *testing.B) {
	f := newFixture(b)
	for _, v := range variants(b, f)[:2] {
		gw, err := gateway.New(context.Background(), v.conn, []gateway.RegisterFunc{itemsv1.RegisterItemServiceHandler})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(gw)
		b.Cleanup(srv.Close)
		client := srv.Client()
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/items/item-1", nil)
					req.Header.Set("Authorization", "Bearer "+f.token)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

// BenchmarkColdStart sends 1,000 concurrent first requests to a fresh
// validator and reports how many discovery and key-set fetches they cost.
func BenchmarkColdStart(b *testing.B) {
	idp := entratest.NewServer(b)
	tok := idp.Issue()
	var discovery, jwks atomic.Int64
	b.ReportAllocs()
	for b.Loop() {
		before := idp.Fetches()
		v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
			entra.WithAudiences(idp.ClientID()), entra.WithLogger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := v.Validate(context.Background(), tok); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		after := idp.Fetches()
		discovery.Add(int64(after.Discovery - before.Discovery))
		jwks.Add(int64(after.JWKS - before.JWKS))
	}
	b.ReportMetric(float64(discovery.Load())/float64(b.N), "discovery-fetches/op")
	b.ReportMetric(float64(jwks.Load())/float64(b.N), "jwks-fetches/op")
}
