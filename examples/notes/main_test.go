package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"

	notesv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/notes/v1"
)

// env is the notes server, started exactly as main starts it but trusting
// a test identity provider as it would trust a real tenant.
type env struct {
	idp   *entratest.Server
	srv   *server.Server
	notes notesv1.NoteServiceClient
	about notesv1.AboutServiceClient
}

// start serves the notes service with servertest.Start, the serving kit's
// test helper: it returns once the server is SERVING, with a client
// connection to it, and stops it when the test ends.
func start(t *testing.T) *env {
	t.Helper()
	idp := entratest.NewServer(t, entratest.WithUsers(ann, ben), entratest.WithApps(backupDaemon, offboardingDaemon))
	cfg := server.Config{
		TenantID:      idp.TenantID(),
		ClientID:      idp.ClientID(),
		AuthorityHost: idp.Authority(),
		GRPCAddr:      "127.0.0.1:0",
		HTTPAddr:      "127.0.0.1:0",
	}
	srv := servertest.Start(t, cfg, append(options(nil), server.WithLogger(slog.New(slog.DiscardHandler)))...)
	return &env{idp: idp, srv: srv.Server, notes: notesv1.NewNoteServiceClient(srv.Conn), about: notesv1.NewAboutServiceClient(srv.Conn)}
}

// Tokens of the tests' callers.
func (e *env) user(u entratest.User, scopes ...string) string {
	return e.idp.Issue(entratest.ForUser(u.Username), entratest.Scopes(scopes...))
}

// steppedUp is u's token after a sign-in that satisfied the authentication
// context c1, which deleting a note requires.
func (e *env) steppedUp(u entratest.User, scopes ...string) string {
	return e.idp.Issue(entratest.ForUser(u.Username), entratest.Scopes(scopes...), entratest.AuthContexts("c1"))
}

func (e *env) app(a entratest.App) string { return e.idp.Issue(entratest.ForApp(a.ClientID)) }

func (e *env) expired() string {
	return e.idp.Issue(entratest.ForUser(ann.Username), entratest.ExpiresIn(-time.Hour))
}

func withToken(token string) context.Context {
	ctx := context.Background()
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// note creates a note as owner and, if reader is set, shares it with reader.
func (e *env) note(t *testing.T, owner entratest.User, reader *entratest.User) string {
	t.Helper()
	tok := e.user(owner, "Notes.ReadWrite", "Notes.Share")
	created, err := e.notes.CreateNote(withToken(tok), &notesv1.CreateNoteRequest{Note: &notesv1.Note{Title: "Groceries", Text: "Milk, eggs"}})
	if err != nil {
		t.Fatal(err)
	}
	if reader != nil {
		if _, err := e.notes.ShareNote(withToken(tok), &notesv1.ShareNoteRequest{Id: created.GetNote().GetId(), User: reader.ObjectID}); err != nil {
			t.Fatal(err)
		}
	}
	return created.GetNote().GetId()
}

// export reads a whole ExportNotes stream.
func export(ctx context.Context, c notesv1.NoteServiceClient) ([]*notesv1.Note, error) {
	stream, err := c.ExportNotes(ctx, &notesv1.ExportNotesRequest{})
	if err != nil {
		return nil, err
	}
	var out []*notesv1.Note
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, resp.GetNote())
	}
}

func TestEveryRuleKindOverGRPC(t *testing.T) {
	e := start(t)
	shared := e.note(t, ann, &ben)

	tests := []struct {
		name  string
		token string
		call  func(ctx context.Context) error
		want  codes.Code
	}{
		// anonymous
		{"anyone learns what the service is without a token", "", e.getAbout, codes.OK},
		{"a caller with a valid token learns it too", e.user(ben, "Notes.Read"), e.getAbout, codes.OK},
		{"an expired token is refused even where no token is needed", e.expired(), e.getAbout, codes.Unauthenticated},
		// authenticated
		{"who-am-i without a token is unauthenticated", "", e.whoAmI, codes.Unauthenticated},
		{"who-am-i answers a user with a scope of another kind", e.user(ben, "Notes.Share"), e.whoAmI, codes.OK},
		{"who-am-i answers a daemon", e.app(offboardingDaemon), e.whoAmI, codes.OK},
		{"who-am-i refuses an expired token", e.expired(), e.whoAmI, codes.Unauthenticated},
		// the service's default rule: any of Notes.Read, Notes.ReadWrite
		{"listing without a token is unauthenticated", "", e.listNotes, codes.Unauthenticated},
		{"listing with Notes.Read is allowed", e.user(ben, "Notes.Read"), e.listNotes, codes.OK},
		{"listing with Notes.ReadWrite alone is allowed", e.user(ann, "Notes.ReadWrite"), e.listNotes, codes.OK},
		{"listing with Notes.Share alone is denied", e.user(ann, "Notes.Share"), e.listNotes, codes.PermissionDenied},
		{"listing with an app role is denied: the default rule is delegated", e.app(backupDaemon), e.listNotes, codes.PermissionDenied},
		// a method's rule overrides the default
		{"writing with Notes.Read is denied: the method asks Notes.ReadWrite", e.user(ben, "Notes.Read"), e.createNote, codes.PermissionDenied},
		{"writing with Notes.ReadWrite is allowed", e.user(ann, "Notes.ReadWrite"), e.createNote, codes.OK},
		// all of two scopes
		{"sharing with Notes.ReadWrite alone is denied: it needs Notes.Share too", e.user(ann, "Notes.ReadWrite"), e.shareNote(shared), codes.PermissionDenied},
		{"sharing with Notes.Share alone is denied", e.user(ann, "Notes.Share"), e.shareNote(shared), codes.PermissionDenied},
		{"sharing with both scopes is allowed", e.user(ann, "Notes.ReadWrite", "Notes.Share"), e.shareNote(shared), codes.OK},
		// scope or app role, on a stream
		{"exporting with Notes.Read is allowed", e.user(ben, "Notes.Read"), e.exportNotes, codes.OK},
		{"exporting as a daemon with Notes.Export is allowed", e.app(backupDaemon), e.exportNotes, codes.OK},
		{"exporting with Notes.ReadWrite is denied: the method asks Notes.Read", e.user(ann, "Notes.ReadWrite"), e.exportNotes, codes.PermissionDenied},
		{"exporting as a daemon without Notes.Export is denied", e.app(offboardingDaemon), e.exportNotes, codes.PermissionDenied},
		{"exporting without a token is unauthenticated", "", e.exportNotes, codes.Unauthenticated},
		// app role
		{"purging as a daemon with Notes.Admin is allowed", e.app(offboardingDaemon), e.purgeNotes, codes.OK},
		{"purging as a user with every scope is denied: it needs an app role", e.user(ann, "Notes.Read", "Notes.ReadWrite", "Notes.Share"), e.purgeNotes, codes.PermissionDenied},
		{"purging as a daemon with another role is denied", e.app(backupDaemon), e.purgeNotes, codes.PermissionDenied},
		{"purging with a token signed by an unknown key is unauthenticated", e.idp.Issue(entratest.ForApp(offboardingDaemon.ClientID), entratest.SignedWithWrongKey()), e.purgeNotes, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(withToken(tt.token))
			if got := status.Code(err); got != tt.want {
				t.Fatalf("got %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func (e *env) getAbout(ctx context.Context) error {
	_, err := e.about.GetAbout(ctx, &notesv1.GetAboutRequest{})
	return err
}

func (e *env) whoAmI(ctx context.Context) error {
	_, err := e.about.WhoAmI(ctx, &notesv1.WhoAmIRequest{})
	return err
}

func (e *env) listNotes(ctx context.Context) error {
	_, err := e.notes.ListNotes(ctx, &notesv1.ListNotesRequest{})
	return err
}

func (e *env) createNote(ctx context.Context) error {
	_, err := e.notes.CreateNote(ctx, &notesv1.CreateNoteRequest{Note: &notesv1.Note{Title: "Ideas"}})
	return err
}

func (e *env) shareNote(id string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := e.notes.ShareNote(ctx, &notesv1.ShareNoteRequest{Id: id, User: ben.ObjectID})
		return err
	}
}

func (e *env) exportNotes(ctx context.Context) error {
	_, err := export(ctx, e.notes)
	return err
}

func (e *env) purgeNotes(ctx context.Context) error {
	_, err := e.notes.PurgeNotes(ctx, &notesv1.PurgeNotesRequest{Owner: "9a8b7c6d-0000-4000-8000-000000000000"})
	return err
}

func TestHandlersSeeTheCaller(t *testing.T) {
	e := start(t)
	mine := e.note(t, ann, &ben)
	e.note(t, ben, nil)

	me, err := e.about.WhoAmI(withToken(e.user(ann, "Notes.Read")), &notesv1.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if me.GetObjectId() != ann.ObjectID || me.GetName() != ann.Name || me.GetAppOnly() || !slices.Equal(me.GetScopes(), []string{"Notes.Read"}) {
		t.Errorf("ann is told %v", me)
	}
	daemon, err := e.about.WhoAmI(withToken(e.app(backupDaemon)), &notesv1.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if daemon.GetObjectId() != backupDaemon.ObjectID || !daemon.GetAppOnly() || !slices.Equal(daemon.GetRoles(), []string{"Notes.Export"}) {
		t.Errorf("the export daemon is told %v", daemon)
	}

	list, err := e.notes.ListNotes(withToken(e.user(ben, "Notes.Read")), &notesv1.ListNotesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetNotes()) != 2 {
		t.Errorf("ben lists %d notes, want his own and the one ann shared", len(list.GetNotes()))
	}
	if _, err := e.notes.GetNote(withToken(e.user(ben, "Notes.Read")), &notesv1.GetNoteRequest{Id: mine}); err != nil {
		t.Errorf("ben reads the note ann shared: %v", err)
	}

	byUser, err := export(withToken(e.user(ann, "Notes.Read")), e.notes)
	if err != nil || len(byUser) != 1 || byUser[0].GetId() != mine {
		t.Errorf("ann exports %v, %v; want her one note", byUser, err)
	}
	byDaemon, err := export(withToken(e.app(backupDaemon)), e.notes)
	if err != nil || len(byDaemon) != 2 {
		t.Errorf("the export daemon exports %d notes, %v; want every note (2)", len(byDaemon), err)
	}

	purged, err := e.notes.PurgeNotes(withToken(e.app(offboardingDaemon)), &notesv1.PurgeNotesRequest{Owner: ben.ObjectID})
	if err != nil || purged.GetDeleted() != 1 {
		t.Errorf("purging ben's notes: %v, %v; want 1 deleted", purged, err)
	}
}

func TestOnlyTheOwnerMayDeleteOrShareANote(t *testing.T) {
	e := start(t)
	id := e.note(t, ann, &ben)
	stranger := entratest.User{Username: "carol"} // a made-up user of the tenant

	tests := []struct {
		name  string
		token string
		call  func(context.Context) error
		want  codes.Code
	}{
		{"a reader it was shared with may not delete it", e.steppedUp(ben, "Notes.ReadWrite"), e.deleteNote(id), codes.PermissionDenied},
		{"a reader it was shared with may not share it further", e.user(ben, "Notes.ReadWrite", "Notes.Share"), e.shareNote(id), codes.PermissionDenied},
		{"a stranger does not even find it", e.steppedUp(stranger, "Notes.ReadWrite"), e.deleteNote(id), codes.NotFound},
		{"the owner deletes it", e.steppedUp(ann, "Notes.ReadWrite"), e.deleteNote(id), codes.OK},
		{"then it is gone", e.steppedUp(ann, "Notes.ReadWrite"), e.deleteNote(id), codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(withToken(tt.token))
			if got := status.Code(err); got != tt.want {
				t.Fatalf("got %v (%v), want %v", got, err, tt.want)
			}
			// The handler refuses as a rule does: clients branch on one reason.
			if info := authzerr.FromError(err); tt.want == codes.PermissionDenied && (info == nil || info.GetReason() != authzerr.ReasonInsufficientScope) {
				t.Errorf("ErrorInfo %v, want reason %s", info, authzerr.ReasonInsufficientScope)
			}
		})
	}
}

func (e *env) deleteNote(id string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := e.notes.DeleteNote(ctx, &notesv1.DeleteNoteRequest{Id: id})
		return err
	}
}

func TestEveryRuleKindOverREST(t *testing.T) {
	e := start(t)
	shared := e.note(t, ann, &ben)
	scope := "api://" + e.idp.ClientID() + "/"

	tests := []struct {
		name, method, path, payload, token string
		want                               int
		// challenge holds what WWW-Authenticate must contain.
		challenge []string
		// body is what the answer must contain.
		body string
	}{
		{name: "anyone learns what the service is", method: "GET", path: "/v1/about", want: 200},
		{name: "who-am-i without a token gets a bare challenge", method: "GET", path: "/v1/me", want: 401,
			challenge: []string{`Bearer realm=`}},
		{name: "who-am-i with any valid token answers", method: "GET", path: "/v1/me", token: e.app(backupDaemon), want: 200,
			body: `"objectId":"` + backupDaemon.ObjectID + `"`},
		{name: "an expired token gets invalid_token", method: "GET", path: "/v1/notes", token: e.expired(), want: 401,
			challenge: []string{`error="invalid_token"`}},
		{name: "listing with Notes.Read answers", method: "GET", path: "/v1/notes", token: e.user(ben, "Notes.Read"), want: 200},
		{name: "listing with Notes.Share alone names both scopes that would do", method: "GET", path: "/v1/notes", token: e.user(ann, "Notes.Share"), want: 403,
			challenge: []string{`error="insufficient_scope"`, scope + "Notes.Read", scope + "Notes.ReadWrite"}},
		{name: "writing with Notes.Read is forbidden", method: "POST", path: "/v1/notes", payload: `{"title":"Ideas"}`, token: e.user(ben, "Notes.Read"), want: 403,
			challenge: []string{`error="insufficient_scope"`, `scope="` + scope + `Notes.ReadWrite"`}},
		{name: "writing with Notes.ReadWrite answers", method: "POST", path: "/v1/notes", payload: `{"title":"Ideas"}`, token: e.user(ann, "Notes.ReadWrite"), want: 200},
		{name: "sharing with one of the two scopes is forbidden", method: "POST", path: "/v1/notes/" + shared + ":share", payload: `{"user":"` + ben.ObjectID + `"}`, token: e.user(ann, "Notes.ReadWrite"), want: 403,
			challenge: []string{`error="insufficient_scope"`, scope + "Notes.ReadWrite " + scope + "Notes.Share"}},
		{name: "sharing with both scopes answers", method: "POST", path: "/v1/notes/" + shared + ":share", payload: `{"user":"` + ben.ObjectID + `"}`, token: e.user(ann, "Notes.ReadWrite", "Notes.Share"), want: 200},
		{name: "exporting as a daemon streams", method: "GET", path: "/v1/notes:export", token: e.app(backupDaemon), want: 200,
			body: `{"result":{"note":{"id":"` + shared + `"`},
		{name: "exporting as a user without Notes.Read is forbidden", method: "GET", path: "/v1/notes:export", token: e.user(ann, "Notes.ReadWrite"), want: 403,
			challenge: []string{`error="insufficient_scope"`}},
		{name: "purging as a daemon with Notes.Admin answers", method: "POST", path: "/v1/notes:purge", payload: `{"owner":"` + ben.ObjectID + `"}`, token: e.app(offboardingDaemon), want: 200},
		{name: "purging as a user is forbidden", method: "POST", path: "/v1/notes:purge", payload: `{"owner":"` + ben.ObjectID + `"}`, token: e.user(ann, "Notes.ReadWrite"), want: 403,
			challenge: []string{`error="insufficient_scope"`}},
		{name: "deleting a note shared with you is forbidden by the handler, with the same challenge", method: "DELETE", path: "/v1/notes/" + shared, token: e.steppedUp(ben, "Notes.ReadWrite"), want: 403,
			challenge: []string{`error="insufficient_scope"`, `error_description="only the note's owner may delete it"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.srv.HTTPURL()+tt.path, strings.NewReader(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, body, tt.want)
			}
			got := resp.Header.Get("WWW-Authenticate")
			for _, want := range tt.challenge {
				if !strings.Contains(got, want) {
					t.Errorf("WWW-Authenticate %q does not contain %q", got, want)
				}
			}
			if tt.token == "" && strings.Contains(got, "error=") {
				t.Errorf("WWW-Authenticate %q names an error, but no token came (RFC 6750 3.1)", got)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body %s does not contain %s", body, tt.body)
			}
		})
	}
}

func TestOpenAPISecurityPerOperation(t *testing.T) {
	e := start(t)
	resp, err := http.Get(e.srv.HTTPURL() + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/openapi.json: %s", resp.Status)
	}
	var doc struct {
		Info  struct{ Title string }
		Paths map[string]map[string]struct {
			Security  []map[string][]string
			Rule      string   `json:"x-azureauth-rule"`
			Condition string   `json:"x-azureauth-condition"`
			Contexts  []string `json:"x-azureauth-auth-contexts"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Title != "Notes API" {
		t.Errorf("title %q, want the notes proto's", doc.Info.Title)
	}
	scope := "api://" + e.idp.ClientID() + "/"
	anyToken := []map[string][]string{{openapi.SchemeName: {}}}
	tests := []struct {
		name, method, path string
		want               []map[string][]string
		condition          string
		contexts           []string
	}{
		{"the anonymous operation takes a token if there is one", "get", "/v1/about", []map[string][]string{{}, {openapi.SchemeName: {}}}, "", nil},
		{"the authenticated operation needs any token", "get", "/v1/me", anyToken, "", nil},
		{"the default rule offers either scope", "get", "/v1/notes", []map[string][]string{{openapi.SchemeName: {scope + "Notes.Read"}}, {openapi.SchemeName: {scope + "Notes.ReadWrite"}}}, "", nil},
		{"the method's rule replaces the default", "post", "/v1/notes", []map[string][]string{{openapi.SchemeName: {scope + "Notes.ReadWrite"}}}, "", nil},
		{"reporting, which calls the audit log, shows the notes API's own default rule", "post", "/v1/notes/{id}:report", []map[string][]string{{openapi.SchemeName: {scope + "Notes.Read"}}, {openapi.SchemeName: {scope + "Notes.ReadWrite"}}}, "", nil},
		{"all of two scopes are one requirement", "post", "/v1/notes/{id}:share", []map[string][]string{{openapi.SchemeName: {scope + "Notes.ReadWrite", scope + "Notes.Share"}}}, "", nil},
		{"scope or role shows the scope a user signs in for, and the role's token", "get", "/v1/notes:export", []map[string][]string{{openapi.SchemeName: {scope + "Notes.Read"}}, {openapi.SchemeName: {}}}, "", nil},
		{"an app role needs a token without a particular scope", "post", "/v1/notes:purge", anyToken, "", nil},
		{"listing a user's notes states its condition beside the scope or role", "get", "/v1/users/{userId}/notes", []map[string][]string{{openapi.SchemeName: {scope + "Notes.Read"}}, {openapi.SchemeName: {}}},
			"request.user_id == caller.object_id || (caller.app_only && 'Notes.Admin' in caller.roles)", nil},
		{"deleting states the authentication context it needs", "delete", "/v1/notes/{id}", []map[string][]string{{openapi.SchemeName: {scope + "Notes.ReadWrite"}}}, "", []string{"c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, ok := doc.Paths[tt.path][tt.method]
			if !ok {
				t.Fatalf("no operation %s %s", tt.method, tt.path)
			}
			if op.Security == nil || !slices.EqualFunc(op.Security, tt.want, func(a, b map[string][]string) bool {
				return len(a) == len(b) && slices.Equal(a[openapi.SchemeName], b[openapi.SchemeName])
			}) {
				t.Errorf("security %v, want %v", op.Security, tt.want)
			}
			if op.Condition != tt.condition || !slices.Equal(op.Contexts, tt.contexts) {
				t.Errorf("x-azureauth-condition %q, x-azureauth-auth-contexts %v; want %q, %v", op.Condition, op.Contexts, tt.condition, tt.contexts)
			}
		})
	}
	// ListNotes' shadow rule is tried, never enforced: the document shows
	// the enforced rule alone.
	if got := doc.Paths["/v1/notes"]["get"].Rule; got != "one of scopes Notes.Read, Notes.ReadWrite" {
		t.Errorf("ListNotes x-azureauth-rule %q, want the enforced rule alone", got)
	}

	ui, err := http.Get(e.srv.HTTPURL() + "/docs/")
	if err != nil {
		t.Fatal(err)
	}
	ui.Body.Close()
	if ui.StatusCode != 200 {
		t.Errorf("/docs/: %s", ui.Status)
	}
}

func TestGoRunServesOnTheDevelopmentIdentityProvider(t *testing.T) {
	// What `go run .` builds: main's options, the development provider.
	srv := servertest.Start(t, server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"},
		append(options(nil), server.WithLogger(slog.New(slog.DiscardHandler)))...)

	// The development users and daemons are the notes service's, as the
	// README's curl commands get them.
	idp := srv.DevIDP()
	token := tokenFrom(t, idp, url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID},
		"username": {ann.Username}, "password": {ann.Password}, "scope": {idp.AppIDURI() + "/Notes.ReadWrite"}})
	daemon := tokenFrom(t, idp, url.Values{"grant_type": {"client_credentials"}, "client_id": {offboardingDaemon.ClientID},
		"client_secret": {offboardingDaemon.ClientSecret}, "scope": {idp.AppIDURI() + "/.default"}})
	if _, err := notesv1.NewNoteServiceClient(srv.Conn).PurgeNotes(withToken(daemon), &notesv1.PurgeNotesRequest{Owner: ben.ObjectID}); err != nil {
		t.Errorf("the development offboarding daemon purges: %v", err)
	}
	created, err := notesv1.NewNoteServiceClient(srv.Conn).CreateNote(withToken(token), &notesv1.CreateNoteRequest{Note: &notesv1.Note{Title: "Dev"}})
	if err != nil {
		t.Fatalf("a development token over gRPC: %v", err)
	}
	req, err := http.NewRequest("GET", srv.HTTPURL()+"/v1/notes/"+created.GetNote().GetId(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a development token over REST: %s", resp.Status)
	}
	for _, path := range []string{"/openapi.json", "/docs/", "/healthz", "/readyz"} {
		resp, err := http.Get(srv.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}
}

// tokenFrom gets an access token from the provider's token endpoint.
func tokenFrom(t *testing.T, idp *devidp.Provider, form url.Values) string {
	t.Helper()
	resp, err := http.PostForm(idp.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token endpoint (%s): %s %v", form.Get("grant_type"), resp.Status, err)
	}
	return body.AccessToken
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	e := start(t)
	id := e.note(t, ann, nil)
	writer := withToken(e.user(ann, "Notes.ReadWrite", "Notes.Share"))
	create := func(n *notesv1.Note) error {
		_, err := e.notes.CreateNote(writer, &notesv1.CreateNoteRequest{Note: n})
		return err
	}
	tests := []struct {
		name string
		err  error
	}{
		{"a note without a note is refused", create(nil)},
		{"a blank title is refused", create(&notesv1.Note{Title: "  "})},
		{"a title over 200 bytes is refused", create(&notesv1.Note{Title: strings.Repeat("a", 201)})},
		{"a text over 10 KiB is refused", create(&notesv1.Note{Title: "t", Text: strings.Repeat("a", 10<<10+1)})},
		{"sharing with nobody is refused", func() error {
			_, err := e.notes.ShareNote(writer, &notesv1.ShareNoteRequest{Id: id})
			return err
		}()},
		{"purging an owner with a space in its ID is refused", func() error {
			_, err := e.notes.PurgeNotes(withToken(e.app(offboardingDaemon)), &notesv1.PurgeNotesRequest{Owner: "a b"})
			return err
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status.Code(tt.err) != codes.InvalidArgument {
				t.Errorf("got %v, want InvalidArgument", tt.err)
			}
		})
	}
}
