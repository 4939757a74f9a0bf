// Package auditlog is the audit log the notes service calls on behalf of
// its users (proto/audit/v1/audit.proto): a second protected service, with
// an API (app registration) of its own. It records the user its tokens
// name, and the application the user acted through (azp), from the token
// alone.
package auditlog

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"

	auditv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/audit/v1"
)

// Limits keep memory bounded whatever callers send.
const (
	maxEvents   = 10000
	maxFieldLen = 200
)

// Log is the AuditService: events in memory, the oldest dropped first.
type Log struct {
	auditv1.UnimplementedAuditServiceServer

	mu     sync.Mutex
	next   int
	events []*auditv1.Event
}

// Options are the audit log's server options: `go run ./cmd/auditlog`
// serves exactly these.
func Options() []server.Option {
	return []server.Option{server.WithServices(server.Service{
		Register: func(s grpc.ServiceRegistrar) { auditv1.RegisterAuditServiceServer(s, &Log{}) },
	})}
}

// RecordEvent records what the caller did. The interceptor has checked the
// rule (a user's token with Audit.Write); who did it comes from the token.
func (l *Log) RecordEvent(ctx context.Context, req *auditv1.RecordEventRequest) (*auditv1.RecordEventResponse, error) {
	c, ok := entra.FromContext(ctx)
	if !ok {
		return nil, interceptor.Deny(ctx, "a token is required")
	}
	for name, v := range map[string]string{"action": req.GetAction(), "resource": req.GetResource()} {
		if strings.TrimSpace(v) == "" || len(v) > maxFieldLen {
			return nil, status.Errorf(codes.InvalidArgument, "%s is required, at most %d bytes", name, maxFieldLen)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	e := &auditv1.Event{
		Id: fmt.Sprintf("event-%d", l.next), Action: req.GetAction(), Resource: req.GetResource(),
		ActorObjectId: c.ObjectID, ActorSubject: c.Subject, ActorName: c.Name,
		ClientAppId: c.ClientID(), Scopes: c.Scopes.Names(),
	}
	if len(l.events) >= maxEvents {
		l.events = l.events[1:]
	}
	l.events = append(l.events, e)
	return &auditv1.RecordEventResponse{Event: proto.CloneOf(e)}, nil
}
