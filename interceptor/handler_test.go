package interceptor_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// optOut marks a service that asks go-grpc-middleware's auth interceptors
// to skip authentication for all its methods.
type optOut struct{ asked atomic.Int32 }

func (o *optOut) AuthFuncOverride(ctx context.Context, _ string) (context.Context, error) {
	o.asked.Add(1)
	return ctx, nil
}

type optingOutItems struct {
	*authztest.Items
	*optOut
}

type optingOutInfo struct {
	authztest.Info
	*optOut
}

var (
	_ auth.ServiceAuthFuncOverride = optingOutItems{}
	_ auth.ServiceAuthFuncOverride = optingOutInfo{}
)

func TestServicesCannotOptOutOfTheirRules(t *testing.T) {
	idp := entratest.NewServer(t)
	o := &optOut{}
	// Without clock skew, so that a token expiring in a second or two ends
	// its stream that soon.
	e := serveEnv(t, idp, &services{items: optingOutItems{authztest.NewItems(), o}, info: optingOutInfo{authztest.Info{}, o}}, nil,
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
		entra.WithClockSkew(0))
	t.Run("every rule kind on every RPC kind still holds", func(t *testing.T) { checkRules(t, e) })
	t.Run("a stream still ends when its token expires", func(t *testing.T) {
		// exp is a whole second, at least one second ahead.
		exp := time.Now().Add(2 * time.Second).Truncate(time.Second)
		tok := idp.Issue(entratest.Scopes("Items.Read"), entratest.IssuedAt(exp.Add(-time.Hour)), entratest.ExpiresIn(time.Hour))
		ctx, cancel := context.WithTimeout(withToken(tok), 10*time.Second)
		defer cancel()
		_, err := e.c.Watch(ctx, 0)
		if reason(err) != authzerr.ReasonTokenExpired {
			t.Fatalf("got %v, want the stream ended with %s", err, authzerr.ReasonTokenExpired)
		}
	})
	if n := o.asked.Load(); n != 0 {
		t.Fatalf("AuthFuncOverride was consulted %d times", n)
	}
}

func TestHandlersDenyAsRulesDo(t *testing.T) {
	e := newEnv(t)
	alice := e.idp.Issue(entratest.ForUser("alice"), entratest.Scopes("Items.Write"))
	bob := e.idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Write"))
	item, err := e.c.Create(withToken(alice), "alice's pen")
	if err != nil {
		t.Fatal(err)
	}
	id := item.GetFields()["id"].GetStringValue()
	tests := []struct {
		name     string
		call     func() error
		code     codes.Code
		msg      string
		reason   string
		metadata map[string]string
	}{
		{"Deny: another user removing alice's item is denied with 403",
			func() error { return e.c.Unary(withToken(bob), authztest.Remove, id) },
			codes.PermissionDenied, "only the item's owner may remove it", authzerr.ReasonInsufficientScope, nil},
		{"RequireScope: a token without the scope the handler requires is denied as by a rule",
			func() error { return e.c.Unary(withToken(bob), authztest.Archive, "item-1") },
			codes.PermissionDenied, "requires scope Items.Archive", authzerr.ReasonInsufficientScope, map[string]string{authzerr.MetadataScopes: "Items.Archive"}},
		{"RequireScope: an app-only token carrying the scope is denied as by a rule",
			func() error {
				return e.c.Unary(withToken(e.idp.Issue(entratest.ForApp("admin-daemon"), entratest.Scopes("Items.Write", "Items.Archive"))), authztest.Archive, "item-1")
			},
			codes.PermissionDenied, "requires scope Items.Write (scopes do not count for an app-only token)", authzerr.ReasonInsufficientScope, map[string]string{authzerr.MetadataScopes: "Items.Write"}},
		{"RequireRole: a user without the role the handler requires is denied as by a rule",
			func() error { return e.c.Unary(withToken(bob), authztest.Purge, "") },
			codes.PermissionDenied, "requires role Items.Admin", authzerr.ReasonInsufficientScope, map[string]string{authzerr.MetadataRoles: "Items.Admin"}},
		{"RequireScope: a token with the scope passes",
			func() error {
				return e.c.Unary(withToken(e.idp.Issue(entratest.Scopes("Items.Write", "Items.Archive"))), authztest.Archive, "item-1")
			},
			codes.OK, "", "", nil},
		{"RequireRole: a user with the role passes",
			func() error {
				return e.c.Unary(withToken(e.idp.Issue(entratest.Scopes("Items.Write"), entratest.Roles("Items.Admin"))), authztest.Purge, "")
			},
			codes.OK, "", "", nil},
		{"Deny: the owner removes the item",
			func() error { return e.c.Unary(withToken(alice), authztest.Remove, id) },
			codes.OK, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			st := status.Convert(err)
			if st.Code() != tt.code || st.Message() != tt.msg {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			if tt.code == codes.OK {
				return
			}
			info := authzerr.FromError(err)
			if info.GetReason() != tt.reason || info.GetDomain() != authzerr.Domain || len(info.GetMetadata()) != len(tt.metadata) {
				t.Fatalf("error info %v, want reason %s and metadata %v", info, tt.reason, tt.metadata)
			}
			for k, v := range tt.metadata {
				if info.GetMetadata()[k] != v {
					t.Fatalf("metadata %v, want %v", info.GetMetadata(), tt.metadata)
				}
			}
		})
	}
	if _, err := e.c.Get(withToken(e.idp.Issue(entratest.Scopes("Items.Read"))), id); status.Code(err) != codes.NotFound {
		t.Fatalf("the owner's removal did not happen: %v", err)
	}
	// A rule denial and a RequireScope denial of the same scope are the same status.
	rule := e.c.Unary(withToken(e.idp.Issue(entratest.Scopes("Items.Read"))), authztest.Archive, "item-1")
	inHandler := e.c.Unary(withToken(bob), authztest.Archive, "item-1")
	ruleInfo, handlerInfo := authzerr.FromError(rule), authzerr.FromError(inHandler)
	if status.Code(rule) != status.Code(inHandler) || ruleInfo.GetReason() != handlerInfo.GetReason() || len(ruleInfo.GetMetadata()) != 1 {
		t.Fatalf("rule denial %v, handler denial %v", rule, inHandler)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "method="+authztest.Remove+" outcome=deny reason=INSUFFICIENT_SCOPE detail=\"only the item's owner may remove it\" by=handler") {
		t.Fatalf("the handler's denial was not logged:\n%s", logs)
	}
}

func TestRequireWithNoOrBadNamesFailsClosed(t *testing.T) {
	ctx := entra.NewContext(context.Background(), &entra.Claims{Scopes: entra.NewSet("A", "B"), Roles: entra.NewSet("R")})
	tests := []struct {
		name string
		err  error
	}{
		{"RequireScope without a name", interceptor.RequireScope(ctx)},
		{"RequireRole without a name", interceptor.RequireRole(ctx)},
		{"RequireScope with an empty name", interceptor.RequireScope(ctx, "A", "")},
		{"RequireScope with two names in one", interceptor.RequireScope(ctx, "A B")},
		{"RequireRole with a quote", interceptor.RequireRole(ctx, `R"`)},
		// The rules of rules.ValidateNames, the same as a rule's.
		{"RequireScope with a full URI", interceptor.RequireScope(ctx, "api://items/A")},
		{"RequireRole with a name too long for a rule", interceptor.RequireRole(ctx, strings.Repeat("R", rules.MaxNameLength+1))},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an internal error, never allowed", func(t *testing.T) {
			if status.Code(tt.err) != codes.Internal {
				t.Fatalf("got %v", tt.err)
			}
		})
	}
}
