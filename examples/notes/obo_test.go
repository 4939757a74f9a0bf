package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"

	"github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/auditlog"
	auditv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/audit/v1"
	notesv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/notes/v1"
)

// The tenant of the on-behalf-of tests has two APIs, as a real one would:
// the audit log, the identity provider's API, and the notes API, an app
// registration with a client secret that calls the audit log on behalf of
// its users.
const (
	auditClientID = "1e2d3c4b-5a69-4788-96a5-b4c3d2e1f0a9"
	// usGov is where the tests' identity provider answers: a real host
	// name over TLS, served on loopback, because the Azure SDK talks to
	// https authorities only.
	usGov = "https://login.microsoftonline.us"
)

var notesAPI = entratest.App{Name: "Notes API", ClientID: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", ClientSecret: "notes-secret",
	ObjectID: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}

// annConsented is ann, who consented to the notes service writing to the
// audit log for her (Audit.Write); ben did not.
var annConsented = func() entratest.User {
	u := ann
	u.Scopes = append(slices.Clone(ann.Scopes), "Audit.Write")
	return u
}()

// oboEnv is the notes service (A) and the audit log (B), each started as
// its main starts it, trusting the same identity provider.
type oboEnv struct {
	idp       *entratest.Server
	exchanges *tokenEndpointHits
	obo       *bearer.OnBehalfOf
	notes     notesv1.NoteServiceClient
	notesURL  string
	audit     auditv1.AuditServiceClient
}

// tokenEndpointHits is the notes service's HTTP client to the identity
// provider, counting the requests to its token endpoint: the on-behalf-of
// exchanges tried, failed ones included.
type tokenEndpointHits struct {
	client   *http.Client
	tokenURL string
	n        atomic.Int64
}

func (h *tokenEndpointHits) Do(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme+"://"+r.URL.Host+r.URL.Path == h.tokenURL {
		h.n.Add(1)
	}
	return h.client.Do(r)
}

var _ policy.Transporter = (*tokenEndpointHits)(nil)

// serveFor starts a server with a tenant (the test provider's) and the
// audience clientID, and waits until it serves.
func serveFor(t *testing.T, idp *entratest.Server, clientID string, opts ...server.Option) *servertest.Server {
	t.Helper()
	cfg := server.Config{TenantID: idp.TenantID(), ClientID: clientID, AuthorityHost: idp.Authority(),
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
	return servertest.Start(t, cfg, append(opts, server.WithIdentityProviderClient(idp.Client()), server.WithLogger(slog.New(slog.DiscardHandler)))...)
}

func startWithAuditLog(t *testing.T) *oboEnv {
	t.Helper()
	return startWithSecret(t, notesAPI.ClientSecret)
}

// startWithSecret starts the two services, the notes service with secret
// as its AZUREAD_CLIENT_SECRET.
func startWithSecret(t *testing.T, secret string) *oboEnv {
	t.Helper()
	idp := entratest.NewServerAt(t, usGov, entratest.WithClientID(auditClientID),
		entratest.WithUsers(annConsented, ben), entratest.WithApps(backupDaemon, offboardingDaemon, notesAPI))
	audit := serveFor(t, idp, idp.ClientID(), auditlog.Options()...)

	// The notes service's settings, as AZUREAD_TENANT_ID, AZUREAD_CLIENT_ID,
	// AZUREAD_CLIENT_SECRET, AZUREAD_AUTHORITY_HOST, AUDIT_ADDR and
	// AUDIT_SCOPE give them.
	cfg := server.Config{TenantID: idp.TenantID(), ClientID: notesAPI.ClientID, ClientSecret: secret, AuthorityHost: idp.Authority()}
	hits := &tokenEndpointHits{client: idp.Client(), tokenURL: idp.TokenURL()}
	conn, obo, err := dialAudit(cfg, audit.GRPCAddr(), idp.AppIDURI()+"/.default", hits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	notes := serveFor(t, idp, notesAPI.ClientID, options(auditv1.NewAuditServiceClient(conn))...)
	return &oboEnv{idp: idp, exchanges: hits, obo: obo, notes: notesv1.NewNoteServiceClient(notes.Conn), notesURL: notes.HTTPURL(),
		audit: auditv1.NewAuditServiceClient(audit.Conn)}
}

// toNotes is a user's token for the notes API, as the user's client
// (Swagger UI, a CLI) would get it.
func (e *oboEnv) toNotes(u entratest.User, scopes ...string) string {
	return e.idp.Issue(entratest.ForUser(u.Username), entratest.Audience(notesAPI.ClientID), entratest.Scopes(scopes...))
}

// noteSharedWithBen is a note of ann's that ben may read.
func (e *oboEnv) noteSharedWithBen(t *testing.T) string {
	t.Helper()
	tok := withToken(e.toNotes(ann, "Notes.ReadWrite", "Notes.Share"))
	created, err := e.notes.CreateNote(tok, &notesv1.CreateNoteRequest{Note: &notesv1.Note{Title: "Minutes"}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetNote().GetId()
	if _, err := e.notes.ShareNote(tok, &notesv1.ShareNoteRequest{Id: id, User: ben.ObjectID}); err != nil {
		t.Fatal(err)
	}
	return id
}

// reportREST reports a note over REST and returns the status and body.
func (e *oboEnv) reportREST(t *testing.T, id, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", e.notesURL+"/v1/notes/"+id+":report", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// subOf reads the sub claim of a token the test provider issued; a test
// reads its own tokens, the services never do.
func subOf(t *testing.T, token string) string {
	t.Helper()
	var c struct{ Sub string }
	if err := json.Unmarshal(payloadOf(t, token), &c); err != nil || c.Sub == "" {
		t.Fatalf("no sub: %v", err)
	}
	return c.Sub
}

// payloadOf decodes the payload of a compact token.
func payloadOf(t *testing.T, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("a token of %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTheAuditLogSeesTheUserNotTheNotesService(t *testing.T) {
	e := startWithAuditLog(t)
	id := e.noteSharedWithBen(t)
	token := e.toNotes(ann, "Notes.Read")
	// The audit log's own subject for ann: sub is pairwise, per API.
	want := &auditv1.Event{Action: "notes.report", Resource: "notes/" + id, ActorObjectId: ann.ObjectID,
		ActorSubject: subOf(t, e.idp.Issue(entratest.ForUser(ann.Username))), ActorName: ann.Name, ClientAppId: notesAPI.ClientID}
	check := func(t *testing.T, got *auditv1.Event) {
		t.Helper()
		got.Id = ""
		if !slices.Contains(got.Scopes, "Audit.Write") {
			t.Errorf("the audit log's token had scopes %v, want Audit.Write among them", got.Scopes)
		}
		got.Scopes = nil
		if got.String() != want.String() {
			t.Errorf("the audit log recorded\n %v\nwant\n %v", got, want)
		}
	}

	t.Run("over gRPC", func(t *testing.T) {
		resp, err := e.notes.ReportNote(withToken(token), &notesv1.ReportNoteRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp.GetEvent())
	})
	t.Run("over REST", func(t *testing.T) {
		code, body := e.reportREST(t, id, token)
		if code != http.StatusOK {
			t.Fatalf("POST :report = %d %s", code, body)
		}
		var resp notesv1.ReportNoteResponse
		if err := protojson.Unmarshal(body, &resp); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		check(t, resp.GetEvent())
	})
	t.Run("the exchange happened once for both calls of the same token", func(t *testing.T) {
		if n := e.exchanges.n.Load(); n != 1 || e.obo.Len() != 1 {
			t.Errorf("%d token requests, %d callers cached; want 1 and 1", n, e.obo.Len())
		}
		if n := e.idp.Fetches().Token; n != 1 {
			t.Errorf("the provider's token endpoint issued %d tokens, want 1", n)
		}
	})
}

func TestConcurrentCallsOfOneCallerShareOneExchange(t *testing.T) {
	e := startWithAuditLog(t)
	id := e.noteSharedWithBen(t)
	token := withToken(e.toNotes(ann, "Notes.Read"))
	const calls = 8
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			_, err := e.notes.ReportNote(token, &notesv1.ReportNoteRequest{Id: id})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.exchanges.n.Load(); n != 1 {
		t.Errorf("%d token requests for %d concurrent calls of one caller, want 1", n, calls)
	}
	// Another token of the same user is another caller's assertion.
	if _, err := e.notes.ReportNote(withToken(e.toNotes(ann, "Notes.ReadWrite")), &notesv1.ReportNoteRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	if n := e.exchanges.n.Load(); n != 2 {
		t.Errorf("%d token requests after a second token, want 2", n)
	}
}

func TestTheAuditLogsDenialReachesTheCaller(t *testing.T) {
	e := startWithAuditLog(t)
	id := e.noteSharedWithBen(t)
	// ben may read the note, so the notes service asks the audit log; his
	// token for the audit log has no Audit.Write (he never consented), so
	// the audit log refuses, and the notes service says so.
	token := e.toNotes(ben, "Notes.Read")

	_, err := e.notes.ReportNote(withToken(token), &notesv1.ReportNoteRequest{Id: id})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "the audit log refused the report") ||
		!strings.Contains(status.Convert(err).Message(), "Audit.Write") {
		t.Errorf("over gRPC: %v, want PermissionDenied saying the audit log refused for want of Audit.Write", err)
	}
	code, body := e.reportREST(t, id, token)
	if code != http.StatusForbidden || !strings.Contains(string(body), "the audit log refused the report") {
		t.Errorf("over REST: %d %s, want 403 saying the audit log refused", code, body)
	}
	if n := e.exchanges.n.Load(); n != 1 {
		t.Errorf("%d token requests, want 1: ben's token was exchanged once, the audit log refused it", n)
	}
}

func TestAFailedExchangeIsTheNotesServicesProblem(t *testing.T) {
	e := startWithSecret(t, "a secret the tenant does not know")
	id := e.noteSharedWithBen(t)
	_, err := e.notes.ReportNote(withToken(e.toNotes(ann, "Notes.Read")), &notesv1.ReportNoteRequest{Id: id})
	if status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "the audit log could not record the report" {
		t.Errorf("%v, want Unavailable, without the identity provider's details", err)
	}
	if e.exchanges.n.Load() == 0 {
		t.Error("no token request: the exchange was not tried")
	}
}

func TestCallersWithoutAUserAreRefusedBeforeAnyExchange(t *testing.T) {
	e := startWithAuditLog(t)
	id := e.noteSharedWithBen(t)
	tests := []struct {
		name  string
		token string
		grpc  codes.Code
		rest  int
	}{
		{"an anonymous caller is unauthenticated", "", codes.Unauthenticated, http.StatusUnauthorized},
		{"a daemon with its own token for the notes API is denied: reporting is delegated",
			e.idp.Issue(entratest.ForApp(backupDaemon.ClientID), entratest.Audience(notesAPI.ClientID)), codes.PermissionDenied, http.StatusForbidden},
		{"the notes service's own app-only token, with neither scope nor role, is no access token at all",
			e.idp.Issue(entratest.ForApp(notesAPI.ClientID), entratest.Audience(notesAPI.ClientID)), codes.Unauthenticated, http.StatusUnauthorized},
		{"a user's token for the audit log is not one for the notes API",
			e.idp.Issue(entratest.ForUser(ann.Username), entratest.Scopes("Notes.Read", "Audit.Write")), codes.Unauthenticated, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.notes.ReportNote(withToken(tt.token), &notesv1.ReportNoteRequest{Id: id})
			if status.Code(err) != tt.grpc {
				t.Errorf("over gRPC: %v, want %v", err, tt.grpc)
			}
			if code, body := e.reportREST(t, id, tt.token); code != tt.rest {
				t.Errorf("over REST: %d %s, want %d", code, body, tt.rest)
			}
			if n := e.exchanges.n.Load(); n != 0 {
				t.Errorf("%d token requests, want none", n)
			}
		})
	}
}

func TestTheAuditLogOnItsOwn(t *testing.T) {
	e := startWithAuditLog(t)
	record := func(token, action string) error {
		_, err := e.audit.RecordEvent(withToken(token), &auditv1.RecordEventRequest{Action: action, Resource: "notes/note-1"})
		return err
	}
	toAudit := func(opts ...entratest.TokenOption) string { return e.idp.Issue(opts...) }
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"a user with Audit.Write records", record(toAudit(entratest.ForUser(ann.Username), entratest.Scopes("Audit.Write")), "notes.report"), codes.OK},
		{"a user without Audit.Write is denied", record(toAudit(entratest.ForUser(ben.Username), entratest.Scopes("Notes.Read")), "notes.report"), codes.PermissionDenied},
		{"a daemon is denied: Audit.Write is delegated", record(toAudit(entratest.ForApp(backupDaemon.ClientID)), "notes.report"), codes.PermissionDenied},
		{"a user's token for the notes API is not one for the audit log", record(e.toNotes(ann, "Audit.Write"), "notes.report"), codes.Unauthenticated},
		{"an event without an action is refused", record(toAudit(entratest.ForUser(ann.Username), entratest.Scopes("Audit.Write")), " "), codes.InvalidArgument},
		{"an action over 200 bytes is refused", record(toAudit(entratest.ForUser(ann.Username), entratest.Scopes("Audit.Write")), strings.Repeat("a", 201)), codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status.Code(tt.err) != tt.want {
				t.Errorf("%v, want %v", tt.err, tt.want)
			}
		})
	}
}

func TestTheAuditLogNeedsATenant(t *testing.T) {
	tenant := server.Config{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: notesAPI.ClientID, ClientSecret: "s"}
	scope := "api://" + auditClientID + "/.default"
	tests := []struct {
		name        string
		cfg         server.Config
		addr, scope string
		want        string
	}{
		{"the development identity provider cannot exchange tokens", server.Config{DevMode: true}, "localhost:50052", scope, "not the development identity provider"},
		{"a tenant without the API's client secret cannot", server.Config{TenantID: tenant.TenantID, ClientID: tenant.ClientID}, "localhost:50052", scope, "AZUREAD_CLIENT_SECRET"},
		{"an address needs its scope", tenant, "localhost:50052", "", "go together"},
		{"an address is host:port", tenant, "audit.example.com", scope, "want host:port"},
		{"a scope is one word", tenant, "localhost:50052", "api://a/.default api://b/.default", "AUDIT_SCOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := dialAudit(tt.cfg, tt.addr, tt.scope, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v, want an error saying %q", err, tt.want)
			}
		})
	}
	t.Run("AUDIT_ADDR in development mode stops main with that error", func(t *testing.T) {
		_, err := build(server.Config{DevMode: true, Settings: map[string]string{auditAddr.Name: "localhost:50052", auditScope.Name: scope}})
		if err == nil || !strings.Contains(err.Error(), "not the development identity provider") {
			t.Errorf("%v, want the development identity provider named", err)
		}
	})
	t.Run("unset, the notes service runs without it and says so", func(t *testing.T) {
		opts, err := build(server.Config{DevMode: true})
		if len(opts) == 0 || err != nil {
			t.Fatalf("%v, %v; want the server's options and no error", opts, err)
		}
		e := start(t)
		id := e.note(t, ann, nil)
		_, err = e.notes.ReportNote(withToken(e.user(ann, "Notes.Read")), &notesv1.ReportNoteRequest{Id: id})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%v, want Unavailable", err)
		}
	})
}
