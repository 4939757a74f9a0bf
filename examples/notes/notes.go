package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"

	auditv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/audit/v1"
	notesv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/notes/v1"
)

// Limits keep memory bounded whatever callers send.
const (
	maxNotes    = 10000
	maxTitleLen = 200
	maxTextLen  = 10 << 10
	maxSharedTo = 100
)

const (
	// exportRole is the app role that exports every note (notes.proto).
	exportRole = "Notes.Export"
	// serviceTitle is what GetAbout says.
	serviceTitle = "notes example of grpc-azure-auth"
)

// Notes is the NoteService: notes in memory. The interceptor has already
// checked each method's rule (notes.proto) before a handler runs; handlers
// read the caller with entra.FromContext and decide only what depends on the
// note itself, such as who owns it.
type Notes struct {
	notesv1.UnimplementedNoteServiceServer

	// audit is the audit log, called on behalf of the caller (see
	// downstream.go); nil when none is configured.
	audit auditv1.AuditServiceClient

	mu    sync.Mutex
	next  int
	notes map[string]*notesv1.Note
}

// NewNotes returns an empty NoteService that records reports in audit,
// which may be nil.
func NewNotes(audit auditv1.AuditServiceClient) *Notes {
	return &Notes{audit: audit, notes: map[string]*notesv1.Note{}}
}

// caller is the validated caller. Behind the interceptor every method that
// calls it has one (its rule needs a token); without one it refuses as the
// interceptor would (Unauthenticated).
func caller(ctx context.Context) (*entra.Claims, error) {
	c, ok := entra.FromContext(ctx)
	if !ok {
		return nil, interceptor.Deny(ctx, "a token is required")
	}
	return c, nil
}

// validObjectID checks the shape of a user's object ID given by a caller.
func validObjectID(field, oid string) error {
	if oid == "" || len(oid) > 64 || strings.ContainsFunc(oid, unicode.IsSpace) {
		return status.Errorf(codes.InvalidArgument, "%s must be a user's object ID", field)
	}
	return nil
}

// canRead says whether the user with object ID oid may read n.
func canRead(n *notesv1.Note, oid string) bool {
	return n.GetOwner() == oid || slices.Contains(n.GetSharedWith(), oid)
}

// ListNotes lists the caller's notes and those shared with the caller.
func (s *Notes) ListNotes(ctx context.Context, _ *notesv1.ListNotesRequest) (*notesv1.ListNotesResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return &notesv1.ListNotesResponse{Notes: s.snapshot(func(n *notesv1.Note) bool { return canRead(n, c.ObjectID) })}, nil
}

// ListUserNotes lists the notes one user owns. Who may ask for whose is the
// rule's condition (notes.proto), checked by the interceptor before this
// runs: a user their own, a daemon with Notes.Admin anyone's.
func (s *Notes) ListUserNotes(_ context.Context, req *notesv1.ListUserNotesRequest) (*notesv1.ListUserNotesResponse, error) {
	if err := validObjectID("user_id", req.GetUserId()); err != nil {
		return nil, err
	}
	return &notesv1.ListUserNotesResponse{Notes: s.snapshot(func(n *notesv1.Note) bool { return n.GetOwner() == req.GetUserId() })}, nil
}

// GetNote returns a note the caller may read; other notes are not found.
func (s *Notes) GetNote(ctx context.Context, req *notesv1.GetNoteRequest) (*notesv1.GetNoteResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.readableLocked(req.GetId(), c.ObjectID)
	if err != nil {
		return nil, err
	}
	return &notesv1.GetNoteResponse{Note: proto.CloneOf(n)}, nil
}

// CreateNote stores a note owned by the caller.
func (s *Notes) CreateNote(ctx context.Context, req *notesv1.CreateNoteRequest) (*notesv1.CreateNoteResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	n := req.GetNote()
	switch {
	case n == nil || strings.TrimSpace(n.GetTitle()) == "":
		return nil, status.Error(codes.InvalidArgument, "note.title is required")
	case len(n.GetTitle()) > maxTitleLen:
		return nil, status.Errorf(codes.InvalidArgument, "note.title must be at most %d bytes", maxTitleLen)
	case len(n.GetText()) > maxTextLen:
		return nil, status.Errorf(codes.InvalidArgument, "note.text must be at most %d bytes", maxTextLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.notes) >= maxNotes {
		return nil, status.Errorf(codes.ResourceExhausted, "the service holds %d notes, its limit", maxNotes)
	}
	s.next++
	stored := &notesv1.Note{Id: fmt.Sprintf("note-%d", s.next), Title: n.GetTitle(), Text: n.GetText(), Owner: c.ObjectID}
	s.notes[stored.Id] = stored
	return &notesv1.CreateNoteResponse{Note: proto.CloneOf(stored)}, nil
}

// DeleteNote deletes a note the caller owns.
func (s *Notes) DeleteNote(ctx context.Context, req *notesv1.DeleteNoteRequest) (*notesv1.DeleteNoteResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.ownedLocked(ctx, req.GetId(), c, "delete")
	if err != nil {
		return nil, err
	}
	delete(s.notes, n.GetId())
	return &notesv1.DeleteNoteResponse{}, nil
}

// ShareNote lets another user read a note the caller owns.
func (s *Notes) ShareNote(ctx context.Context, req *notesv1.ShareNoteRequest) (*notesv1.ShareNoteResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validObjectID("user", req.GetUser()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.ownedLocked(ctx, req.GetId(), c, "share")
	if err != nil {
		return nil, err
	}
	if !canRead(n, req.GetUser()) {
		if len(n.SharedWith) >= maxSharedTo {
			return nil, status.Errorf(codes.ResourceExhausted, "a note is shared with at most %d users", maxSharedTo)
		}
		n.SharedWith = append(n.SharedWith, req.GetUser())
	}
	return &notesv1.ShareNoteResponse{Note: proto.CloneOf(n)}, nil
}

// ReportNote records in the audit log that the caller reports a note it
// may read. The audit log is another protected API: the call carries a
// token for it that names the caller, exchanged from the caller's own
// (on-behalf-of, in the client that downstream.go connects), never one of
// the notes service as itself.
func (s *Notes) ReportNote(ctx context.Context, req *notesv1.ReportNoteRequest) (*notesv1.ReportNoteResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	_, err = s.readableLocked(req.GetId(), c.ObjectID)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if s.audit == nil {
		return nil, status.Error(codes.Unavailable, "reports need the audit log, which this server is not configured to call")
	}
	resp, err := s.audit.RecordEvent(ctx, &auditv1.RecordEventRequest{Action: "notes.report", Resource: "notes/" + req.GetId()})
	if err != nil {
		return nil, auditError(ctx, err)
	}
	return &notesv1.ReportNoteResponse{Event: resp.GetEvent()}, nil
}

// auditError is what the caller is told when the audit log did not record
// a report. The audit log's refusal is the caller's (its token for the
// audit log lacks what the audit log requires: the user has not consented
// to Audit.Write), said in the audit log's words but without its details,
// whose challenge names the audit log's scopes, not this API's. Anything
// else (the exchange failed, the audit log is down or refused the notes
// service's token) is this service's problem: logged, and Unavailable.
func auditError(ctx context.Context, err error) error {
	st := status.Convert(err)
	if st.Code() == codes.PermissionDenied {
		return status.Error(codes.PermissionDenied, "the audit log refused the report: "+st.Message())
	}
	slog.WarnContext(ctx, "audit log call on behalf of the caller failed", "code", st.Code().String(), "error", st.Message())
	return status.Error(codes.Unavailable, "the audit log could not record the report")
}

// ExportNotes streams every note to a caller with the app role Notes.Export
// (a daemon), and the caller's own notes to a user with the scope Notes.Read.
func (s *Notes) ExportNotes(_ *notesv1.ExportNotesRequest, stream notesv1.NoteService_ExportNotesServer) error {
	c, err := caller(stream.Context())
	if err != nil {
		return err
	}
	keep := func(n *notesv1.Note) bool { return n.GetOwner() == c.ObjectID }
	if c.HasRole(exportRole) {
		keep = func(*notesv1.Note) bool { return true }
	}
	for _, n := range s.snapshot(keep) {
		if err := stream.Send(&notesv1.ExportNotesResponse{Note: n}); err != nil {
			return err
		}
	}
	return nil
}

// PurgeNotes deletes every note of one owner.
func (s *Notes) PurgeNotes(_ context.Context, req *notesv1.PurgeNotesRequest) (*notesv1.PurgeNotesResponse, error) {
	if err := validObjectID("owner", req.GetOwner()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var deleted int32
	for id, n := range s.notes {
		if n.GetOwner() == req.GetOwner() {
			delete(s.notes, id)
			deleted++
		}
	}
	return &notesv1.PurgeNotesResponse{Deleted: deleted}, nil
}

// snapshot copies the notes keep selects, ordered by ID.
func (s *Notes) snapshot(keep func(*notesv1.Note) bool) []*notesv1.Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*notesv1.Note
	for _, n := range s.notes {
		if keep(n) {
			out = append(out, proto.CloneOf(n))
		}
	}
	slices.SortFunc(out, func(a, b *notesv1.Note) int {
		return cmp.Or(cmp.Compare(len(a.Id), len(b.Id)), strings.Compare(a.Id, b.Id))
	})
	return out
}

// readableLocked finds a note the user oid may read. Notes the user may not
// read are not found, so that their IDs tell nothing.
func (s *Notes) readableLocked(id, oid string) (*notesv1.Note, error) {
	n, ok := s.notes[id]
	if !ok || !canRead(n, oid) {
		return nil, status.Errorf(codes.NotFound, "no note %q", id)
	}
	return n, nil
}

// ownedLocked finds a note the caller owns, for the action named. A note
// shared with the caller is refused with interceptor.Deny, exactly as a rule
// refuses: PermissionDenied over gRPC, 403 with an insufficient_scope
// challenge over REST.
func (s *Notes) ownedLocked(ctx context.Context, id string, c *entra.Claims, action string) (*notesv1.Note, error) {
	n, err := s.readableLocked(id, c.ObjectID)
	if err != nil {
		return nil, err
	}
	if n.GetOwner() != c.ObjectID {
		return nil, interceptor.Deny(ctx, "only the note's owner may "+action+" it")
	}
	return n, nil
}

// About is the AboutService.
type About struct {
	notesv1.UnimplementedAboutServiceServer
}

// GetAbout names the service, to anyone.
func (About) GetAbout(context.Context, *notesv1.GetAboutRequest) (*notesv1.GetAboutResponse, error) {
	return &notesv1.GetAboutResponse{Name: serviceTitle}, nil
}

// WhoAmI describes the caller as its token says.
func (About) WhoAmI(ctx context.Context, _ *notesv1.WhoAmIRequest) (*notesv1.WhoAmIResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return &notesv1.WhoAmIResponse{
		ObjectId: c.ObjectID,
		TenantId: c.TenantID,
		Name:     c.Name,
		AppOnly:  c.IsAppOnly(),
		Scopes:   c.Scopes.Names(),
		Roles:    c.Roles.Names(),
	}, nil
}
