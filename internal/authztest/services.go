// Package authztest holds the small services the tests of package
// interceptor and package gateway protect: real gRPC services, built without
// code generation from a descriptor whose methods carry azureauth.v1 rules,
// one of each rule kind on each RPC kind, and REST routes for them on a
// grpc-gateway mux. It is internal: no user of the library sees it.
package authztest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// Service names.
const (
	ItemsService   = "authztest.v1.Items"
	InfoService    = "authztest.v1.Info"
	GuardedService = "authztest.v1.Guarded"
)

// Methods of Guarded, whose rules have conditions, authentication contexts
// and shadow rules. Their requests are authztest.v1.NoteRequest messages
// ([NewNoteRequest]): {user_id, text}.
const (
	// Own, unary: scope Items.Read or role Items.Admin, if
	// request.user_id == caller.object_id || (caller.app_only && 'Items.Admin' in caller.roles);
	// shadow rule: scopes Items.Read and Items.Share.
	Own = "/authztest.v1.Guarded/Own"
	// StepUp, unary (Empty): scope Items.Write, authentication context c1.
	StepUp = "/authztest.v1.Guarded/StepUp"
	// Feed, server stream: scope Items.Read, if request.user_id ==
	// caller.object_id; sends two {"user_id": …} messages.
	Feed = "/authztest.v1.Guarded/Feed"
	// Upload, client stream: scope Items.Write, authentication context
	// c1, if request.user_id == caller.object_id for each message;
	// answers how many it received.
	Upload = "/authztest.v1.Guarded/Upload"
	// Chat, bidi stream: scope Items.Write, if request.user_id ==
	// caller.object_id for each message; answers each with {"user_id": …};
	// shadow rule: the same, and request.text != 'draft'.
	Chat = "/authztest.v1.Guarded/Chat"
	// Peek, unary: anonymous, if request.text != 'secret'; shadow rule:
	// scope Items.Read.
	Peek = "/authztest.v1.Guarded/Peek"
	// Region, unary: scope Items.Read, if caller.claims.ctry ==
	// request.text: a custom claim, which a token may lack (an evaluation
	// error, which denies).
	Region = "/authztest.v1.Guarded/Region"
	// Mine and Note are the pair of BenchmarkCondition, unary: scope
	// Items.Read, Mine with the condition request.user_id ==
	// caller.object_id, Note without.
	Mine = "/authztest.v1.Guarded/Mine"
	Note = "/authztest.v1.Guarded/Note"
)

// OwnCondition is the condition of Own.
const OwnCondition = "request.user_id == caller.object_id || (caller.app_only && 'Items.Admin' in caller.roles)"

// Full method names, with their rules. Items has the default rule scope
// Items.Read.
const (
	Get     = "/authztest.v1.Items/Get"     // unary, the service default: scope Items.Read
	Count   = "/authztest.v1.Items/Count"   // unary, the service default: scope Items.Read
	Create  = "/authztest.v1.Items/Create"  // unary, scope Items.Write
	Delete  = "/authztest.v1.Items/Delete"  // unary, app role Items.Admin
	Remove  = "/authztest.v1.Items/Remove"  // unary, scope Items.Write; the handler lets only the item's owner remove it (interceptor.Deny)
	Archive = "/authztest.v1.Items/Archive" // unary, scope Items.Write; the handler also requires scope Items.Archive (interceptor.RequireScope)
	Purge   = "/authztest.v1.Items/Purge"   // unary, scope Items.Write; the handler also requires app role Items.Admin (interceptor.RequireRole)
	Export  = "/authztest.v1.Items/Export"  // server stream, scope Items.Read or role Items.Export
	Watch   = "/authztest.v1.Items/Watch"   // server stream, the service default: scope Items.Read
	Import  = "/authztest.v1.Items/Import"  // client stream, scopes Items.Write and Items.Import
	Sync    = "/authztest.v1.Items/Sync"    // bidi stream, scope Items.Sync or Items.Write
	GetInfo = "/authztest.v1.Info/GetInfo"  // unary, anonymous
	WhoAmI  = "/authztest.v1.Info/WhoAmI"   // unary, authenticated: any valid access token
	Debug   = "/authztest.v1.Info/Debug"    // unary, no rule
)

type method struct {
	name           string
	in, out        string // well-known message names
	client, server bool   // streaming
	rule           *azureauthv1.Rule
	shadow         *azureauthv1.Rule
	handler        grpc.MethodHandler // unary
	streamHandler  grpc.StreamHandler
}

func scopes(names ...string) *azureauthv1.Rule { return &azureauthv1.Rule{Scopes: names} }

var (
	itemsMethods = []method{
		{name: "Get", in: "StringValue", out: "Struct", handler: unary(Get, ItemsServer.Get)},
		{name: "Count", in: "Empty", out: "Int64Value", handler: unary(Count, ItemsServer.Count)},
		{name: "Create", in: "Struct", out: "Struct", rule: scopes("Items.Write"), handler: unary(Create, ItemsServer.Create)},
		{name: "Delete", in: "StringValue", out: "Empty", rule: &azureauthv1.Rule{Roles: []string{"Items.Admin"}}, handler: unary(Delete, ItemsServer.Delete)},
		{name: "Remove", in: "StringValue", out: "Empty", rule: scopes("Items.Write"), handler: unary(Remove, ItemsServer.Remove)},
		{name: "Archive", in: "StringValue", out: "Empty", rule: scopes("Items.Write"), handler: unary(Archive, ItemsServer.Archive)},
		{name: "Purge", in: "Empty", out: "Empty", rule: scopes("Items.Write"), handler: unary(Purge, ItemsServer.Purge)},
		{name: "Export", in: "Empty", out: "Struct", server: true,
			rule:          &azureauthv1.Rule{Scopes: []string{"Items.Read"}, Roles: []string{"Items.Export"}},
			streamHandler: func(srv any, ss grpc.ServerStream) error { return srv.(ItemsServer).Export(ss) }},
		{name: "Watch", in: "Int32Value", out: "Struct", server: true,
			streamHandler: func(srv any, ss grpc.ServerStream) error { return srv.(ItemsServer).Watch(ss) }},
		{name: "Import", in: "StringValue", out: "Int64Value", client: true,
			rule:          &azureauthv1.Rule{Scopes: []string{"Items.Write", "Items.Import"}, ScopeMatch: azureauthv1.Match_MATCH_ALL},
			streamHandler: func(srv any, ss grpc.ServerStream) error { return srv.(ItemsServer).Import(ss) }},
		{name: "Sync", in: "Struct", out: "Struct", client: true, server: true,
			rule:          &azureauthv1.Rule{Scopes: []string{"Items.Sync", "Items.Write"}, ScopeMatch: azureauthv1.Match_MATCH_ANY},
			streamHandler: func(srv any, ss grpc.ServerStream) error { return srv.(ItemsServer).Sync(ss) }},
	}
	ownsNote    = "request.user_id == caller.object_id"
	infoMethods = []method{
		{name: "GetInfo", in: "Empty", out: "Struct", rule: &azureauthv1.Rule{Anonymous: true}, handler: unary(GetInfo, InfoServer.GetInfo)},
		{name: "WhoAmI", in: "Empty", out: "Struct", rule: &azureauthv1.Rule{Authenticated: true}, handler: unary(WhoAmI, InfoServer.WhoAmI)},
		{name: "Debug", in: "Empty", out: "Empty", handler: unary(Debug, InfoServer.Debug)},
	}
)

// guardedMethods are Guarded's methods, set in init: their handlers read
// the file they are part of.
var guardedMethods []method

func init() {
	guardedMethods = []method{
		{name: "Own", in: "NoteRequest", out: "Empty",
			rule:    &azureauthv1.Rule{Scopes: []string{"Items.Read"}, Roles: []string{"Items.Admin"}, Condition: OwnCondition},
			shadow:  &azureauthv1.Rule{Scopes: []string{"Items.Read", "Items.Share"}, ScopeMatch: azureauthv1.Match_MATCH_ALL},
			handler: guardedUnary(Own, "NoteRequest")},
		{name: "StepUp", in: "Empty", out: "Empty",
			rule:    &azureauthv1.Rule{Scopes: []string{"Items.Write"}, AuthContexts: []string{"c1"}},
			handler: guardedUnary(StepUp, "")},
		{name: "Feed", in: "NoteRequest", out: "Struct", server: true,
			rule: &azureauthv1.Rule{Scopes: []string{"Items.Read"}, Condition: ownsNote}, streamHandler: feed},
		{name: "Upload", in: "NoteRequest", out: "Int64Value", client: true,
			rule: &azureauthv1.Rule{Scopes: []string{"Items.Write"}, AuthContexts: []string{"c1"}, Condition: ownsNote}, streamHandler: upload},
		{name: "Chat", in: "NoteRequest", out: "Struct", client: true, server: true,
			rule:          &azureauthv1.Rule{Scopes: []string{"Items.Write"}, Condition: ownsNote},
			shadow:        &azureauthv1.Rule{Scopes: []string{"Items.Write"}, Condition: ownsNote + " && request.text != 'draft'"},
			streamHandler: chat},
		{name: "Peek", in: "NoteRequest", out: "Empty",
			rule:    &azureauthv1.Rule{Anonymous: true, Condition: "request.text != 'secret'"},
			shadow:  scopes("Items.Read"),
			handler: guardedUnary(Peek, "NoteRequest")},
		{name: "Region", in: "NoteRequest", out: "Empty",
			rule:    &azureauthv1.Rule{Scopes: []string{"Items.Read"}, Condition: "caller.claims.ctry == request.text"},
			handler: guardedUnary(Region, "NoteRequest")},
		{name: "Mine", in: "NoteRequest", out: "Empty", rule: &azureauthv1.Rule{Scopes: []string{"Items.Read"}, Condition: ownsNote},
			handler: guardedUnary(Mine, "NoteRequest")},
		{name: "Note", in: "NoteRequest", out: "Empty", rule: scopes("Items.Read"), handler: guardedUnary(Note, "NoteRequest")},
	}
	GuardedDesc = serviceDesc(GuardedService, (*any)(nil), guardedMethods)
}

// wellKnown maps the message names the methods use to their files.
var wellKnown = map[string]string{
	"Empty": "google/protobuf/empty.proto", "Struct": "google/protobuf/struct.proto",
	"StringValue": "google/protobuf/wrappers.proto", "Int32Value": "google/protobuf/wrappers.proto",
	"Int64Value": "google/protobuf/wrappers.proto",
}

// Touch each well-known file's Go package so that it is linked in and
// registered before descriptor() resolves its names.
var _ = []proto.Message{&emptypb.Empty{}, &structpb.Struct{}, &wrapperspb.StringValue{}}

func serviceProto(name string, def *azureauthv1.Rule, methods []method) *descriptorpb.ServiceDescriptorProto {
	sd := &descriptorpb.ServiceDescriptorProto{Name: proto.String(name)}
	if def != nil {
		sd.Options = &descriptorpb.ServiceOptions{}
		proto.SetExtension(sd.Options, azureauthv1.E_DefaultRule, def)
	}
	for _, m := range methods {
		md := &descriptorpb.MethodDescriptorProto{
			Name:            proto.String(m.name),
			InputType:       proto.String(typeName(m.in)),
			OutputType:      proto.String(typeName(m.out)),
			ClientStreaming: proto.Bool(m.client),
			ServerStreaming: proto.Bool(m.server),
		}
		if m.rule != nil || m.shadow != nil {
			md.Options = &descriptorpb.MethodOptions{}
		}
		if m.rule != nil {
			proto.SetExtension(md.Options, azureauthv1.E_Rule, m.rule)
		}
		if m.shadow != nil {
			proto.SetExtension(md.Options, azureauthv1.E_ShadowRule, m.shadow)
		}
		sd.Method = append(sd.Method, md)
	}
	return sd
}

var (
	fileOnce sync.Once
	file     protoreflect.FileDescriptor
	fileErr  error
)

// File is the descriptor of the test services, as protoc would have built
// it from a .proto file with the rules above. It is not registered
// globally.
func File() protoreflect.FileDescriptor {
	fileOnce.Do(func() {
		fdp := &descriptorpb.FileDescriptorProto{
			Name:    proto.String("authztest/v1/authztest.proto"),
			Package: proto.String("authztest.v1"),
			Syntax:  proto.String("proto3"),
			MessageType: []*descriptorpb.DescriptorProto{{
				Name: proto.String("NoteRequest"),
				Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("user_id"), JsonName: proto.String("userId"), Number: proto.Int32(1),
						Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
					{Name: proto.String("text"), JsonName: proto.String("text"), Number: proto.Int32(2),
						Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
				},
			}},
			Service: []*descriptorpb.ServiceDescriptorProto{
				serviceProto("Items", scopes("Items.Read"), itemsMethods),
				serviceProto("Info", nil, infoMethods),
				serviceProto("Guarded", nil, guardedMethods),
			},
		}
		for _, m := range slices.Concat(itemsMethods, infoMethods, guardedMethods) {
			for _, f := range []string{wellKnown[m.in], wellKnown[m.out]} {
				if f != "" && !slices.Contains(fdp.Dependency, f) {
					fdp.Dependency = append(fdp.Dependency, f)
				}
			}
		}
		file, fileErr = protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	})
	if fileErr != nil {
		panic(fmt.Sprintf("authztest: %v", fileErr))
	}
	return file
}

// Policy is the policy of the test services.
func Policy() *rules.Policy {
	p, err := rules.ForServices(File().Services().ByName("Items"), File().Services().ByName("Info"), File().Services().ByName("Guarded"))
	if err != nil {
		panic(fmt.Sprintf("authztest: %v", err))
	}
	return p
}

func serviceDesc(name string, handlerType any, methods []method) *grpc.ServiceDesc {
	sd := &grpc.ServiceDesc{ServiceName: name, HandlerType: handlerType, Metadata: "authztest/v1/authztest.proto"}
	for _, m := range methods {
		if m.handler != nil {
			sd.Methods = append(sd.Methods, grpc.MethodDesc{MethodName: m.name, Handler: m.handler})
			continue
		}
		sd.Streams = append(sd.Streams, grpc.StreamDesc{StreamName: m.name, Handler: m.streamHandler, ServerStreams: m.server, ClientStreams: m.client})
	}
	return sd
}

// ItemsDesc and InfoDesc describe the services to grpc.Server.RegisterService.
var (
	ItemsDesc = serviceDesc(ItemsService, (*ItemsServer)(nil), itemsMethods)
	InfoDesc  = serviceDesc(InfoService, (*InfoServer)(nil), infoMethods)
	// GuardedDesc serves Guarded with any implementation: its handlers
	// are built in.
	GuardedDesc *grpc.ServiceDesc
)

// unary is the grpc.MethodHandler of a unary method served by call.
func unary[S any, Req any, PReq interface {
	*Req
	proto.Message
}, Resp proto.Message](fullMethod string, call func(S, context.Context, PReq) (Resp, error)) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		in := PReq(new(Req))
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, req any) (any, error) { return call(srv.(S), ctx, req.(PReq)) }
		if ic == nil {
			return h(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, h)
	}
}

// ItemsServer is the Items service.
type ItemsServer interface {
	Get(context.Context, *wrapperspb.StringValue) (*structpb.Struct, error)
	Count(context.Context, *emptypb.Empty) (*wrapperspb.Int64Value, error)
	Create(context.Context, *structpb.Struct) (*structpb.Struct, error)
	Delete(context.Context, *wrapperspb.StringValue) (*emptypb.Empty, error)
	Remove(context.Context, *wrapperspb.StringValue) (*emptypb.Empty, error)
	Archive(context.Context, *wrapperspb.StringValue) (*emptypb.Empty, error)
	Purge(context.Context, *emptypb.Empty) (*emptypb.Empty, error)
	Export(grpc.ServerStream) error
	Watch(grpc.ServerStream) error
	Import(grpc.ServerStream) error
	Sync(grpc.ServerStream) error
}

// InfoServer is the Info service.
type InfoServer interface {
	GetInfo(context.Context, *emptypb.Empty) (*structpb.Struct, error)
	WhoAmI(context.Context, *emptypb.Empty) (*structpb.Struct, error)
	Debug(context.Context, *emptypb.Empty) (*emptypb.Empty, error)
}

// Items is an in-memory ItemsServer. Its items are "item-1" to "item-3",
// owned by nobody, and those Create and Import add, owned by their caller.
type Items struct {
	mu    sync.Mutex
	items map[string]item
	next  int
}

type item struct{ name, owner string }

// NewItems returns the store with its three items.
func NewItems() *Items {
	return &Items{next: 4, items: map[string]item{"item-1": {name: "Keyboard"}, "item-2": {name: "Mouse"}, "item-3": {name: "Cable"}}}
}

// Len is the number of items.
func (s *Items) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func (s *Items) add(name, owner string) *structpb.Struct {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "item-" + strconv.Itoa(s.next)
	s.next++
	s.items[id] = item{name: name, owner: owner}
	return toStruct(id, s.items[id])
}

func toStruct(id string, it item) *structpb.Struct {
	st, _ := structpb.NewStruct(map[string]any{"id": id, "name": it.name, "owner": it.owner})
	return st
}

func (s *Items) lookup(id string) (item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return item{}, status.Errorf(codes.NotFound, "no item %q", id)
	}
	return it, nil
}

func caller(ctx context.Context) string {
	c, _ := entra.FromContext(ctx)
	if c == nil {
		return ""
	}
	return c.ObjectID
}

// Get returns an item.
func (s *Items) Get(_ context.Context, id *wrapperspb.StringValue) (*structpb.Struct, error) {
	it, err := s.lookup(id.GetValue())
	if err != nil {
		return nil, err
	}
	return toStruct(id.GetValue(), it), nil
}

// Count returns the number of items.
func (s *Items) Count(context.Context, *emptypb.Empty) (*wrapperspb.Int64Value, error) {
	return wrapperspb.Int64(int64(s.Len())), nil
}

// Create adds an item named by the "name" field, owned by the caller.
func (s *Items) Create(ctx context.Context, in *structpb.Struct) (*structpb.Struct, error) {
	name := in.GetFields()["name"].GetStringValue()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	return s.add(name, caller(ctx)), nil
}

// Delete removes an item.
func (s *Items) Delete(_ context.Context, id *wrapperspb.StringValue) (*emptypb.Empty, error) {
	if _, err := s.lookup(id.GetValue()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, id.GetValue())
	return &emptypb.Empty{}, nil
}

// Remove removes an item if the caller owns it: a resource-level check,
// refused with interceptor.Deny.
func (s *Items) Remove(ctx context.Context, id *wrapperspb.StringValue) (*emptypb.Empty, error) {
	it, err := s.lookup(id.GetValue())
	if err != nil {
		return nil, err
	}
	if it.owner == "" || it.owner != caller(ctx) {
		return nil, interceptor.Deny(ctx, "only the item's owner may remove it")
	}
	return s.Delete(ctx, id)
}

// Archive needs scope Items.Archive besides the method's rule, checked in
// the handler with interceptor.RequireScope; it changes nothing.
func (s *Items) Archive(ctx context.Context, id *wrapperspb.StringValue) (*emptypb.Empty, error) {
	if err := interceptor.RequireScope(ctx, "Items.Archive"); err != nil {
		return nil, err
	}
	if _, err := s.lookup(id.GetValue()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Purge needs app role Items.Admin besides the method's rule, checked in
// the handler with interceptor.RequireRole; it changes nothing.
func (s *Items) Purge(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	if err := interceptor.RequireRole(ctx, "Items.Admin"); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Export sends every item, ordered by ID.
func (s *Items) Export(ss grpc.ServerStream) error {
	if err := ss.RecvMsg(&emptypb.Empty{}); err != nil {
		return err
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.items))
	for id := range s.items {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*structpb.Struct, len(ids))
	for i, id := range ids {
		out[i] = toStruct(id, s.items[id])
	}
	s.mu.Unlock()
	for _, m := range out {
		if err := ss.SendMsg(m); err != nil {
			return err
		}
	}
	return nil
}

// Watch sends as many messages as asked, {"tick": n}, and ends; asked for
// none, it waits until its context is done and ends with its error: a
// stream that would run forever.
func (s *Items) Watch(ss grpc.ServerStream) error {
	var n wrapperspb.Int32Value
	if err := ss.RecvMsg(&n); err != nil {
		return err
	}
	if n.GetValue() == 0 {
		if err := ss.SendHeader(metadata.MD{}); err != nil {
			return err
		}
		<-ss.Context().Done()
		return status.FromContextError(ss.Context().Err()).Err()
	}
	for i := range n.GetValue() {
		tick, _ := structpb.NewStruct(map[string]any{"tick": float64(i)})
		if err := ss.SendMsg(tick); err != nil {
			return err
		}
	}
	return nil
}

// Import adds an item per name received, owned by the caller, and answers
// how many it added.
func (s *Items) Import(ss grpc.ServerStream) error {
	var n int64
	for {
		var name wrapperspb.StringValue
		err := ss.RecvMsg(&name)
		if errors.Is(err, io.EOF) {
			return ss.SendMsg(wrapperspb.Int64(n))
		}
		if err != nil {
			return err
		}
		s.add(name.GetValue(), caller(ss.Context()))
		n++
	}
}

// Sync answers each {"id": …} it receives with that item, and ends with
// NotFound at an unknown ID.
func (s *Items) Sync(ss grpc.ServerStream) error {
	for {
		var in structpb.Struct
		err := ss.RecvMsg(&in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		id := in.GetFields()["id"].GetStringValue()
		it, err := s.lookup(id)
		if err != nil {
			return err
		}
		if err := ss.SendMsg(toStruct(id, it)); err != nil {
			return err
		}
	}
}

// Info is the Info service.
type Info struct{}

// GetInfo answers with the caller's oid ("" when anonymous) and the
// metadata it received, so tests see what reached a handler.
func (Info) GetInfo(ctx context.Context, _ *emptypb.Empty) (*structpb.Struct, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	m := map[string]any{}
	for k, vs := range md {
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		m[k] = l
	}
	return structpb.NewStruct(map[string]any{"caller": caller(ctx), "metadata": m})
}

// WhoAmI answers with the caller's oid; its rule admits any valid token.
func (Info) WhoAmI(ctx context.Context, _ *emptypb.Empty) (*structpb.Struct, error) {
	return structpb.NewStruct(map[string]any{"caller": caller(ctx)})
}

// Debug has no rule: nobody may call it.
func (Info) Debug(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
