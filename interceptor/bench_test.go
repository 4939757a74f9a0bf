package interceptor_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// BenchmarkAuthorize is the allowed path of one call with a cached token,
// without and with a decision hook: compare their allocs/op with benchstat
// (the hook must add none when unset).
func BenchmarkAuthorize(b *testing.B) {
	idp := entratest.NewServer(b)
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	values := []string{"Bearer " + idp.Issue(entratest.Scopes("Items.Read"))}
	quiet := interceptor.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, bb := range []struct {
		name string
		opts []interceptor.Option
	}{
		{"hook=none", nil},
		{"hook=set", []interceptor.Option{interceptor.WithDecisionHook(func(context.Context, interceptor.Decision) {})}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			a, err := interceptor.New(v, append([]interceptor.Option{quiet, interceptor.WithPolicy(authztest.Policy())}, bb.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := a.Authorize(ctx, authztest.Get, values); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authorize(ctx, authztest.Get, values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCondition is an authorized unary call through the unary
// interceptor, with a cached token, to a method whose rule (scope
// Items.Read) has the condition request.user_id == caller.object_id
// (condition=set) and to one whose same rule has none (condition=none):
// compare them with benchstat -col /condition.
func BenchmarkCondition(b *testing.B) {
	idp := entratest.NewServer(b)
	quiet := slog.New(slog.DiscardHandler)
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	a, err := interceptor.New(v, interceptor.WithLogger(quiet), interceptor.WithPolicy(authztest.Policy()))
	if err != nil {
		b.Fatal(err)
	}
	const oid = "a0a0a0a0-0000-4000-8000-000000000001"
	token := idp.Issue(entratest.Claim("oid", oid), entratest.Scopes("Items.Read"))
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	req := authztest.NewNoteRequest(oid, "")
	unary := a.UnaryServerInterceptor()
	handler := func(context.Context, any) (any, error) { return nil, nil }
	for _, bb := range []struct{ name, method string }{
		{"condition=none", authztest.Note},
		{"condition=set", authztest.Mine},
	} {
		b.Run(bb.name, func(b *testing.B) {
			info := &grpc.UnaryServerInfo{FullMethod: bb.method}
			if _, err := unary(ctx, req, info, handler); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			report := cpuPerOp(b)
			for b.Loop() {
				if _, err := unary(ctx, req, info, handler); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
	}
}
