package interceptor_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// Object IDs of the callers of these tests.
const (
	annOID = "a0a0a0a0-0000-4000-8000-000000000001"
	benOID = "b0b0b0b0-0000-4000-8000-000000000002"
)

// guardedEnv is the test services behind the interceptor, recording the
// decisions and shadow decisions it reports.
type guardedEnv struct {
	*env
	conn *grpc.ClientConn
	mu   sync.Mutex
	ds   []interceptor.Decision
	sds  []interceptor.ShadowDecision
}

func newGuardedEnv(t *testing.T, iopts ...interceptor.Option) *guardedEnv {
	t.Helper()
	g := &guardedEnv{}
	idp := entratest.NewServer(t)
	iopts = append([]interceptor.Option{
		interceptor.WithDecisionHook(func(_ context.Context, d interceptor.Decision) {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.ds = append(g.ds, d)
		}),
		interceptor.WithShadowHook(func(_ context.Context, d interceptor.ShadowDecision) {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.sds = append(g.sds, d)
		}),
	}, iopts...)
	g.env = newHookedEnv(t, idp, iopts,
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()))
	g.conn = g.c.Conn
	return g
}

func (g *guardedEnv) shadows() []interceptor.ShadowDecision {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]interceptor.ShadowDecision(nil), g.sds...)
}

func (g *guardedEnv) decisions() []interceptor.Decision {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]interceptor.Decision(nil), g.ds...)
}

// user is a token of a signed-in user with object ID oid.
func (g *guardedEnv) user(oid string, opts ...entratest.TokenOption) string {
	return g.idp.Issue(append([]entratest.TokenOption{entratest.Claim("oid", oid)}, opts...)...)
}

func (g *guardedEnv) own(token, userID string) error {
	return g.conn.Invoke(withToken(token), authztest.Own, authztest.NewNoteRequest(userID, ""), &emptypb.Empty{})
}

// wantDenial checks err's code and reason, "" for success.
func wantDenial(t *testing.T, err error, code codes.Code, why string) {
	t.Helper()
	if why == "" {
		if err != nil {
			t.Fatalf("got %v, want success", err)
		}
		return
	}
	if status.Code(err) != code || reason(err) != why {
		t.Fatalf("got %v (reason %q), want %v %s", err, reason(err), code, why)
	}
}

func TestConditionsOfUnaryCalls(t *testing.T) {
	g := newGuardedEnv(t)
	for _, tt := range []struct {
		name   string
		token  string
		userID string
		code   codes.Code
		reason string
	}{
		{"a user reads their own notes", g.user(annOID, entratest.Scopes("Items.Read")), annOID, codes.OK, ""},
		{"a user reading another's notes is denied by the condition", g.user(annOID, entratest.Scopes("Items.Read")), benOID, codes.PermissionDenied, authzerr.ReasonConditionFailed},
		{"a user reading no one's notes is denied by the condition", g.user(annOID, entratest.Scopes("Items.Read")), "", codes.PermissionDenied, authzerr.ReasonConditionFailed},
		{"an app with the admin role reads anyone's", g.idp.Issue(entratest.ForApp("offboarding-daemon"), entratest.Roles("Items.Admin")), benOID, codes.OK, ""},
		{"the scope is checked before the condition", g.user(annOID, entratest.Scopes("Items.Write")), annOID, codes.PermissionDenied, authzerr.ReasonInsufficientScope},
		{"a user with the admin role is not an app", g.user(annOID, entratest.Scopes("Items.Read"), entratest.Roles("Items.Admin")), benOID, codes.PermissionDenied, authzerr.ReasonConditionFailed},
		{"no token", "", annOID, codes.Unauthenticated, authzerr.ReasonTokenMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := g.own(tt.token, tt.userID)
			wantDenial(t, err, tt.code, tt.reason)
			if tt.reason == authzerr.ReasonConditionFailed && status.Convert(err).Message() != "condition not met: "+authztest.OwnCondition {
				t.Errorf("message %q does not state the condition", status.Convert(err).Message())
			}
		})
	}
}

func TestAnonymousConditionReadsTheRequestOnly(t *testing.T) {
	g := newGuardedEnv(t)
	for _, tt := range []struct {
		name, token, text string
		reason            string
	}{
		{"without a token, a request that satisfies the condition", "", "hello", ""},
		{"without a token, a request that does not", "", "secret", authzerr.ReasonConditionFailed},
		{"with a token, a request that does not", g.user(annOID, entratest.Scopes("Items.Read")), "secret", authzerr.ReasonConditionFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := g.conn.Invoke(withToken(tt.token), authztest.Peek, authztest.NewNoteRequest("", tt.text), &emptypb.Empty{})
			wantDenial(t, err, codes.PermissionDenied, tt.reason)
		})
	}
}

func TestConditionEvaluationErrorDeniesAndIsLogged(t *testing.T) {
	g := newGuardedEnv(t)
	region := func(token, text string) error {
		return g.conn.Invoke(withToken(token), authztest.Region, authztest.NewNoteRequest("", text), &emptypb.Empty{})
	}
	nl := g.user(annOID, entratest.Scopes("Items.Read"), entratest.Claim("ctry", "NL"))
	wantDenial(t, region(nl, "NL"), codes.OK, "")
	wantDenial(t, region(nl, "BE"), codes.PermissionDenied, authzerr.ReasonConditionFailed)
	noCtry := g.user(annOID, entratest.Scopes("Items.Read"))
	err := region(noCtry, "NL")
	wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonConditionFailed)
	if msg := status.Convert(err).Message(); msg != "condition could not be evaluated: caller.claims.ctry == request.text" {
		t.Errorf("message %q", msg)
	}
	logs := g.logs.String()
	if !strings.Contains(logs, "no such key: ctry") || !strings.Contains(logs, "reason=CONDITION_FAILED") || !strings.Contains(logs, "oid="+annOID) {
		t.Errorf("the CEL error and the caller are not logged:\n%s", logs)
	}
	if strings.Contains(logs, noCtry) || strings.Contains(logs, nl) {
		t.Error("a token was logged")
	}
}

func TestConditionsOfStreams(t *testing.T) {
	g := newGuardedEnv(t)
	ann := g.user(annOID, entratest.Scopes("Items.Read", "Items.Write"))
	t.Run("server stream on its request", func(t *testing.T) {
		for _, tt := range []struct {
			userID string
			n      int
			reason string
		}{{annOID, 2, ""}, {benOID, 0, authzerr.ReasonConditionFailed}} {
			st, err := g.conn.NewStream(withToken(ann), &grpc.StreamDesc{ServerStreams: true}, authztest.Feed)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.SendMsg(authztest.NewNoteRequest(tt.userID, "")); err != nil {
				t.Fatal(err)
			}
			if err := st.CloseSend(); err != nil {
				t.Fatal(err)
			}
			n := 0
			for {
				err = st.RecvMsg(new(structpb.Struct))
				if err != nil {
					break
				}
				n++
			}
			if errors.Is(err, io.EOF) {
				err = nil
			}
			wantDenial(t, err, codes.PermissionDenied, tt.reason)
			if n != tt.n {
				t.Errorf("received %d messages, want %d", n, tt.n)
			}
		}
	})
	t.Run("client stream: authentication context at the start", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			token  string
			code   codes.Code
			reason string
		}{
			{"a capable client is challenged", g.user(annOID, entratest.Scopes("Items.Write"), entratest.ClientCapabilities("cp1")), codes.Unauthenticated, authzerr.ReasonInsufficientClaims},
			{"an incapable client is denied", g.user(annOID, entratest.Scopes("Items.Write")), codes.PermissionDenied, authzerr.ReasonAuthContextRequired},
		} {
			t.Run(tt.name, func(t *testing.T) {
				st, err := g.conn.NewStream(withToken(tt.token), &grpc.StreamDesc{ClientStreams: true}, authztest.Upload)
				if err != nil {
					t.Fatal(err)
				}
				_ = st.SendMsg(authztest.NewNoteRequest(annOID, ""))
				_ = st.CloseSend()
				err = st.RecvMsg(new(wrapperspb.Int64Value))
				wantDenial(t, err, tt.code, tt.reason)
				if _, ok := bearer.ClaimsChallenge(err); ok != (tt.code == codes.Unauthenticated) {
					t.Errorf("ClaimsChallenge ok = %v", ok)
				}
			})
		}
	})
	ann = g.user(annOID, entratest.Scopes("Items.Read", "Items.Write"), entratest.AuthContexts("c1"))
	t.Run("client stream on every message", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			userIDs []string
			reason  string
		}{
			{"all own", []string{annOID, annOID, annOID}, ""},
			{"the second is another's", []string{annOID, benOID, annOID}, authzerr.ReasonConditionFailed},
			{"the first is another's", []string{benOID}, authzerr.ReasonConditionFailed},
		} {
			t.Run(tt.name, func(t *testing.T) {
				st, err := g.conn.NewStream(withToken(ann), &grpc.StreamDesc{ClientStreams: true}, authztest.Upload)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range tt.userIDs {
					if err := st.SendMsg(authztest.NewNoteRequest(id, "")); err != nil {
						break // the stream ended: its status comes with RecvMsg
					}
				}
				_ = st.CloseSend()
				var n wrapperspb.Int64Value
				err = st.RecvMsg(&n)
				wantDenial(t, err, codes.PermissionDenied, tt.reason)
				if err == nil && n.GetValue() != int64(len(tt.userIDs)) {
					t.Errorf("count %d", n.GetValue())
				}
			})
		}
	})
	t.Run("bidi stream on every message", func(t *testing.T) {
		st, err := g.conn.NewStream(withToken(ann), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, authztest.Chat)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SendMsg(authztest.NewNoteRequest(annOID, "")); err != nil {
			t.Fatal(err)
		}
		var echo structpb.Struct
		if err := st.RecvMsg(&echo); err != nil || echo.GetFields()["user_id"].GetStringValue() != annOID {
			t.Fatalf("first message: %v %v", &echo, err)
		}
		if err := st.SendMsg(authztest.NewNoteRequest(benOID, "")); err != nil {
			t.Fatal(err)
		}
		err = st.RecvMsg(&echo)
		wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonConditionFailed)
	})
	// The stream's denial is reported as a second decision of the call.
	var denied int
	for _, d := range g.decisions() {
		if d.Reason == authzerr.ReasonConditionFailed {
			denied++
			if d.Outcome != interceptor.OutcomeDenied {
				t.Errorf("decision %+v", d)
			}
		}
	}
	if denied != 4 {
		t.Errorf("%d CONDITION_FAILED decisions reported, want 4", denied)
	}
}

func TestStepUp(t *testing.T) {
	g := newGuardedEnv(t)
	const wantClaims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	stepUp := func(token string) error {
		return g.conn.Invoke(withToken(token), authztest.StepUp, &emptypb.Empty{}, &emptypb.Empty{})
	}
	for _, tt := range []struct {
		name   string
		token  string
		code   codes.Code
		reason string
	}{
		{"a capable client without the context is challenged", g.user(annOID, entratest.Scopes("Items.Write"), entratest.ClientCapabilities("cp1")), codes.Unauthenticated, authzerr.ReasonInsufficientClaims},
		{"an incapable client without the context is denied", g.user(annOID, entratest.Scopes("Items.Write")), codes.PermissionDenied, authzerr.ReasonAuthContextRequired},
		{"another context does not do", g.user(annOID, entratest.Scopes("Items.Write"), entratest.AuthContexts("c2"), entratest.ClientCapabilities("cp1")), codes.Unauthenticated, authzerr.ReasonInsufficientClaims},
		{"the context is stepped up to", g.user(annOID, entratest.Scopes("Items.Write"), entratest.AuthContexts("c1"), entratest.ClientCapabilities("cp1")), codes.OK, ""},
		{"scopes are checked first", g.user(annOID, entratest.Scopes("Items.Read"), entratest.ClientCapabilities("cp1")), codes.PermissionDenied, authzerr.ReasonInsufficientScope},
		{"acrs that is not an array of strings is refused", g.user(annOID, entratest.Scopes("Items.Write"), entratest.Claim("acrs", "c1")), codes.Unauthenticated, authzerr.ReasonTokenInvalid},
		{"xms_cc that is not an array of strings is refused", g.user(annOID, entratest.Scopes("Items.Write"), entratest.Claim("xms_cc", []any{"cp1", 1})), codes.Unauthenticated, authzerr.ReasonTokenInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := stepUp(tt.token)
			wantDenial(t, err, tt.code, tt.reason)
			md := authzerr.FromError(err).GetMetadata()
			switch tt.reason {
			case authzerr.ReasonInsufficientClaims:
				b, _ := base64.StdEncoding.DecodeString(md[authzerr.MetadataClaims])
				if string(b) != wantClaims || md[authzerr.MetadataAuthContexts] != "c1" {
					t.Errorf("metadata %v", md)
				}
				if claims, ok := bearer.ClaimsChallenge(err); !ok || claims != wantClaims {
					t.Errorf("bearer.ClaimsChallenge = %q, %v", claims, ok)
				}
			case authzerr.ReasonAuthContextRequired:
				if md[authzerr.MetadataAuthContexts] != "c1" || md[authzerr.MetadataClaims] != "" || !strings.Contains(status.Convert(err).Message(), "c1") {
					t.Errorf("metadata %v, message %q", md, status.Convert(err).Message())
				}
			}
		})
	}
}

func TestShadowRulesNeverDecideAndDisagreementsAreCounted(t *testing.T) {
	g := newGuardedEnv(t)
	readOnly := g.user(annOID, entratest.Scopes("Items.Read"))
	both := g.user(annOID, entratest.Scopes("Items.Read", "Items.Share"))
	calls := []struct {
		name   string
		call   func() error
		reason string
		shadow *interceptor.ShadowDecision
	}{
		{"the shadow rule would deny a call the rule allows", func() error { return g.own(readOnly, annOID) }, "",
			&interceptor.ShadowDecision{FullMethod: authztest.Own, Enforced: "ALLOWED", Shadow: authzerr.ReasonInsufficientScope}},
		{"both allow", func() error { return g.own(both, annOID) }, "", nil},
		{"the shadow rule, without a condition, would allow what the condition denies", func() error { return g.own(both, benOID) }, authzerr.ReasonConditionFailed,
			&interceptor.ShadowDecision{FullMethod: authztest.Own, Enforced: authzerr.ReasonConditionFailed, Shadow: "ALLOWED"}},
		{"both deny alike a call without a token", func() error { return g.own("", annOID) }, authzerr.ReasonTokenMissing, nil},
		{"an anonymous call the shadow rule would refuse", func() error {
			return g.conn.Invoke(withToken(""), authztest.Peek, authztest.NewNoteRequest("", "hi"), &emptypb.Empty{})
		}, "", &interceptor.ShadowDecision{FullMethod: authztest.Peek, Enforced: "ALLOWED", Shadow: authzerr.ReasonInsufficientScope}},
		{"an invalid token is not compared", func() error { return g.own(g.idp.Issue(entratest.SignedWithWrongKey()), annOID) }, authzerr.ReasonTokenInvalid, nil},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			before := len(g.shadows())
			err := tt.call()
			if reason(err) != tt.reason {
				t.Fatalf("got %v, want reason %q: the shadow rule must not decide", err, tt.reason)
			}
			got := g.shadows()[before:]
			switch {
			case tt.shadow == nil && len(got) != 0:
				t.Errorf("shadow decisions %+v, want none", got)
			case tt.shadow != nil && (len(got) != 1 || got[0] != *tt.shadow):
				t.Errorf("shadow decisions %+v, want %+v", got, *tt.shadow)
			}
		})
	}
}

func TestShadowDisagreementsAreLoggedAtABoundedRate(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	)
	idp := entratest.NewServer(t)
	authz, logs := authztest.NewAuthorizer(t, idp, []entra.Option{
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
	})
	interceptor.SetShadowLogClock(authz, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	conn := authztest.Serve(t, authz, authztest.NewItems(), nil)
	token := idp.Issue(entratest.Claim("oid", annOID), entratest.Scopes("Items.Read"))
	call := func() {
		t.Helper()
		if err := conn.Invoke(withToken(token), authztest.Own, authztest.NewNoteRequest(annOID, ""), &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	lines := func() []string {
		var out []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "shadow rule disagrees") {
				out = append(out, l)
			}
		}
		return out
	}
	for range 5 {
		call()
	}
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "enforced=ALLOWED shadow=INSUFFICIENT_SCOPE") || !strings.Contains(got[0], "method="+authztest.Own) || !strings.Contains(got[0], "oid="+annOID) {
		t.Fatalf("five disagreements within the interval logged %d lines: %q", len(got), got)
	}
	mu.Lock()
	now = now.Add(interceptor.DefaultShadowLogInterval)
	mu.Unlock()
	call()
	got := lines()
	if len(got) != 2 || !strings.Contains(got[1], "unlogged_since_last=4") {
		t.Fatalf("after the interval: %q", got)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("a token was logged")
	}
}

// Transports that are not gRPC servers decide a call with Authorize and
// each request message with AuthorizeMessage, as the interceptors do.
func TestAuthorizeMessageChecksTheCondition(t *testing.T) {
	idp := entratest.NewServer(t)
	authz, logs := authztest.NewAuthorizer(t, idp, []entra.Option{
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
	})
	token := idp.Issue(entratest.Claim("oid", annOID), entratest.Scopes("Items.Read"))
	// Authorize cannot check the condition: it fails closed.
	_, err := authz.Authorize(context.Background(), authztest.Mine, []string{"Bearer " + token})
	wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonConditionFailed)
	_, err = authz.AuthorizeRequest(context.Background(), authztest.Mine, []string{"Bearer " + token}, authztest.NewNoteRequest(benOID, ""))
	wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonConditionFailed)
	ctx, err := authz.AuthorizeRequest(context.Background(), authztest.Mine, []string{"Bearer " + token}, authztest.NewNoteRequest(annOID, ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := authz.AuthorizeMessage(ctx, authztest.Mine, authztest.NewNoteRequest(annOID, "")); err != nil {
		t.Errorf("own note: %v", err)
	}
	err = authz.AuthorizeMessage(ctx, authztest.Mine, authztest.NewNoteRequest(benOID, ""))
	wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonConditionFailed)
	err = authz.AuthorizeMessage(ctx, authztest.Mine, nil)
	wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonConditionFailed)
	if !strings.Contains(logs.String(), "no request message") {
		t.Errorf("the evaluation error is not logged:\n%s", logs)
	}
	err = authz.AuthorizeMessage(ctx, authztest.Debug, authztest.NewNoteRequest(annOID, ""))
	wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonNoRule)
	// A context Authorize did not return carries no caller: the method's
	// rule, not only its condition, refuses it, whatever the message
	// (here one the condition holds for with no caller).
	err = authz.AuthorizeMessage(context.Background(), authztest.Mine, authztest.NewNoteRequest("", ""))
	wantDenial(t, err, codes.PermissionDenied, authzerr.ReasonInsufficientScope)
}

// AuthorizeMessage tries the shadow rule's condition on each further
// message, as the stream interceptor does: a message the enforced rule
// admits and the shadow rule would not is a disagreement.
func TestAuthorizeMessageTriesTheShadowRule(t *testing.T) {
	idp := entratest.NewServer(t)
	var got []interceptor.ShadowDecision
	authz, _ := authztest.NewAuthorizer(t, idp, []entra.Option{
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
	}, interceptor.WithShadowHook(func(_ context.Context, d interceptor.ShadowDecision) { got = append(got, d) }))
	token := idp.Issue(entratest.Claim("oid", annOID), entratest.Scopes("Items.Write"))
	ctx, err := authz.AuthorizeRequest(context.Background(), authztest.Chat, []string{"Bearer " + token}, authztest.NewNoteRequest(annOID, "hello"))
	if err != nil || len(got) != 0 {
		t.Fatalf("first message: %v, disagreements %+v", err, got)
	}
	if err := authz.AuthorizeMessage(ctx, authztest.Chat, authztest.NewNoteRequest(annOID, "draft")); err != nil {
		t.Fatalf("a message the enforced rule admits: %v", err)
	}
	if len(got) != 1 || got[0].FullMethod != authztest.Chat || got[0].Enforced != rules.OutcomeAllowed || got[0].Shadow != authzerr.ReasonConditionFailed {
		t.Fatalf("disagreements %+v, want one: enforced %s, shadow %s", got, rules.OutcomeAllowed, authzerr.ReasonConditionFailed)
	}
}

// A stream's messages are tried against the shadow rule's condition too:
// each message on which the two conditions disagree is counted, and the
// stream goes on as the enforced rule says.
func TestShadowConditionsOnStreamMessages(t *testing.T) {
	g := newGuardedEnv(t)
	ann := g.user(annOID, entratest.Scopes("Items.Write"))
	st, err := g.conn.NewStream(withToken(ann), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, authztest.Chat)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"final", "draft", "draft", "final"} {
		if err := st.SendMsg(authztest.NewNoteRequest(annOID, text)); err != nil {
			t.Fatal(err)
		}
		if err := st.RecvMsg(new(structpb.Struct)); err != nil {
			t.Fatalf("message %q: %v: the shadow rule must not decide", text, err)
		}
	}
	_ = st.CloseSend()
	if err := st.RecvMsg(new(structpb.Struct)); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	want := interceptor.ShadowDecision{FullMethod: authztest.Chat, Enforced: "ALLOWED", Shadow: authzerr.ReasonConditionFailed}
	got := g.shadows()
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("shadow decisions %+v, want two %+v", got, want)
	}
}
