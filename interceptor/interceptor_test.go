package interceptor_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
)

// syncBuffer collects logs written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	idp   *entratest.Server
	items itemsv1.ItemServiceClient
	info  itemsv1.InfoServiceClient
	logs  *syncBuffer
}

// newEnv starts the test identity provider and a real gRPC server on
// loopback running the example services behind the interceptor.
func newEnv(t *testing.T, opts ...entra.Option) *env {
	t.Helper()
	idp := entratest.NewServer(t)
	return newTenancyEnv(t, idp, append([]entra.Option{
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	}, opts...)...)
}

func withToken(token string) context.Context {
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return ctx
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// call runs one RPC of each kind the example has, to its end, and returns
// the first error.
var calls = map[string]func(ctx context.Context, e *env) error{
	"GetItem (unary, service default scope)": func(ctx context.Context, e *env) error {
		_, err := e.items.GetItem(ctx, &itemsv1.GetItemRequest{Id: "item-1"})
		return err
	},
	"CreateItem (unary, scope)": func(ctx context.Context, e *env) error {
		_, err := e.items.CreateItem(ctx, &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "x", Quantity: 1}})
		return err
	},
	"DeleteItem (unary, app role)": func(ctx context.Context, e *env) error {
		_, err := e.items.DeleteItem(ctx, &itemsv1.DeleteItemRequest{Id: "item-2"})
		return err
	},
	"GetInfo (unary, anonymous)": func(ctx context.Context, e *env) error {
		_, err := e.info.GetInfo(ctx, &itemsv1.GetInfoRequest{})
		return err
	},
	"GetDebugInfo (unary, no rule)": func(ctx context.Context, e *env) error {
		_, err := e.info.GetDebugInfo(ctx, &itemsv1.GetDebugInfoRequest{})
		return err
	},
	"ExportItems (server stream, scope or role)": func(ctx context.Context, e *env) error {
		st, err := e.items.ExportItems(ctx, &itemsv1.ExportItemsRequest{})
		if err != nil {
			return err
		}
		for {
			if _, err := st.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	},
	"WatchItems (server stream, service default scope)": func(ctx context.Context, e *env) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		st, err := e.items.WatchItems(ctx, &itemsv1.WatchItemsRequest{MaxEvents: 1})
		if err != nil {
			return err
		}
		if _, err := st.Header(); err != nil {
			return err
		}
		// The watch is registered once headers arrive; cause one change.
		if _, err := e.items.CreateItem(withToken(e.idp.Issue(entratest.Scopes("Items.Write"))), &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "w"}}); err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	},
	"ImportItems (client stream, all of two scopes)": func(ctx context.Context, e *env) error {
		st, err := e.items.ImportItems(ctx)
		if err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			if err := st.Send(&itemsv1.ImportItemsRequest{Item: &itemsv1.Item{Name: "imported"}}); err != nil {
				break // the status comes with CloseAndRecv
			}
		}
		resp, err := st.CloseAndRecv()
		if err == nil && resp.GetCreated() != 3 {
			return errors.New("imported wrong count")
		}
		return err
	},
	"SyncItems (bidi stream, any of two scopes)": func(ctx context.Context, e *env) error {
		st, err := e.items.SyncItems(ctx)
		if err != nil {
			return err
		}
		if err := st.Send(&itemsv1.SyncItemsRequest{Id: "item-3", Delta: 1}); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if _, err := st.Recv(); err != nil {
			return err
		}
		return st.CloseSend()
	},
}

func TestEveryRuleKindOnEveryRPCKind(t *testing.T) {
	type token struct {
		name string
		opts []entratest.TokenOption
	}
	// For each method: the tokens that must pass, and those that must get
	// PermissionDenied. Every method is also called with no token.
	tests := []struct {
		method string
		allow  []token
		deny   []token
		noAuth codes.Code // outcome without a token
	}{
		{"GetItem (unary, service default scope)",
			[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}},
			[]token{{"user with Items.Write only", []entratest.TokenOption{entratest.Scopes("Items.Write")}}, {"app with Items.Read as a role", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Read")}}},
			codes.Unauthenticated},
		{"CreateItem (unary, scope)",
			[]token{{"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}},
			[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}, {"user with items.write in the wrong case", []entratest.TokenOption{entratest.Scopes("items.write")}}, {"app carrying scope Items.Write", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Scopes("Items.Write")}}},
			codes.Unauthenticated},
		{"DeleteItem (unary, app role)",
			[]token{{"app with Items.Admin", []entratest.TokenOption{entratest.ForApp("admin-daemon")}}},
			[]token{{"user with scope Items.Admin", []entratest.TokenOption{entratest.Scopes("Items.Admin")}}, {"app with Items.Export only", []entratest.TokenOption{entratest.ForApp("reporting-daemon")}}},
			codes.Unauthenticated},
		{"GetInfo (unary, anonymous)",
			[]token{{"user with any scope", []entratest.TokenOption{entratest.Scopes("Items.Read")}}},
			nil,
			codes.OK},
		{"GetDebugInfo (unary, no rule)",
			nil,
			[]token{{"user with every scope", []entratest.TokenOption{entratest.Scopes("Items.Read", "Items.Write", "Items.Import", "Items.Sync")}}, {"app with every role", []entratest.TokenOption{entratest.ForApp("admin-daemon")}}},
			codes.PermissionDenied},
		{"ExportItems (server stream, scope or role)",
			[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}, {"app with Items.Export", []entratest.TokenOption{entratest.ForApp("reporting-daemon")}}, {"app with Items.Export also carrying scope Items.Read", []entratest.TokenOption{entratest.ForApp("reporting-daemon"), entratest.Scopes("Items.Read")}}},
			[]token{{"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}, {"app with Items.Admin only", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Admin")}}, {"app with Items.Admin only carrying scope Items.Read", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Admin"), entratest.Scopes("Items.Read")}}},
			codes.Unauthenticated},
		{"WatchItems (server stream, service default scope)",
			[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}},
			[]token{{"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}},
			codes.Unauthenticated},
		{"ImportItems (client stream, all of two scopes)",
			[]token{{"user with Items.Write and Items.Import", []entratest.TokenOption{entratest.Scopes("Items.Write", "Items.Import")}}},
			[]token{{"user with Items.Write only", []entratest.TokenOption{entratest.Scopes("Items.Write")}}, {"user with Items.Import only", []entratest.TokenOption{entratest.Scopes("Items.Import")}}},
			codes.Unauthenticated},
		{"SyncItems (bidi stream, any of two scopes)",
			[]token{{"user with Items.Sync", []entratest.TokenOption{entratest.Scopes("Items.Sync")}}, {"user with Items.Write", []entratest.TokenOption{entratest.Scopes("Items.Write")}}},
			[]token{{"user with Items.Read", []entratest.TokenOption{entratest.Scopes("Items.Read")}}, {"app carrying scope Items.Sync", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Scopes("Items.Sync")}}},
			codes.Unauthenticated},
	}
	e := newEnv(t)
	for _, tt := range tests {
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
			if tt.noAuth == codes.Unauthenticated && reason(err) != interceptor.ReasonTokenMissing {
				t.Fatalf("reason %q, want %s", reason(err), interceptor.ReasonTokenMissing)
			}
		})
	}
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
		{name: "an expired token", opts: []entratest.TokenOption{entratest.IssuedAt(now.Add(-3 * time.Hour)), entratest.ExpiresIn(time.Hour)}, msg: "invalid token: token expired", reason: interceptor.ReasonTokenExpired},
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
		{name: "a token larger than the limit", auth: []string{"Bearer " + strings.Repeat("a", entra.DefaultMaxTokenBytes+1)}, msg: "invalid token: token too large"},
		{name: "the Basic scheme", auth: []string{"Basic dXNlcjpwYXNz"}, msg: "authorization scheme must be Bearer"},
		{name: "an empty bearer", auth: []string{"Bearer "}, msg: "empty bearer token"},
		{name: "two authorization values", auth: []string{"Bearer a.b.c", "Bearer d.e.f"}, msg: "more than one authorization value"},
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
			_, err := e.items.GetItem(ctx, &itemsv1.GetItemRequest{Id: "item-1"})
			st := status.Convert(err)
			if st.Code() != codes.Unauthenticated || st.Message() != tt.msg {
				t.Fatalf("got %v %q, want Unauthenticated %q", st.Code(), st.Message(), tt.msg)
			}
			want := tt.reason
			if want == "" {
				want = interceptor.ReasonTokenInvalid
			}
			if reason(err) != want {
				t.Fatalf("reason %q, want %q", reason(err), want)
			}
		})
	}
	t.Run("a valid token that names a jku is validated with the published keys only", func(t *testing.T) {
		tok := e.idp.Issue(entratest.Scopes("Items.Read"), entratest.Header("jku", "http://127.0.0.1:1/keys"))
		if _, err := e.items.GetItem(withToken(tok), &itemsv1.GetItemRequest{Id: "item-1"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a tampered payload is rejected", func(t *testing.T) {
		good := e.idp.Issue(entratest.Scopes("Items.Read"))
		evil := e.idp.Issue(entratest.Scopes("Items.Read Items.Write"))
		p1, p2 := strings.Split(good, "."), strings.Split(evil, ".")
		forged := p1[0] + "." + p2[1] + "." + p1[2]
		_, err := e.items.GetItem(withToken(forged), &itemsv1.GetItemRequest{Id: "item-1"})
		if status.Convert(err).Message() != "invalid token: invalid signature" {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAllowedRS384WhenConfigured(t *testing.T) {
	e := newEnv(t, entra.WithAlgorithms("RS256", "RS384"))
	tok := e.idp.Issue(entratest.Scopes("Items.Read"), entratest.Algorithm("RS384"))
	if _, err := e.items.GetItem(withToken(tok), &itemsv1.GetItemRequest{Id: "item-1"}); err != nil {
		t.Fatal(err)
	}
}

func TestPermissionDeniedNamesWhatIsRequired(t *testing.T) {
	e := newEnv(t)
	_, err := e.items.DeleteItem(withToken(e.idp.Issue(entratest.Scopes("Items.Read"))), &itemsv1.DeleteItemRequest{Id: "item-1"})
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied || st.Message() != "requires role Items.Admin" {
		t.Fatalf("got %v %q", st.Code(), st.Message())
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		info, _ = d.(*errdetails.ErrorInfo)
	}
	if info.GetReason() != interceptor.ReasonInsufficientScope || info.GetMetadata()[interceptor.MetadataRoles] != "Items.Admin" {
		t.Fatalf("error info = %v", info)
	}
	_, err = e.items.CreateItem(withToken(e.idp.Issue(entratest.ForApp("admin-daemon"), entratest.Scopes("Items.Write"))), &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "x"}})
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "requires scope Items.Write (scopes do not count for an app-only token)" || reason(err) != interceptor.ReasonInsufficientScope {
		t.Fatalf("app-only token carrying the scope: got %v %q", st.Code(), st.Message())
	}
	_, err = e.info.GetDebugInfo(withToken(e.idp.Issue()), &itemsv1.GetDebugInfoRequest{})
	if reason(err) != interceptor.ReasonNoRule || status.Convert(err).Message() != "method has no access rule" {
		t.Fatalf("got %v", err)
	}
}

func TestHandlersSeeTheCaller(t *testing.T) {
	e := newEnv(t)
	alice := e.idp.Users()[0]
	tok := e.idp.Issue(entratest.ForUser(alice.Username), entratest.Scopes("Items.Write"))
	resp, err := e.items.CreateItem(withToken(tok), &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "pen", Quantity: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetItem().GetOwner() != alice.ObjectID {
		t.Fatalf("owner %q, want alice's oid %q", resp.GetItem().GetOwner(), alice.ObjectID)
	}
	info, err := e.info.GetInfo(withToken(tok), &itemsv1.GetInfoRequest{})
	if err != nil || info.GetCaller() != alice.ObjectID {
		t.Fatalf("GetInfo = %v, %v; want caller %q", info, err, alice.ObjectID)
	}
	info, err = e.info.GetInfo(context.Background(), &itemsv1.GetInfoRequest{})
	if err != nil || info.GetCaller() != "" {
		t.Fatalf("anonymous GetInfo = %v, %v; want no caller", info, err)
	}
	_, err = e.info.GetInfo(withToken(e.idp.Issue(entratest.ExpiresIn(-time.Hour))), &itemsv1.GetInfoRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous method with an expired token: %v, want Unauthenticated", err)
	}
}

func TestDeniedStreamsNeverReachTheHandler(t *testing.T) {
	e := newEnv(t)
	reader := withToken(e.idp.Issue(entratest.Scopes("Items.Read")))
	before, err := e.items.ListItems(reader, &itemsv1.ListItemsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	err = calls["ImportItems (client stream, all of two scopes)"](withToken(e.idp.Issue(entratest.Scopes("Items.Write"))), e)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("import: %v", err)
	}
	err = calls["SyncItems (bidi stream, any of two scopes)"](reader, e)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("sync: %v", err)
	}
	after, err := e.items.ListItems(reader, &itemsv1.ListItemsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.GetItems()) != len(before.GetItems()) || after.GetItems()[2].GetQuantity() != before.GetItems()[2].GetQuantity() {
		t.Fatalf("a denied stream changed the store: %v -> %v", before, after)
	}
}

func TestDecisionsAreLoggedWithoutTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.idp.Issue(entratest.Scopes("Items.Read"))
	if _, err := e.items.GetItem(withToken(tok), &itemsv1.GetItemRequest{Id: "item-1"}); err != nil {
		t.Fatal(err)
	}
	bad := e.idp.Issue(entratest.Scopes("Items.Read"), entratest.SignedWithWrongKey())
	_, _ = e.items.GetItem(withToken(bad), &itemsv1.GetItemRequest{Id: "item-1"})
	_, _ = e.items.DeleteItem(withToken(tok), &itemsv1.DeleteItemRequest{Id: "item-1"})
	logs := e.logs.String()
	for _, want := range []string{
		"outcome=allow", "method=/example.items.v1.ItemService/GetItem",
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

func TestInvalidPolicyFailsConstruction(t *testing.T) {
	if _, err := interceptor.New(nil); err == nil {
		t.Fatal("nil validator accepted")
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
	watch := func(maxEvents int32) func(context.Context, *env) error {
		return func(ctx context.Context, e *env) error {
			st, err := e.items.WatchItems(ctx, &itemsv1.WatchItemsRequest{MaxEvents: maxEvents})
			if err != nil {
				return err
			}
			if _, err := st.Header(); err != nil {
				return err
			}
			if maxEvents > 0 {
				// The watch is registered once headers arrive; cause the changes.
				for range maxEvents {
					if _, err := e.items.CreateItem(withToken(issue(fresh, "Items.Write")), &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "w"}}); err != nil {
						return err
					}
				}
			}
			for {
				if _, err := st.Recv(); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			}
		}
	}
	// syncForever sends changes and reads the answers until the stream
	// ends: the handler only ever waits in Recv, never on its context.
	syncForever := func(ctx context.Context, e *env) error {
		st, err := e.items.SyncItems(ctx)
		if err != nil {
			return err
		}
		for {
			if err := st.Send(&itemsv1.SyncItemsRequest{Id: "item-3"}); err != nil {
				_, err = st.Recv() // the status comes with Recv
				return err
			}
			if _, err := st.Recv(); err != nil {
				return err
			}
		}
	}
	// importForever sends items until the stream ends: the handler only
	// receives, and would store every item it is given.
	importForever := func(ctx context.Context, e *env) error {
		st, err := e.items.ImportItems(ctx)
		if err != nil {
			return err
		}
		for {
			if err := st.Send(&itemsv1.ImportItemsRequest{Item: &itemsv1.Item{Name: "imported"}}); err != nil {
				_, err = st.CloseAndRecv() // the status comes with CloseAndRecv
				return err
			}
		}
	}
	syncUnknown := func(ctx context.Context, e *env) error {
		st, err := e.items.SyncItems(ctx)
		if err != nil {
			return err
		}
		if err := st.Send(&itemsv1.SyncItemsRequest{Id: "no-such-item"}); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		_, err = st.Recv()
		return err
	}
	tests := []struct {
		name   string
		exp    time.Time
		scopes []string
		call   func(context.Context, *env) error
		want   codes.Code
	}{
		{"a watch that ends before its token expires is unaffected", fresh, []string{"Items.Read"}, watch(2), codes.OK},
		{"an export that ends before its token expires is unaffected", fresh, []string{"Items.Read"}, calls["ExportItems (server stream, scope or role)"], codes.OK},
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
			if tt.want == codes.Unauthenticated && (reason(err) != interceptor.ReasonTokenExpired || st.Message() != "invalid token: token expired") {
				t.Fatalf("got reason %q, message %q; want %s, the answer to a token expired at the start", reason(err), st.Message(), interceptor.ReasonTokenExpired)
			}
		})
	}
	logs := e.logs.String()
	for _, want := range []string{"method=/example.items.v1.ItemService/WatchItems outcome=deny reason=TOKEN_EXPIRED", "method=/example.items.v1.ItemService/SyncItems outcome=deny reason=TOKEN_EXPIRED"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
