package bearer_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// The protected test services, declared in a descriptor built here with
// the same rule options a .proto file would carry:
//
//	service Echo {   // service B, the API of the identity provider
//	  option (azureauth.v1.default_rule) = {scopes: "Items.Read" roles: "Items.Export"};
//	  rpc WhoAmI(google.protobuf.Empty) returns (google.protobuf.Struct);
//	}
//	service Front {  // service A, which calls Echo on behalf of its caller
//	  option (azureauth.v1.default_rule) = {scopes: "Items.Read"};
//	  rpc WhoIsBehind(google.protobuf.Empty) returns (google.protobuf.Struct);
//	}
const (
	echoService  = "bearertest.v1.Echo"
	frontService = "bearertest.v1.Front"
	whoAmI       = "/" + echoService + "/WhoAmI"
	whoIsBehind  = "/" + frontService + "/WhoIsBehind"
)

var testServices = func() protoreflect.FileDescriptor {
	svc := func(name, method string, rule *azureauthv1.Rule) *descriptorpb.ServiceDescriptorProto {
		opts := &descriptorpb.ServiceOptions{}
		proto.SetExtension(opts, azureauthv1.E_DefaultRule, rule)
		return &descriptorpb.ServiceDescriptorProto{
			Name: proto.String(name), Options: opts,
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String(method), InputType: proto.String(".google.protobuf.Empty"), OutputType: proto.String(".google.protobuf.Struct"),
			}},
		}
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("bearertest/v1/services.proto"),
		Package:    proto.String("bearertest.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto", "google/protobuf/struct.proto", "azureauth/v1/options.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{
			svc("Echo", "WhoAmI", &azureauthv1.Rule{Scopes: []string{"Items.Read"}, Roles: []string{"Items.Export"}}),
			svc("Front", "WhoIsBehind", &azureauthv1.Rule{Scopes: []string{"Items.Read"}}),
		},
	}
	_ = emptypb.File_google_protobuf_empty_proto
	_ = structpb.File_google_protobuf_struct_proto
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	return fd
}()

// callerOf describes the caller the interceptor let in, as the handler
// sees it.
func callerOf(ctx context.Context) (*structpb.Struct, error) {
	c, ok := entra.FromContext(ctx)
	if !ok {
		return structpb.NewStruct(map[string]any{"anonymous": true})
	}
	return structpb.NewStruct(map[string]any{
		"oid": c.ObjectID, "sub": c.Subject, "azp": c.ClientID(), "scp": c.Scopes.String(),
		"roles": c.Roles.String(), "app": c.IsAppOnly(), "user": c.PreferredUsername,
	})
}

// unary is the ServiceDesc of a service of one unary method taking Empty.
func unary(service, method string, handle func(context.Context) (*structpb.Struct, error)) *grpc.ServiceDesc {
	full := "/" + service + "/" + method
	return &grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: method,
			Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, _ any) (any, error) { return handle(ctx) }
				if icpt == nil {
					return h(ctx, in)
				}
				return icpt(ctx, in, &grpc.UnaryServerInfo{FullMethod: full}, h)
			},
		}},
	}
}

// protected is a protected service on loopback: gRPC through the real
// interceptor, and REST through the real gateway.
type protected struct {
	grpcAddr string
	restURL  string
}

// serve starts service (Echo or Front) for tokens with audience aud from
// idp, answering with handle.
func serve(t *testing.T, idp *entratest.Server, aud, service, method string, handle func(context.Context) (*structpb.Struct, error)) *protected {
	t.Helper()
	v, err := entra.NewValidator(
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(aud),
		entra.WithHTTPClient(idp.Client()),
		entra.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := rules.ForServices(testServices.Services().ByName(protoreflect.Name(strings.TrimPrefix(service, "bearertest.v1."))))
	if err != nil {
		t.Fatal(err)
	}
	authz, err := interceptor.New(v, interceptor.WithPolicy(pol), interceptor.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(authz.UnaryServerInterceptor()))
	srv.RegisterService(unary(service, method, handle), struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	full := "/" + service + "/" + method
	path := "/v1/" + strings.ToLower(method)
	gw, err := gateway.New(t.Context(), conn, []gateway.RegisterFunc{
		func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			return mux.HandlePath(http.MethodGet, path, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
				_, m := runtime.MarshalerForRequest(mux, r)
				ctx, err := runtime.AnnotateContext(r.Context(), mux, r, full, runtime.WithHTTPPathPattern(path))
				if err != nil {
					runtime.HTTPError(ctx, mux, m, w, r, err)
					return
				}
				out := new(structpb.Struct)
				if err := conn.Invoke(ctx, full, &emptypb.Empty{}, out); err != nil {
					runtime.HTTPError(ctx, mux, m, w, r, err)
					return
				}
				runtime.ForwardResponseMessage(ctx, mux, m, w, r, out)
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	return &protected{grpcAddr: lis.Addr().String(), restURL: hs.URL + path}
}

// callGRPC calls the service's method over gRPC with opts.
func (p *protected) callGRPC(ctx context.Context, method string, opts ...grpc.DialOption) (map[string]any, error) {
	conn, err := grpc.NewClient(p.grpcAddr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	out := new(structpb.Struct)
	if err := conn.Invoke(ctx, method, &emptypb.Empty{}, out); err != nil {
		return nil, err
	}
	return out.AsMap(), nil
}

// callREST calls the service's method over REST with client.
func (p *protected) callREST(t *testing.T, client *http.Client) (int, map[string]any) {
	t.Helper()
	resp, err := client.Get(p.restURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := new(structpb.Struct)
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := protojson.Unmarshal([]byte(b.String()), out); err != nil {
			t.Fatalf("%v: %s", err, b.String())
		}
	}
	return resp.StatusCode, out.AsMap()
}
