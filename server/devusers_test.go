package server_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

// ruled is a service of unary methods (Empty in, Empty out) whose rules
// are given, built from a descriptor as protoc would have written it: the
// server reads its rules as it reads a generated service's.
func ruled(t *testing.T, name string, def *azureauthv1.Rule, rules map[string]*azureauthv1.Rule) []server.Option {
	t.Helper()
	sd := &descriptorpb.ServiceDescriptorProto{Name: proto.String("Svc")}
	if def != nil {
		sd.Options = &descriptorpb.ServiceOptions{}
		proto.SetExtension(sd.Options, azureauthv1.E_DefaultRule, def)
	}
	desc := grpc.ServiceDesc{ServiceName: name + ".Svc", HandlerType: (*any)(nil)}
	for m, r := range rules {
		md := &descriptorpb.MethodDescriptorProto{Name: proto.String(m), InputType: proto.String(".google.protobuf.Empty"), OutputType: proto.String(".google.protobuf.Empty")}
		if r != nil {
			md.Options = &descriptorpb.MethodOptions{}
			proto.SetExtension(md.Options, azureauthv1.E_Rule, r)
		}
		sd.Method = append(sd.Method, md)
		desc.Methods = append(desc.Methods, grpc.MethodDesc{MethodName: m, Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			return &emptypb.Empty{}, dec(new(emptypb.Empty))
		}})
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String(name + "/svc.proto"), Package: proto.String(name), Syntax: proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto"}, Service: []*descriptorpb.ServiceDescriptorProto{sd},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	return []server.Option{
		server.WithDescriptors(files),
		server.WithServices(server.Service{Register: func(s grpc.ServiceRegistrar) { s.RegisterService(&desc, struct{}{}) }}),
	}
}

// notes has the rules of examples/notes: reading needs Notes.Read or
// Notes.ReadWrite, writing Notes.ReadWrite, sharing Notes.ReadWrite and
// Notes.Share, exporting Notes.Read or the role Notes.Export, purging the
// role Notes.Admin.
func notes(t *testing.T) []server.Option {
	return ruled(t, "notes.v1", &azureauthv1.Rule{Scopes: []string{"Notes.Read", "Notes.ReadWrite"}, ScopeMatch: azureauthv1.Match_MATCH_ANY},
		map[string]*azureauthv1.Rule{
			"List":   nil,
			"Write":  {Scopes: []string{"Notes.ReadWrite"}},
			"Share":  {Scopes: []string{"Notes.ReadWrite", "Notes.Share"}, ScopeMatch: azureauthv1.Match_MATCH_ALL},
			"Export": {Scopes: []string{"Notes.Read"}, Roles: []string{"Notes.Export"}},
			"Purge":  {Roles: []string{"Notes.Admin"}},
			"Hello":  {Anonymous: true},
		})
}

// accounts describes the development users and apps: "alice [A B] bob [A]
// reporting-daemon [C] admin-daemon [C D]".
func accounts(idp *devidp.Provider) string {
	var parts []string
	for _, u := range idp.Users() {
		parts = append(parts, fmt.Sprintf("%s %v", u.Username, u.Scopes))
	}
	for _, a := range idp.Apps() {
		parts = append(parts, fmt.Sprintf("%s %v", a.Name, a.Roles))
	}
	return strings.Join(parts, " ")
}

// newDev builds a development server with opts, logging to the returned
// buffer, and releases it when the test ends.
func newDev(t *testing.T, opts ...server.Option) (*server.Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	srv, err := server.New(devConfig, append([]server.Option{server.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = srv.Serve(ctx)
	})
	return srv, logs
}

// Without WithDevIdentityProvider, the development users and apps have
// the scopes and roles the rules name: alice every scope, bob the
// read-only ones, admin-daemon every role, reporting-daemon the roles a
// rule accepts in place of bob's scopes; and no warning is logged.
func TestDevelopmentAccountsFollowTheRules(t *testing.T) {
	tests := []struct {
		name string
		opts []server.Option
		want string
	}{
		{"the Items example's", example(),
			"alice [Items.Import Items.Read Items.Sync Items.Write] bob [Items.Read] reporting-daemon [Items.Export] admin-daemon [Items.Admin Items.Export]"},
		{"the notes example's", notes(t),
			"alice [Notes.Read Notes.ReadWrite Notes.Share] bob [Notes.Read] reporting-daemon [Notes.Export] admin-daemon [Notes.Admin Notes.Export]"},
		{"without a read scope, bob has the first scope", ruled(t, "orders.v1", nil, map[string]*azureauthv1.Rule{
			"Create": {Scopes: []string{"Orders.Create"}}, "Approve": {Scopes: []string{"Orders.Approve"}, Roles: []string{"Orders.Approver"}},
		}), "alice [Orders.Approve Orders.Create] bob [Orders.Approve] reporting-daemon [Orders.Approver] admin-daemon [Orders.Approver]"},
		{"rules without scopes or roles give none", ruled(t, "open.v1", nil, map[string]*azureauthv1.Rule{
			"Hello": {Anonymous: true}, "Me": {Authenticated: true},
		}), "alice [] bob [] reporting-daemon [] admin-daemon []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs := newDev(t, tt.opts...)
			if got := accounts(srv.DevIDP()); got != tt.want {
				t.Errorf("development accounts:\n got %s\nwant %s", got, tt.want)
			}
			if strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("warnings:\n%s", logs)
			}
		})
	}
}

// make token AS=bob SCOPES=Items.Read and make token APP=admin-daemon
// work against the Items example: the token endpoint gives bob Items.Read
// and admin-daemon its roles, and refuses bob a scope he lacks.
func TestDevelopmentAccountsSignInWithTheRulesPermissions(t *testing.T) {
	srv := servertest.Start(t, devConfig, append(example(), quiet)...)
	idp := srv.DevIDP()
	tests := []struct {
		name string
		form url.Values
		code int
		want string // claim=value
	}{
		{"bob gets Items.Read", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"dev"}, "scope": {idp.AppIDURI() + "/Items.Read"}},
			200, "scp=Items.Read"},
		{"bob is refused Items.Write", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"dev"}, "scope": {idp.AppIDURI() + "/Items.Write"}},
			400, ""},
		{"alice gets every scope with .default", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"dev"}, "scope": {idp.AppIDURI() + "/.default"}},
			200, "scp=Items.Import Items.Read Items.Sync Items.Write"},
		{"admin-daemon gets every role", url.Values{"grant_type": {"client_credentials"}, "client_id": {devidp.AdminDaemonClientID}, "client_secret": {"dev-secret"}, "scope": {idp.AppIDURI() + "/.default"}},
			200, "roles=[Items.Admin Items.Export]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("client_id", cmp.Or(tt.form.Get("client_id"), devidp.DefaultSPAClientID))
			resp, err := http.PostForm(idp.TokenURL(), tt.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.code {
				t.Fatalf("%s, want %d", resp.Status, tt.code)
			}
			if tt.want == "" {
				return
			}
			claims, err := srv.Validator().Validate(context.Background(), body.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			got := "scp=" + claims.Scopes.String()
			if strings.HasPrefix(tt.want, "roles=") {
				got = fmt.Sprintf("roles=%v", claims.Roles.Names())
			}
			if got != tt.want {
				t.Fatalf("%s, want %s", got, tt.want)
			}
		})
	}
}

// WithDevIdentityProvider's users and apps replace those of the rules, and
// each scope or role a rule names that none of them has is a warning at
// startup naming the methods that need it.
func TestDevelopmentAccountsMissingAScopeOrRoleAreAWarning(t *testing.T) {
	ann := devidp.User{Name: "Ann", Username: "ann", ObjectID: "5d4e6f70-8192-4ca3-8eb5-f60718293a45", Password: "dev", Scopes: []string{"Notes.Read", "Notes.ReadWrite"}}
	backup := devidp.App{Name: "backup-daemon", ClientID: "backup-daemon", ClientSecret: "dev-secret", ObjectID: "7f608192-a3b4-4ec5-a0d7-18293a4b5c67", Roles: []string{"Notes.Export"}}
	tests := []struct {
		name          string
		opts          []devidp.Option
		accounts      string
		warns, quiets []string
	}{
		{"users without a scope", []devidp.Option{devidp.WithUsers(ann)},
			"ann [Notes.Read Notes.ReadWrite] reporting-daemon [Notes.Export] admin-daemon [Notes.Admin Notes.Export]",
			[]string{`level=WARN msg="development mode: no development user has a scope that rules name, so the development identity provider issues no token with it; give it to a user with WithDevIdentityProvider(devidp.WithUsers(...))" scope=Notes.Share methods=[/notes.v1.Svc/Share]`},
			[]string{"scope=Notes.Read ", "scope=Notes.ReadWrite", "role="}},
		{"apps without a role", []devidp.Option{devidp.WithApps(backup)},
			"alice [Notes.Read Notes.ReadWrite Notes.Share] bob [Notes.Read] backup-daemon [Notes.Export]",
			[]string{`level=WARN msg="development mode: no development user or app has an app role that rules name, so the development identity provider issues no token with it; give it to an app with WithDevIdentityProvider(devidp.WithApps(...))" role=Notes.Admin methods=[/notes.v1.Svc/Purge]`},
			[]string{"scope=", "role=Notes.Export"}},
		{"a user's app role counts", []devidp.Option{devidp.WithApps(), devidp.WithUsers(devidp.User{Username: "root", Scopes: []string{"Notes.ReadWrite", "Notes.Share"}, Roles: []string{"Notes.Admin"}})},
			"root [Notes.ReadWrite Notes.Share]",
			[]string{"scope=Notes.Read methods=\"[/notes.v1.Svc/Export /notes.v1.Svc/List]\"", "role=Notes.Export methods=[/notes.v1.Svc/Export]"},
			[]string{"role=Notes.Admin", "scope=Notes.Share"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs := newDev(t, append(notes(t), server.WithDevIdentityProvider(tt.opts...))...)
			if got := accounts(srv.DevIDP()); got != tt.accounts {
				t.Errorf("development accounts:\n got %s\nwant %s", got, tt.accounts)
			}
			for _, w := range tt.warns {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("the log lacks %s:\n%s", w, logs)
				}
			}
			for _, q := range tt.quiets {
				if strings.Contains(logs.String(), q) {
					t.Errorf("the log has %s:\n%s", q, logs)
				}
			}
		})
	}
}

// An OpenAPI document with REST paths and no RegisterGateway serves
// nothing at those paths: a warning at startup lists them.
func TestOpenAPIWithoutGatewayIsAWarning(t *testing.T) {
	const warning = `level=WARN msg="the OpenAPI document lists REST paths but no service has a RegisterGateway, so no REST call is served: set Service.RegisterGateway to the generated Register…Handler" paths="[`
	tests := []struct {
		name string
		opts []server.Option
		warn bool
	}{
		{"the example without RegisterGateway", []server.Option{server.WithServices(server.Service{Register: items.Register}), server.WithOpenAPI(items.OpenAPI())}, true},
		{"the example with RegisterGateway", example(), false},
		{"no OpenAPI document", []server.Option{server.WithServices(server.Service{Register: items.Register})}, false},
		{"a document without paths", []server.Option{server.WithServices(server.Service{Register: items.Register}), server.WithOpenAPI([]byte(`{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{}}`))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, logs := newDev(t, tt.opts...)
			if got := strings.Contains(logs.String(), warning); got != tt.warn {
				t.Fatalf("warned %v, want %v:\n%s", got, tt.warn, logs)
			}
			if tt.warn && !strings.Contains(logs.String(), "/v1/items") {
				t.Fatalf("the warning does not name the paths:\n%s", logs)
			}
		})
	}
}
