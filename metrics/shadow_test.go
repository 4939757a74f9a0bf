package metrics_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
	"github.com/grpc-azure-auth/grpc-azure-auth/metrics"
)

// A call that a shadow rule would deny, through the real interceptor on a
// real server, is counted by method and both outcomes; calls on which the
// rules agree are not.
func TestShadowDisagreementsAreCounted(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	idp := entratest.NewServer(t)
	authz, _ := authztest.NewAuthorizer(t, idp, []entra.Option{
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
	}, interceptor.WithShadowHook(m.ShadowHook), interceptor.WithDecisionHook(m.DecisionHook))
	srv := grpc.NewServer(grpc.UnaryInterceptor(authz.UnaryServerInterceptor()))
	srv.RegisterService(authztest.GuardedDesc, struct{}{})
	conn, scrapeURL := serveWithMetrics(t, srv, m)

	const oid = "b0b0b0b0-0000-4000-8000-000000000002"
	own := func(scopes ...string) {
		t.Helper()
		token := idp.Issue(entratest.Claim("oid", oid), entratest.Scopes(scopes...))
		if err := conn.Invoke(authztest.WithToken(token), authztest.Own, authztest.NewNoteRequest(oid, ""), &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	own("Items.Read")                // the shadow rule needs Items.Share too
	own("Items.Read")                // again
	own("Items.Read", "Items.Share") // both agree
	s := scrape(t, scrapeURL)
	labels := []string{"method=" + authztest.Own, "enforced=ALLOWED", "shadow=" + authzerr.ReasonInsufficientScope}
	if got, ok := s.value("grpc_azure_auth_shadow_decisions_total", labels...); !ok || got != 2 {
		t.Errorf("shadow decisions%v = %v (present %v), want 2", labels, got, ok)
	}
	if n := len(s["grpc_azure_auth_shadow_decisions_total"].GetMetric()); n != 1 {
		t.Errorf("%d shadow series, want 1", n)
	}
	if got, _ := s.value("grpc_azure_auth_decisions_total", "method="+authztest.Own, "outcome=allowed"); got != 3 {
		t.Errorf("%v allowed decisions, want 3: the shadow rule must not decide", got)
	}

	// The reasons of conditions and step-ups are label values of their own.
	for _, r := range []string{authzerr.ReasonConditionFailed, authzerr.ReasonAuthContextRequired, authzerr.ReasonInsufficientClaims} {
		m.DecisionHook(context.Background(), interceptor.Decision{FullMethod: authztest.Own, Outcome: interceptor.OutcomeDenied, Reason: r})
		if got, _ := scrape(t, scrapeURL).value("grpc_azure_auth_decisions_total", "method="+authztest.Own, "reason="+r); got != 1 {
			t.Errorf("decisions with reason %s: %v, want 1", r, got)
		}
	}

	// Labels stay bounded whatever the hook is told.
	m.ShadowHook(context.Background(), interceptor.ShadowDecision{FullMethod: "/attacker.Chosen/x", Enforced: "oid=1", Shadow: "ALLOWED"})
	if got, ok := scrape(t, scrapeURL).value("grpc_azure_auth_shadow_decisions_total", "method=unknown", "enforced=OTHER", "shadow=ALLOWED"); !ok || got != 1 {
		t.Errorf("unbounded labels: %v %v", got, ok)
	}
}
