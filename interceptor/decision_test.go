package interceptor_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// decisions records what a DecisionHook is told.
type decisions struct {
	mu  sync.Mutex
	got []interceptor.Decision
}

func (d *decisions) hook(_ context.Context, dec interceptor.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, dec)
}

// take returns the decisions recorded so far and forgets them.
func (d *decisions) take() []interceptor.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	got := d.got
	d.got = nil
	return got
}

func TestDecisionHookSeesEveryDecision(t *testing.T) {
	idp := entratest.NewServer(t)
	rec := &decisions{}
	e := newHookedEnv(t, idp, []interceptor.Option{interceptor.WithDecisionHook(rec.hook)},
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()))
	const get = authztest.Get
	tests := []struct {
		name      string
		call      func() error
		want      interceptor.Decision
		validated bool // a token was presented and validated
	}{
		{"a sufficient token is reported allowed, with its validation time",
			func() error { return delegated(withToken(idp.Issue(entratest.Scopes("Items.Read"))), e) },
			interceptor.Decision{FullMethod: get, Outcome: interceptor.OutcomeAllowed}, true},
		{"no token is reported unauthenticated, without validation time",
			func() error { return delegated(context.Background(), e) },
			interceptor.Decision{FullMethod: get, Outcome: interceptor.OutcomeUnauthenticated, Reason: authzerr.ReasonTokenMissing}, false},
		{"an expired token is reported unauthenticated with TOKEN_EXPIRED",
			func() error { return delegated(withToken(idp.Issue(entratest.ExpiresIn(-time.Hour))), e) },
			interceptor.Decision{FullMethod: get, Outcome: interceptor.OutcomeUnauthenticated, Reason: authzerr.ReasonTokenExpired}, true},
		{"a token without the scope is reported denied with INSUFFICIENT_SCOPE",
			func() error { return delegated(withToken(idp.Issue(entratest.Scopes("Items.Write"))), e) },
			interceptor.Decision{FullMethod: get, Outcome: interceptor.OutcomeDenied, Reason: authzerr.ReasonInsufficientScope}, true},
		{"a method without rule is reported denied with NO_RULE",
			func() error { return e.c.Unary(withToken(idp.Issue()), authztest.Debug, "") },
			interceptor.Decision{FullMethod: authztest.Debug, Outcome: interceptor.OutcomeDenied, Reason: authzerr.ReasonNoRule}, false},
		{"an anonymous call is reported allowed",
			func() error {
				_, err := e.c.GetInfo(context.Background())
				return err
			},
			interceptor.Decision{FullMethod: authztest.GetInfo, Outcome: interceptor.OutcomeAllowed}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			got := rec.take()
			if len(got) != 1 {
				t.Fatalf("hook called %d times (%v), want once", len(got), got)
			}
			d := got[0]
			if (d.ValidationTime > 0) != tt.validated {
				t.Fatalf("validation time %v, want it > 0: %v", d.ValidationTime, tt.validated)
			}
			d.ValidationTime = 0
			if d != tt.want {
				t.Fatalf("decision %+v, want %+v", d, tt.want)
			}
			if (tt.want.Outcome == interceptor.OutcomeAllowed) != (status.Code(err) == codes.OK) {
				t.Fatalf("call ended with %v, decision %s", err, d.Outcome)
			}
		})
	}
}

func TestUnavailableKeysAreReportedUnavailable(t *testing.T) {
	idp := entratest.NewServer(t)
	idp.SetDown(true)
	rec := &decisions{}
	e := newHookedEnv(t, idp, []interceptor.Option{interceptor.WithDecisionHook(rec.hook)},
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()))
	if err := delegated(withToken(idp.Issue()), e); status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v", err)
	}
	got := rec.take()
	if len(got) != 1 || got[0].Outcome != interceptor.OutcomeUnavailable || got[0].Reason != authzerr.ReasonKeysUnavailable {
		t.Fatalf("decisions %+v", got)
	}
}

func TestInvalidOptionsFailConstruction(t *testing.T) {
	idp := entratest.NewServer(t)
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    interceptor.TokenValidator
		opts []interceptor.Option
		want string
	}{
		{"a nil validator is refused", nil, nil, "nil validator"},
		{"a nil *entra.Validator is refused", (*entra.Validator)(nil), nil, "nil validator"},
		{"a nil logger is refused", v, []interceptor.Option{interceptor.WithLogger(nil)}, "nil logger"},
		{"a nil policy is refused", v, []interceptor.Option{interceptor.WithPolicy(nil)}, "nil policy"},
		{"a nil decision hook is refused", v, []interceptor.Option{interceptor.WithDecisionHook(nil)}, "nil hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := interceptor.New(tt.v, tt.opts...)
			if err == nil || a != nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an error saying %q", a, err, tt.want)
			}
		})
	}
}

func TestAStreamEndedByExpiryIsReportedAgain(t *testing.T) {
	idp := entratest.NewServer(t)
	rec := &decisions{}
	e := newHookedEnv(t, idp, []interceptor.Option{interceptor.WithDecisionHook(rec.hook)},
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
		entra.WithClockSkew(0))
	// exp is a whole second, at least one second ahead.
	exp := time.Now().Add(2 * time.Second).Truncate(time.Second)
	ctx, cancel := context.WithTimeout(withToken(idp.Issue(entratest.Scopes("Items.Read"), entratest.IssuedAt(exp.Add(-time.Hour)), entratest.ExpiresIn(time.Hour))), 10*time.Second)
	defer cancel()
	if _, err := e.c.Watch(ctx, 0); reason(err) != authzerr.ReasonTokenExpired {
		t.Fatalf("got %v", err)
	}
	got := rec.take()
	if len(got) != 2 || got[0].Outcome != interceptor.OutcomeAllowed || got[0].ValidationTime <= 0 ||
		got[1] != (interceptor.Decision{FullMethod: authztest.Watch, Outcome: interceptor.OutcomeUnauthenticated, Reason: authzerr.ReasonTokenExpired}) {
		t.Fatalf("decisions %+v, want allowed, then unauthenticated with TOKEN_EXPIRED", got)
	}
}
