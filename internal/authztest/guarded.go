package authztest

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// typeName is the full name of a message the test methods use: a
// well-known type, or one of the file's own.
func typeName(name string) string {
	if _, ok := wellKnown[name]; ok {
		return ".google.protobuf." + name
	}
	return ".authztest.v1." + name
}

// NoteRequestDesc is the descriptor of authztest.v1.NoteRequest, the
// request of Guarded's methods.
func NoteRequestDesc() protoreflect.MessageDescriptor {
	return File().Messages().ByName("NoteRequest")
}

// NewNoteRequest returns an authztest.v1.NoteRequest.
func NewNoteRequest(userID, text string) *dynamicpb.Message {
	d := NoteRequestDesc()
	m := dynamicpb.NewMessage(d)
	m.Set(d.Fields().ByName("user_id"), protoreflect.ValueOfString(userID))
	m.Set(d.Fields().ByName("text"), protoreflect.ValueOfString(text))
	return m
}

// userID is the user_id of a NoteRequest.
func userID(m proto.Message) string {
	return m.ProtoReflect().Get(NoteRequestDesc().Fields().ByName("user_id")).String()
}

// guardedUnary is a unary handler of Guarded that decodes its request
// (a NoteRequest, or Empty when in is "") and answers Empty.
func guardedUnary(fullMethod, in string) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		var req proto.Message = &emptypb.Empty{}
		if in != "" {
			req = dynamicpb.NewMessage(NoteRequestDesc())
		}
		if err := dec(req); err != nil {
			return nil, err
		}
		h := func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil }
		if ic == nil {
			return h(ctx, req)
		}
		return ic(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, h)
	}
}

func owner(id string) *structpb.Struct {
	s, _ := structpb.NewStruct(map[string]any{"user_id": id})
	return s
}

// feed answers its request with two {"user_id": …} messages.
func feed(_ any, ss grpc.ServerStream) error {
	req := dynamicpb.NewMessage(NoteRequestDesc())
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	for range 2 {
		if err := ss.SendMsg(owner(userID(req))); err != nil {
			return err
		}
	}
	return nil
}

// upload counts the messages it receives.
func upload(_ any, ss grpc.ServerStream) error {
	var n int64
	for {
		err := ss.RecvMsg(dynamicpb.NewMessage(NoteRequestDesc()))
		if errors.Is(err, io.EOF) {
			return ss.SendMsg(wrapperspb.Int64(n))
		}
		if err != nil {
			return err
		}
		n++
	}
}

// chat answers each message with {"user_id": …}.
func chat(_ any, ss grpc.ServerStream) error {
	for {
		req := dynamicpb.NewMessage(NoteRequestDesc())
		err := ss.RecvMsg(req)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ss.SendMsg(owner(userID(req))); err != nil {
			return err
		}
	}
}
