package metrics_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/metrics"
)

// BenchmarkDecisionHook is the hook's cost per decision: the allowed path
// (a resolved counter and observer) and a denial (a labelled lookup).
func BenchmarkDecisionHook(b *testing.B) {
	m, err := metrics.New()
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	itemsv1.RegisterItemServiceServer(srv, items{})
	m.InitializeMetrics(srv)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		d    interceptor.Decision
	}{
		{"outcome=allowed", interceptor.Decision{FullMethod: "/example.items.v1.ItemService/GetItem", Outcome: interceptor.OutcomeAllowed, ValidationTime: 1500 * time.Nanosecond}},
		{"outcome=denied", interceptor.Decision{FullMethod: "/example.items.v1.ItemService/GetItem", Outcome: interceptor.OutcomeDenied, Reason: authzerr.ReasonInsufficientScope, ValidationTime: 1500 * time.Nanosecond}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.DecisionHook(ctx, c.d)
				}
			})
		})
	}
}
