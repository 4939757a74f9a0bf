package interceptor_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

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
