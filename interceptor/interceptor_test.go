package interceptor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// env is the test services behind the interceptor on a real gRPC server on
// loopback, with the test identity provider.
type env struct {
	idp   *entratest.Server
	c     authztest.Client
	items *authztest.Items
	logs  *authztest.Logs
}

// newEnv starts the test identity provider and the test services behind
// the interceptor, trusting the provider's tenant.
func newEnv(t *testing.T, opts ...entra.Option) *env {
	t.Helper()
	idp := entratest.NewServer(t)
	return newTenancyEnv(t, idp, append([]entra.Option{
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	}, opts...)...)
}

// newTenancyEnv is newEnv with a validator configured by opts alone.
func newTenancyEnv(t *testing.T, idp *entratest.Server, opts ...entra.Option) *env {
	t.Helper()
	return newHookedEnv(t, idp, nil, opts...)
}

// newHookedEnv is newTenancyEnv with interceptor options.
func newHookedEnv(t *testing.T, idp *entratest.Server, iopts []interceptor.Option, opts ...entra.Option) *env {
	t.Helper()
	return serveEnv(t, idp, nil, iopts, opts...)
}

// serveEnv is newHookedEnv serving the given services (the test services
// when nil).
func serveEnv(t *testing.T, idp *entratest.Server, svc *services, iopts []interceptor.Option, opts ...entra.Option) *env {
	t.Helper()
	authz, logs := authztest.NewAuthorizer(t, idp, opts, iopts...)
	items := authztest.NewItems()
	var itemsSrv authztest.ItemsServer = items
	var infoSrv authztest.InfoServer
	if svc != nil {
		itemsSrv, infoSrv = svc.items, svc.info
	}
	conn := authztest.Serve(t, authz, itemsSrv, infoSrv)
	return &env{idp: idp, c: authztest.Client{Conn: conn}, items: items, logs: logs}
}

// services replaces the test services of an env.
type services struct {
	items authztest.ItemsServer
	info  authztest.InfoServer
}

func withToken(token string) context.Context { return authztest.WithToken(token) }

func reason(err error) string { return authzerr.FromError(err).GetReason() }

// ignoreNotFound turns NotFound, the handler's answer, into success: the
// interceptor let the call through.
func ignoreNotFound(err error) error {
	if status.Code(err) == codes.NotFound {
		return nil
	}
	return err
}

// calls runs one RPC of each kind, each of a method with a rule of its own
// kind, to its end, and returns the first error.
var calls = map[string]func(ctx context.Context, e *env) error{
	"Get (unary, service default scope)": func(ctx context.Context, e *env) error {
		_, err := e.c.Get(ctx, "item-1")
		return err
	},
	"Create (unary, scope)": func(ctx context.Context, e *env) error {
		_, err := e.c.Create(ctx, "x")
		return err
	},
	"Delete (unary, app role)": func(ctx context.Context, e *env) error {
		return ignoreNotFound(e.c.Unary(ctx, authztest.Delete, "no-such-item"))
	},
	"GetInfo (unary, anonymous)": func(ctx context.Context, e *env) error {
		_, err := e.c.GetInfo(ctx)
		return err
	},
	"WhoAmI (unary, authenticated)": func(ctx context.Context, e *env) error {
		return e.c.Unary(ctx, authztest.WhoAmI, "")
	},
	"Debug (unary, no rule)": func(ctx context.Context, e *env) error {
		return e.c.Unary(ctx, authztest.Debug, "")
	},
	"Export (server stream, scope or role)": func(ctx context.Context, e *env) error {
		got, err := e.c.Export(ctx)
		if err == nil && len(got) < 3 {
			return errors.New("exported too few items")
		}
		return err
	},
	"Watch (server stream, service default scope)": func(ctx context.Context, e *env) error {
		got, err := e.c.Watch(ctx, 2)
		if err == nil && len(got) != 2 {
			return errors.New("watched the wrong count")
		}
		return err
	},
	"Import (client stream, all of two scopes)": func(ctx context.Context, e *env) error {
		n, err := e.c.Import(ctx, false, "a", "b", "c")
		if err == nil && n != 3 {
			return errors.New("imported the wrong count")
		}
		return err
	},
	"Sync (bidi stream, any of two scopes)": func(ctx context.Context, e *env) error {
		return e.c.Sync(ctx, false, "item-3", "item-1")
	},
}

// token is a named set of token options.
type token struct {
	name string
	opts []entratest.TokenOption
}

// ruleCase is, for one method of calls, the tokens that must pass, those
// that must get PermissionDenied, and the outcome without a token.
type ruleCase struct {
	method string
	allow  []token
	deny   []token
	noAuth codes.Code
}

var ruleCases = []ruleCase{
	{"Get (unary, service default scope)",
		[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}},
		[]token{{"user with Items.Write only", []entratest.TokenOption{entratest.Scopes("Items.Write")}}, {"app with Items.Read as a role", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Read")}}},
		codes.Unauthenticated},
	{"Create (unary, scope)",
		[]token{{"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}},
		[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}, {"user with items.write in the wrong case", []entratest.TokenOption{entratest.Scopes("items.write")}}, {"app carrying scope Items.Write", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Scopes("Items.Write")}}},
		codes.Unauthenticated},
	{"Delete (unary, app role)",
		[]token{{"app with Items.Admin", []entratest.TokenOption{entratest.ForApp("admin-daemon")}}},
		[]token{{"user with scope Items.Admin", []entratest.TokenOption{entratest.Scopes("Items.Admin")}}, {"app with Items.Export only", []entratest.TokenOption{entratest.ForApp("reporting-daemon")}}},
		codes.Unauthenticated},
	{"GetInfo (unary, anonymous)",
		[]token{{"user with any scope", []entratest.TokenOption{entratest.Scopes("Items.Read")}}},
		nil,
		codes.OK},
	{"WhoAmI (unary, authenticated)",
		[]token{{"user with any scope", []entratest.TokenOption{entratest.Scopes("Items.Read")}}, {"app with any role", []entratest.TokenOption{entratest.ForApp("reporting-daemon")}}},
		nil,
		codes.Unauthenticated},
	{"Debug (unary, no rule)",
		nil,
		[]token{{"user with every scope", []entratest.TokenOption{entratest.Scopes("Items.Read", "Items.Write", "Items.Import", "Items.Sync")}}, {"app with every role", []entratest.TokenOption{entratest.ForApp("admin-daemon")}}},
		codes.PermissionDenied},
	{"Export (server stream, scope or role)",
		[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}, {"app with Items.Export", []entratest.TokenOption{entratest.ForApp("reporting-daemon")}}, {"app with Items.Export also carrying scope Items.Read", []entratest.TokenOption{entratest.ForApp("reporting-daemon"), entratest.Scopes("Items.Read")}}},
		[]token{{"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}, {"app with Items.Admin only", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Admin")}}, {"app with Items.Admin only carrying scope Items.Read", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Admin"), entratest.Scopes("Items.Read")}}},
		codes.Unauthenticated},
	{"Watch (server stream, service default scope)",
		[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}},
		[]token{{"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}},
		codes.Unauthenticated},
	{"Import (client stream, all of two scopes)",
		[]token{{"user with Items.Write and Items.Import", []entratest.TokenOption{entratest.Scopes("Items.Write", "Items.Import")}}},
		[]token{{"user with Items.Write only", []entratest.TokenOption{entratest.Scopes("Items.Write")}}, {"user with Items.Import only", []entratest.TokenOption{entratest.Scopes("Items.Import")}}},
		codes.Unauthenticated},
	{"Sync (bidi stream, any of two scopes)",
		[]token{{"user with Items.Sync", []entratest.TokenOption{entratest.Scopes("Items.Sync")}}, {"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}},
		[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}, {"app carrying scope Items.Sync", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Scopes("Items.Sync")}}},
		codes.Unauthenticated},
}

// checkRules runs every ruleCase against e.
func checkRules(t *testing.T, e *env) {
	for _, tt := range ruleCases {
		call := calls[tt.method]
		if call == nil {
			t.Fatalf("no call for %s", tt.method)
		}
		for _, tok := range tt.allow {
			t.Run(tt.method+"/"+tok.name+" is allowed", func(t *testing.T) {
				if err := call(withToken(e.idp.Issue(tok.opts...)), e); err != nil {
					t.Fatalf("denied: %v", err)
				}
			})
		}
		for _, tok := range tt.deny {
			t.Run(tt.method+"/"+tok.name+" is denied with 403", func(t *testing.T) {
				err := call(withToken(e.idp.Issue(tok.opts...)), e)
				if status.Code(err) != codes.PermissionDenied {
					t.Fatalf("got %v, want PermissionDenied", err)
				}
			})
		}
		t.Run(tt.method+"/no token gives "+tt.noAuth.String(), func(t *testing.T) {
			err := call(context.Background(), e)
			if status.Code(err) != tt.noAuth {
				t.Fatalf("got %v, want %v", err, tt.noAuth)
			}
			if tt.noAuth == codes.Unauthenticated && reason(err) != authzerr.ReasonTokenMissing {
				t.Fatalf("reason %q, want %s", reason(err), authzerr.ReasonTokenMissing)
			}
		})
	}
}

func TestEveryRuleKindOnEveryRPCKind(t *testing.T) {
	checkRules(t, newEnv(t))
}

func TestBadTokensAreRejectedWith401(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	tests := []struct {
		name   string
		auth   []string // raw authorization values; nil means "Bearer "+token
		opts   []entratest.TokenOption
		msg    string
		reason string
	}{
		{name: "an expired token", opts: []entratest.TokenOption{entratest.IssuedAt(now.Add(-3 * time.Hour)), entratest.ExpiresIn(time.Hour)}, msg: "invalid token: token expired", reason: authzerr.ReasonTokenExpired},
		{name: "a token valid only from tomorrow", opts: []entratest.TokenOption{entratest.NotBefore(now.Add(24 * time.Hour))}, msg: "invalid token: token not yet valid"},
		{name: "a token for another audience", opts: []entratest.TokenOption{entratest.Audience("00000003-0000-0000-c000-000000000000")}, msg: "invalid token: wrong audience"},
		{name: "a token from another issuer", opts: []entratest.TokenOption{entratest.IssuerClaim("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")}, msg: "invalid token: wrong issuer"},
		{name: "a token signed by the wrong key under a published kid", opts: []entratest.TokenOption{entratest.SignedWithWrongKey()}, msg: "invalid token: invalid signature"},
		{name: "a token signed by an unknown key", opts: []entratest.TokenOption{entratest.SignedWithUnknownKey()}, msg: "invalid token: signing key not found"},
		{name: "an alg none token", opts: []entratest.TokenOption{entratest.AlgNone()}, msg: "invalid token: signing algorithm not allowed"},
		{name: "an HS256 token keyed with the public key", opts: []entratest.TokenOption{entratest.HS256WithPublicKey()}, msg: "invalid token: signing algorithm not allowed"},
		{name: "an RS384 token when only RS256 is allowed", opts: []entratest.TokenOption{entratest.Algorithm("RS384")}, msg: "invalid token: signing algorithm not allowed"},
		{name: "a token without kid", opts: []entratest.TokenOption{entratest.WithoutKeyID()}, msg: "invalid token: token has no key ID"},
		{name: "a token with neither scp nor roles", opts: []entratest.TokenOption{entratest.WithoutClaim("scp")}, msg: "invalid token: not an access token for this API"},
		{name: "a token without exp", opts: []entratest.TokenOption{entratest.WithoutClaim("exp")}, msg: "invalid token: malformed token"},
		{name: "a token with a crit header", opts: []entratest.TokenOption{entratest.Header("crit", []string{"exp"})}, msg: "invalid token: malformed token"},
		{name: "a token whose scp is not a string", opts: []entratest.TokenOption{entratest.Claim("scp", 42)}, msg: "invalid token: malformed token"},
		{name: "a token by an unknown key pointing at its own jku and jwk", opts: []entratest.TokenOption{entratest.SignedWithUnknownKey(), entratest.Header("jku", "http://127.0.0.1:1/keys"), entratest.Header("x5u", "http://127.0.0.1:1/cert")}, msg: "invalid token: signing key not found"},
		{name: "a string that is not a JWT", auth: []string{"Bearer not-a-jwt"}, msg: "invalid token: malformed token"},
		{name: "three dots of nothing", auth: []string{"Bearer .."}, msg: "invalid token: malformed token"},
		{name: "a token larger than the limit", auth: []string{"Bearer " + strings.Repeat("a", 16<<10+1)}, msg: "invalid token: token too large"},
		{name: "the Basic scheme", auth: []string{"Basic dXNlcjpwYXNz"}, msg: "authorization scheme must be Bearer"},
		{name: "an empty bearer", auth: []string{"Bearer "}, msg: "empty bearer token"},
		{name: "two authorization values", auth: []string{"Bearer a.b.c", "Bearer d.e.f"}, msg: "more than one authorization value", reason: authzerr.ReasonInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			ctx := context.Background()
			values := tt.auth
			if values == nil {
				values = []string{"Bearer " + e.idp.Issue(append([]entratest.TokenOption{entratest.Scopes("Items.Read")}, tt.opts...)...)}
			}
			for _, v := range values {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
			}
			_, err := e.c.Get(ctx, "item-1")
			st := status.Convert(err)
			if st.Code() != codes.Unauthenticated || st.Message() != tt.msg {
				t.Fatalf("got %v %q, want Unauthenticated %q", st.Code(), st.Message(), tt.msg)
			}
			want := tt.reason
			if want == "" {
				want = authzerr.ReasonTokenInvalid
			}
			if reason(err) != want {
				t.Fatalf("reason %q, want %q", reason(err), want)
			}
		})
	}
	t.Run("a valid token that names a jku is validated with the published keys only", func(t *testing.T) {
		tok := e.idp.Issue(entratest.Scopes("Items.Read"), entratest.Header("jku", "http://127.0.0.1:1/keys"))
		if _, err := e.c.Get(withToken(tok), "item-1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a tampered payload is rejected", func(t *testing.T) {
		good := e.idp.Issue(entratest.Scopes("Items.Read"))
		evil := e.idp.Issue(entratest.Scopes("Items.Read Items.Write"))
		p1, p2 := strings.Split(good, "."), strings.Split(evil, ".")
		forged := p1[0] + "." + p2[1] + "." + p1[2]
		_, err := e.c.Get(withToken(forged), "item-1")
		if status.Convert(err).Message() != "invalid token: invalid signature" {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAllowedRS384WhenConfigured(t *testing.T) {
	e := newEnv(t, entra.WithAlgorithms("RS256", "RS384"))
	tok := e.idp.Issue(entratest.Scopes("Items.Read"), entratest.Algorithm("RS384"))
	if _, err := e.c.Get(withToken(tok), "item-1"); err != nil {
		t.Fatal(err)
	}
}

func TestPermissionDeniedNamesWhatIsRequired(t *testing.T) {
	e := newEnv(t)
	err := e.c.Unary(withToken(e.idp.Issue(entratest.Scopes("Items.Read"))), authztest.Delete, "item-1")
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied || st.Message() != "requires role Items.Admin" {
		t.Fatalf("got %v %q", st.Code(), st.Message())
	}
	info := authzerr.FromError(err)
	if info.GetReason() != authzerr.ReasonInsufficientScope || info.GetMetadata()[authzerr.MetadataRoles] != "Items.Admin" {
		t.Fatalf("error info = %v", info)
	}
	_, err = e.c.Create(withToken(e.idp.Issue(entratest.ForApp("admin-daemon"), entratest.Scopes("Items.Write"))), "x")
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "requires scope Items.Write (scopes do not count for an app-only token)" || reason(err) != authzerr.ReasonInsufficientScope {
		t.Fatalf("app-only token carrying the scope: got %v %q", st.Code(), st.Message())
	}
	err = e.c.Unary(withToken(e.idp.Issue()), authztest.Debug, "")
	if reason(err) != authzerr.ReasonNoRule || status.Convert(err).Message() != "method has no access rule" {
		t.Fatalf("got %v", err)
	}
}

func TestHandlersSeeTheCaller(t *testing.T) {
	e := newEnv(t)
	alice := e.idp.Users()[0]
	tok := e.idp.Issue(entratest.ForUser(alice.Username), entratest.Scopes("Items.Write"))
	item, err := e.c.Create(withToken(tok), "pen")
	if err != nil {
		t.Fatal(err)
	}
	if owner := item.GetFields()["owner"].GetStringValue(); owner != alice.ObjectID {
		t.Fatalf("owner %q, want alice's oid %q", owner, alice.ObjectID)
	}
	info, err := e.c.GetInfo(withToken(tok))
	if got := info.GetFields()["caller"].GetStringValue(); err != nil || got != alice.ObjectID {
		t.Fatalf("GetInfo = %v, %v; want caller %q", info, err, alice.ObjectID)
	}
	info, err = e.c.GetInfo(context.Background())
	if got := info.GetFields()["caller"].GetStringValue(); err != nil || got != "" {
		t.Fatalf("anonymous GetInfo = %v, %v; want no caller", info, err)
	}
	_, err = e.c.GetInfo(withToken(e.idp.Issue(entratest.ExpiresIn(-time.Hour))))
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous method with an expired token: %v, want Unauthenticated", err)
	}
}

func TestDeniedStreamsNeverReachTheHandler(t *testing.T) {
	e := newEnv(t)
	before := e.items.Len()
	err := calls["Import (client stream, all of two scopes)"](withToken(e.idp.Issue(entratest.Scopes("Items.Write"))), e)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("import: %v", err)
	}
	err = calls["Sync (bidi stream, any of two scopes)"](withToken(e.idp.Issue(entratest.Scopes("Items.Read"))), e)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("sync: %v", err)
	}
	if after := e.items.Len(); after != before {
		t.Fatalf("a denied stream changed the store: %d items, then %d", before, after)
	}
}

func TestDecisionsAreLoggedWithoutTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.idp.Issue(entratest.Scopes("Items.Read"))
	if _, err := e.c.Get(withToken(tok), "item-1"); err != nil {
		t.Fatal(err)
	}
	bad := e.idp.Issue(entratest.Scopes("Items.Read"), entratest.SignedWithWrongKey())
	_, _ = e.c.Get(withToken(bad), "item-1")
	_ = e.c.Unary(withToken(tok), authztest.Delete, "item-1")
	logs := e.logs.String()
	for _, want := range []string{
		"outcome=allow", "method=" + authztest.Get,
		"outcome=deny", "reason=TOKEN_INVALID", "reason=INSUFFICIENT_SCOPE", "oid=",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{tok, bad, strings.Split(tok, ".")[2], strings.Split(bad, ".")[1]} {
		if strings.Contains(logs, secret) {
			t.Fatal("a token appears in the logs")
		}
	}
}

func TestStreamsEndWhenTheirTokenExpires(t *testing.T) {
	const (
		skew = time.Minute
		life = 200 * time.Millisecond // what the expiring token has left when its stream opens
	)
	// The validator's clock stands still, so each token's remaining life
	// is exactly what the test gives it, however slow the machine: every
	// token is valid when its stream opens.
	expiring := time.Now().Add(time.Hour).Truncate(time.Second) // exp claims are whole seconds
	now := expiring.Add(skew - life)
	withinSkew := now.Add(-skew / 2).Truncate(time.Second) // past exp by the clock, valid by the skew
	fresh := expiring.Add(time.Hour)
	e := newEnv(t, entra.WithClock(func() time.Time { return now }), entra.WithClockSkew(skew))
	issue := func(exp time.Time, scopes ...string) string {
		return e.idp.Issue(entratest.Scopes(scopes...), entratest.IssuedAt(exp.Add(-time.Hour)), entratest.ExpiresIn(time.Hour))
	}
	watch := func(n int32) func(context.Context, *env) error {
		return func(ctx context.Context, e *env) error {
			_, err := e.c.Watch(ctx, n)
			return err
		}
	}
	// syncForever sends changes and reads the answers until the stream
	// ends: the handler only ever waits in Recv, never on its context.
	syncForever := func(ctx context.Context, e *env) error { return e.c.Sync(ctx, true, "item-3") }
	// importForever sends items until the stream ends: the handler only
	// receives, and would store every item it is given.
	importForever := func(ctx context.Context, e *env) error {
		_, err := e.c.Import(ctx, true)
		return err
	}
	syncUnknown := func(ctx context.Context, e *env) error { return e.c.Sync(ctx, false, "no-such-item") }
	tests := []struct {
		name   string
		exp    time.Time
		scopes []string
		call   func(context.Context, *env) error
		want   codes.Code
	}{
		{"a watch that ends before its token expires is unaffected", fresh, []string{"Items.Read"}, watch(2), codes.OK},
		{"an export that ends before its token expires is unaffected", fresh, []string{"Items.Read"}, calls["Export (server stream, scope or role)"], codes.OK},
		{"a stream whose token is past exp but within the clock skew runs to its end", withinSkew, []string{"Items.Read"}, watch(1), codes.OK},
		{"a handler's own error on a live token passes through", fresh, []string{"Items.Sync"}, syncUnknown, codes.NotFound},
		{"a watch that would run forever ends with 401 when its token expires", expiring, []string{"Items.Read"}, watch(0), codes.Unauthenticated},
		{"a sync that keeps sending ends with 401 when its token expires", expiring, []string{"Items.Sync"}, syncForever, codes.Unauthenticated},
		{"an import that keeps sending ends with 401 when its token expires", expiring, []string{"Items.Write", "Items.Import"}, importForever, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Bounds a stream that never ends, so the test fails instead of hanging.
			ctx, cancel := context.WithTimeout(withToken(issue(tt.exp, tt.scopes...)), 10*time.Second)
			defer cancel()
			err := tt.call(ctx, e)
			st := status.Convert(err)
			if st.Code() != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == codes.Unauthenticated && (reason(err) != authzerr.ReasonTokenExpired || st.Message() != "invalid token: token expired") {
				t.Fatalf("got reason %q, message %q; want %s, the answer to a token expired at the start", reason(err), st.Message(), authzerr.ReasonTokenExpired)
			}
		})
	}
	logs := e.logs.String()
	for _, want := range []string{"method=" + authztest.Watch + " outcome=deny reason=TOKEN_EXPIRED", "method=" + authztest.Sync + " outcome=deny reason=TOKEN_EXPIRED"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// The server log says what the token carried and what was accepted; the
// caller is told only what failed.
func TestWrongAudienceAndIssuerAreExplainedInTheServerLog(t *testing.T) {
	e := newEnv(t)
	const otherAud = "00000003-0000-0000-c000-000000000000"
	const otherIss = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
	tests := []struct {
		name    string
		opts    []entratest.TokenOption
		msg     string
		logSays []string
	}{
		{"a token for another audience", []entratest.TokenOption{entratest.Audience(otherAud)},
			"invalid token: wrong audience", []string{`wrong audience: aud \"` + otherAud + `\", accepted \"` + e.idp.ClientID() + `\"`}},
		{"a token from another issuer", []entratest.TokenOption{entratest.IssuerClaim(otherIss)},
			"invalid token: wrong issuer", []string{`wrong issuer: iss \"` + otherIss + `\", accepted \"` + e.idp.Issuer() + `\"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is logged with both sides", func(t *testing.T) {
			_, err := e.c.Get(withToken(e.idp.Issue(append([]entratest.TokenOption{entratest.Scopes("Items.Read")}, tt.opts...)...)), "item-1")
			if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != tt.msg {
				t.Fatalf("caller got %v %q, want Unauthenticated %q", st.Code(), st.Message(), tt.msg)
			}
			logs := e.logs.String()
			for _, want := range tt.logSays {
				if !strings.Contains(logs, want) {
					t.Errorf("the log does not say %s:\n%s", want, logs)
				}
			}
		})
	}
}
