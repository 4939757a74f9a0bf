package interceptor_test

import (
	"context"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// FuzzConditionInput sends request messages of any shape through the unary
// interceptor to methods with conditions: whatever the bytes (unknown
// fields, invalid UTF-8, a message of another type, no message at all), the
// call is allowed only when the condition holds, and otherwise refused
// with PermissionDenied CONDITION_FAILED; nothing panics.
func FuzzConditionInput(f *testing.F) {
	idp := entratest.NewServer(f)
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithHTTPClient(idp.Client()), entra.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		f.Fatal(err)
	}
	a, err := interceptor.New(v, interceptor.WithPolicy(authztest.Policy()), interceptor.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		f.Fatal(err)
	}
	unary := a.UnaryServerInterceptor()
	token := idp.Issue(entratest.Claim("oid", annOID), entratest.Scopes("Items.Read"), entratest.Claim("ctry", "NL"))
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	methods := []string{authztest.Own, authztest.Region, authztest.Peek}

	own, _ := proto.Marshal(authztest.NewNoteRequest(annOID, "NL"))
	f.Add(uint8(0), uint8(0), own)
	f.Add(uint8(1), uint8(0), own)
	f.Add(uint8(2), uint8(0), []byte("\x12\x06secret"))
	f.Add(uint8(0), uint8(1), []byte("\x0a\x03\x0a\x01x"))
	f.Add(uint8(0), uint8(2), []byte{0xff, 0xff})
	f.Add(uint8(1), uint8(3), []byte("\x0a\x80\x80"))
	f.Fuzz(func(t *testing.T, method, kind uint8, b []byte) {
		var req any
		switch kind % 4 {
		case 0: // the method's request type, any bytes (a partial message when they do not parse)
			m := dynamicpb.NewMessage(authztest.NoteRequestDesc())
			_ = proto.UnmarshalOptions{AllowPartial: true}.Unmarshal(b, m)
			req = m
		case 1: // another message type
			m := new(structpb.Struct)
			_ = proto.Unmarshal(b, m)
			req = m
		case 2: // not a proto message
			req = string(b)
		case 3: // no message
			req = nil
		}
		name := methods[int(method)%len(methods)]
		called := false
		_, err := unary(ctx, req, &grpc.UnaryServerInfo{FullMethod: name}, func(context.Context, any) (any, error) {
			called = true
			return nil, nil
		})
		if err == nil {
			if !called {
				t.Fatal("allowed without calling the handler")
			}
			m, ok := req.(*dynamicpb.Message)
			if !ok {
				t.Fatalf("%s allowed a %T", name, req)
			}
			fields := m.Descriptor().Fields()
			userID, text := m.Get(fields.ByName("user_id")).String(), m.Get(fields.ByName("text")).String()
			if (name == authztest.Own && userID != annOID) || (name == authztest.Region && text != "NL") || (name == authztest.Peek && text == "secret") {
				t.Fatalf("%s allowed user_id %q text %q", name, userID, text)
			}
			return
		}
		if called || status.Code(err) != codes.PermissionDenied || authzerr.FromError(err).GetReason() != authzerr.ReasonConditionFailed {
			t.Fatalf("%s: %v (handler called %v)", name, err, called)
		}
	})
}
