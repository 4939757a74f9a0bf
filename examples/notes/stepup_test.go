package main

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"

	notesv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/notes/v1"
)

// The tests of issue 20's three features, as notes.proto declares them:
// ListUserNotes' condition, DeleteNote's authentication context c1 and
// ListNotes' shadow rule, each over gRPC and REST.

// rest calls the notes API over REST with token ("" for none).
func (e *env) rest(t *testing.T, method, path, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.HTTPURL()+path, nil)
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
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// reason is the authzerr reason of a gRPC denial, "" for none.
func reason(err error) string { return authzerr.FromError(err).GetReason() }

func TestUsersListOnlyTheirOwnNotesAndAnAdminAppAnyones(t *testing.T) {
	e := start(t)
	annNote, benNote := e.note(t, ann, nil), e.note(t, ben, nil)
	// A user to whom an administrator assigned the app role Notes.Admin:
	// the condition lets only an application (app-only token) read
	// anyone's notes with it.
	annAdmin := e.idp.Issue(entratest.ForUser(ann.Username), entratest.Scopes("Notes.Read"), entratest.Roles("Notes.Admin"))

	tests := []struct {
		name   string
		token  string
		user   string
		code   codes.Code
		reason string
		status int
		// notes are the IDs listed when allowed.
		notes []string
	}{
		{"ann lists her own notes", e.user(ann, "Notes.Read"), ann.ObjectID, codes.OK, "", 200, []string{annNote}},
		{"ann may not list ben's: the condition fails", e.user(ann, "Notes.Read"), ben.ObjectID, codes.PermissionDenied, authzerr.ReasonConditionFailed, 403, nil},
		{"ben lists his own", e.user(ben, "Notes.Read"), ben.ObjectID, codes.OK, "", 200, []string{benNote}},
		{"the offboarding daemon (Notes.Admin) lists ben's", e.app(offboardingDaemon), ben.ObjectID, codes.OK, "", 200, []string{benNote}},
		{"the offboarding daemon lists ann's", e.app(offboardingDaemon), ann.ObjectID, codes.OK, "", 200, []string{annNote}},
		{"a user assigned Notes.Admin still lists only her own: the condition asks for an app", annAdmin, ben.ObjectID, codes.PermissionDenied, authzerr.ReasonConditionFailed, 403, nil},
		{"the backup daemon (Notes.Export) is refused before the condition", e.app(backupDaemon), ben.ObjectID, codes.PermissionDenied, authzerr.ReasonInsufficientScope, 403, nil},
		{"ann without Notes.Read is refused before the condition", e.user(ann, "Notes.Share"), ann.ObjectID, codes.PermissionDenied, authzerr.ReasonInsufficientScope, 403, nil},
		{"without a token, unauthenticated", "", ann.ObjectID, codes.Unauthenticated, authzerr.ReasonTokenMissing, 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+" (gRPC)", func(t *testing.T) {
			resp, err := e.notes.ListUserNotes(withToken(tt.token), &notesv1.ListUserNotesRequest{UserId: tt.user})
			if status.Code(err) != tt.code || reason(err) != tt.reason {
				t.Fatalf("got %v (reason %q), want %v (%q)", err, reason(err), tt.code, tt.reason)
			}
			var got []string
			for _, n := range resp.GetNotes() {
				got = append(got, n.GetId())
			}
			if !slices.Equal(got, tt.notes) {
				t.Errorf("listed %v, want %v", got, tt.notes)
			}
		})
		t.Run(tt.name+" (REST)", func(t *testing.T) {
			resp := e.rest(t, "GET", "/v1/users/"+url.PathEscape(tt.user)+"/notes", tt.token)
			if resp.StatusCode != tt.status {
				t.Fatalf("got %s, want %d", resp.Status, tt.status)
			}
			body, _ := io.ReadAll(resp.Body)
			for _, id := range tt.notes {
				if !strings.Contains(string(body), `"id":"`+id+`"`) {
					t.Errorf("body %s does not list %s", body, id)
				}
			}
			if tt.reason != "" && !strings.Contains(string(body), tt.reason) {
				t.Errorf("body %s does not carry the reason %s", body, tt.reason)
			}
		})
	}
}

// Claims requests sent to the token endpoint.
const (
	cp1Claims     = `{"access_token":{"xms_cc":{"values":["cp1"]}}}`
	stepUpClaimC1 = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
)

// annToken is ann's token from the token endpoint (the password grant of
// the Swagger UI client, as `grpc-azure-auth token` gets it) for scope,
// with the claims request claims ("" for none).
func (e *env) annToken(t *testing.T, scope, claims string) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID},
		"username": {ann.Username}, "password": {ann.Password}, "scope": {e.idp.AppIDURI() + "/" + scope}}
	if claims != "" {
		form.Set("claims", claims)
	}
	return tokenFrom(t, e.idp.Provider.Provider, form)
}

func TestDeletingStepsUpToAuthenticationContextC1OverGRPC(t *testing.T) {
	e := start(t)
	id := e.note(t, ann, nil)
	del := func(token string) error {
		_, err := e.notes.DeleteNote(withToken(token), &notesv1.DeleteNoteRequest{Id: id})
		return err
	}

	// ann's client declares cp1; her token has no acrs: a claims challenge.
	err := del(e.annToken(t, "Notes.ReadWrite", cp1Claims))
	if status.Code(err) != codes.Unauthenticated || reason(err) != authzerr.ReasonInsufficientClaims {
		t.Fatalf("a capable client without c1: %v (reason %q), want Unauthenticated %s", err, reason(err), authzerr.ReasonInsufficientClaims)
	}
	if got := authzerr.FromError(err).GetMetadata()[authzerr.MetadataAuthContexts]; got != "c1" {
		t.Errorf("auth_contexts metadata %q, want c1", got)
	}
	claims, ok := bearer.ClaimsChallenge(err)
	if !ok || claims != stepUpClaimC1 {
		t.Fatalf("challenge claims %q (%v), want %s", claims, ok, stepUpClaimC1)
	}

	// A client that cannot answer a challenge is refused, naming c1.
	err = del(e.annToken(t, "Notes.ReadWrite", ""))
	if status.Code(err) != codes.PermissionDenied || reason(err) != authzerr.ReasonAuthContextRequired {
		t.Errorf("a client without cp1: %v (reason %q), want PermissionDenied %s", err, reason(err), authzerr.ReasonAuthContextRequired)
	}

	// The token obtained with the challenge's claims deletes the note.
	if err := del(e.annToken(t, "Notes.ReadWrite", claims)); err != nil {
		t.Fatalf("after the step-up: %v", err)
	}
	if _, err := e.notes.GetNote(withToken(e.user(ann, "Notes.Read")), &notesv1.GetNoteRequest{Id: id}); status.Code(err) != codes.NotFound {
		t.Errorf("the note after its deletion: %v, want NotFound", err)
	}
}

func TestDeletingStepsUpToAuthenticationContextC1OverREST(t *testing.T) {
	e := start(t)
	id := e.note(t, ann, nil)
	path := "/v1/notes/" + id

	// ann's client declares cp1; her token has no acrs: 401, with the
	// challenge Microsoft documents.
	resp := e.rest(t, "DELETE", path, e.annToken(t, "Notes.ReadWrite", cp1Claims))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a capable client without c1: %s, want 401", resp.Status)
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	for _, want := range []string{"Bearer realm=", "authorization_uri=", `error="insufficient_claims"`,
		`claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`} {
		if !strings.Contains(challenge, want) {
			t.Errorf("WWW-Authenticate %q lacks %s", challenge, want)
		}
	}
	claims, ok := bearer.ResponseClaimsChallenge(resp)
	if !ok || claims != stepUpClaimC1 {
		t.Fatalf("challenge claims %q (%v), want %s", claims, ok, stepUpClaimC1)
	}

	// A client that cannot answer a challenge gets 403.
	if resp := e.rest(t, "DELETE", path, e.annToken(t, "Notes.ReadWrite", "")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a client without cp1: %s, want 403", resp.Status)
	}

	// The token obtained with the challenge's claims (what
	// `grpc-azure-auth token -claims` asks for) deletes the note.
	if resp := e.rest(t, "DELETE", path, e.annToken(t, "Notes.ReadWrite", claims)); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the step-up: %s, want 200", resp.Status)
	}
	if resp := e.rest(t, "GET", path, e.user(ann, "Notes.Read")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the note after its deletion: %s, want 404", resp.Status)
	}
}

func TestListNotesShadowRuleIsCountedNotEnforced(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithUsers(ann, ben), entratest.WithApps(backupDaemon, offboardingDaemon))
	srv := servertest.Start(t, server.Config{
		TenantID: idp.TenantID(), ClientID: idp.ClientID(), AuthorityHost: idp.Authority(),
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0",
	}, append(options(nil), server.WithLogger(slog.New(slog.DiscardHandler)))...)
	e := &env{idp: idp, srv: srv.Server, notes: notesv1.NewNoteServiceClient(srv.Conn), about: notesv1.NewAboutServiceClient(srv.Conn)}
	id := e.note(t, ben, nil)

	// ben has Notes.Read only: the enforced rule lets him list his notes,
	// the shadow rule (Notes.Read and Notes.Share) would not.
	benToken := e.user(ben, "Notes.Read")
	resp, err := e.notes.ListNotes(withToken(benToken), &notesv1.ListNotesRequest{})
	if err != nil || len(resp.GetNotes()) != 1 || resp.GetNotes()[0].GetId() != id {
		t.Fatalf("ben lists over gRPC: %v %v, want his note", resp, err)
	}
	if resp := e.rest(t, "GET", "/v1/notes", benToken); resp.StatusCode != http.StatusOK {
		t.Fatalf("ben lists over REST: %s, want 200", resp.Status)
	}
	// ann has both scopes: both rules allow, nothing to count.
	if _, err := e.notes.ListNotes(withToken(e.user(ann, "Notes.Read", "Notes.Share")), &notesv1.ListNotesRequest{}); err != nil {
		t.Fatalf("ann lists: %v", err)
	}

	got := shadowDecisions(t, srv.MetricsURL(), "ListNotes")
	if len(got) != 1 {
		t.Fatalf("shadow decisions of ListNotes %v, want one series: enforced allowed, shadow denied", got)
	}
	for labels, n := range got {
		if !strings.Contains(labels, `enforced="ALLOWED"`) || !strings.Contains(labels, `shadow="`+authzerr.ReasonInsufficientScope+`"`) || n != 2 {
			t.Errorf("%s = %v, want 2 calls (gRPC and REST) allowed that the shadow rule denies with %s", labels, n, authzerr.ReasonInsufficientScope)
		}
	}
}

// shadowDecisions reads the series of grpc_azure_auth_shadow_decisions_total
// whose labels name method, by their labels.
func shadowDecisions(t *testing.T, metricsURL, method string) map[string]float64 {
	t.Helper()
	if metricsURL == "" {
		t.Fatal("no metrics endpoint")
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		series, ok := strings.CutPrefix(sc.Text(), "grpc_azure_auth_shadow_decisions_total{")
		labels, value, _ := strings.Cut(series, " ")
		if !ok || !strings.Contains(labels, method) {
			continue
		}
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("%q: %v", series, err)
		}
		out[labels] = n
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
