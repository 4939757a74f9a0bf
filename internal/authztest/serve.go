package authztest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
)

// Logs collects logs written from server goroutines.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NewAuthorizer returns an Authorizer for the test services (their policy,
// unless iopts set another) whose validator is configured by vopts alone,
// fetching with idp.Client(), so that providers answering as real hosts
// (entratest.NewServerAt) are reached on loopback and nothing else is. Both
// log at Debug into the returned Logs.
func NewAuthorizer(t testing.TB, idp *entratest.Server, vopts []entra.Option, iopts ...interceptor.Option) (*interceptor.Authorizer, *Logs) {
	t.Helper()
	logs := &Logs{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v, err := entra.NewValidator(append(vopts, entra.WithLogger(logger), entra.WithHTTPClient(idp.Client()))...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := interceptor.New(v, append([]interceptor.Option{interceptor.WithPolicy(Policy()), interceptor.WithLogger(logger)}, iopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a, logs
}

// Serve runs items and info (Info{} when nil) behind authz's interceptors
// on a gRPC server on loopback, stopped when the test ends, and returns a
// connection to it.
func Serve(t testing.TB, authz *interceptor.Authorizer, items ItemsServer, info InfoServer) *grpc.ClientConn {
	t.Helper()
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(authz.UnaryServerInterceptor()),
		grpc.StreamInterceptor(authz.StreamServerInterceptor()),
	)
	srv.RegisterService(ItemsDesc, items)
	if info == nil {
		info = Info{}
	}
	srv.RegisterService(InfoDesc, info)
	srv.RegisterService(GuardedDesc, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// WithToken is a context whose calls send "Bearer "+token; token "" sends
// nothing.
func WithToken(token string) context.Context {
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return ctx
}

// Client calls the test services.
type Client struct{ Conn *grpc.ClientConn }

func invoke[Resp any](ctx context.Context, c Client, method string, in any) (*Resp, error) {
	out := new(Resp)
	if err := c.Conn.Invoke(ctx, method, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Get calls Get.
func (c Client) Get(ctx context.Context, id string) (*structpb.Struct, error) {
	return invoke[structpb.Struct](ctx, c, Get, wrapperspb.String(id))
}

// Count calls Count.
func (c Client) Count(ctx context.Context) (int64, error) {
	n, err := invoke[wrapperspb.Int64Value](ctx, c, Count, &emptypb.Empty{})
	return n.GetValue(), err
}

// Create calls Create.
func (c Client) Create(ctx context.Context, name string) (*structpb.Struct, error) {
	in, _ := structpb.NewStruct(map[string]any{"name": name})
	return invoke[structpb.Struct](ctx, c, Create, in)
}

// Unary calls a unary method whose request is the ID id (Delete, Remove,
// Archive) or empty (id "": Purge, GetInfo, Debug), discarding the answer.
func (c Client) Unary(ctx context.Context, method, id string) error {
	var in any = &emptypb.Empty{}
	if id != "" {
		in = wrapperspb.String(id)
	}
	_, err := invoke[emptypb.Empty](ctx, c, method, in)
	return err
}

// GetInfo calls GetInfo.
func (c Client) GetInfo(ctx context.Context) (*structpb.Struct, error) {
	return invoke[structpb.Struct](ctx, c, GetInfo, &emptypb.Empty{})
}

// Export calls Export and reads it to its end.
func (c Client) Export(ctx context.Context) ([]*structpb.Struct, error) {
	st, err := c.Conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, Export)
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(&emptypb.Empty{}); err != nil {
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	return recvAll(st)
}

// Watch calls Watch asking for n messages (0: until the stream ends) and
// reads it to its end.
func (c Client) Watch(ctx context.Context, n int32) ([]*structpb.Struct, error) {
	st, err := c.Conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, Watch)
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(wrapperspb.Int32(n)); err != nil {
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	return recvAll(st)
}

func recvAll(st grpc.ClientStream) ([]*structpb.Struct, error) {
	var out []*structpb.Struct
	for {
		m := new(structpb.Struct)
		if err := st.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, m)
	}
}

// Import calls Import with names; with forever, it keeps sending until the
// stream fails. It returns how many items the server created.
func (c Client) Import(ctx context.Context, forever bool, names ...string) (int64, error) {
	st, err := c.Conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, Import)
	if err != nil {
		return 0, err
	}
	for i := 0; forever || i < len(names); i++ {
		name := "imported"
		if i < len(names) {
			name = names[i]
		}
		if err := st.SendMsg(wrapperspb.String(name)); err != nil {
			break // the status comes with RecvMsg
		}
	}
	if err := st.CloseSend(); err != nil {
		return 0, err
	}
	var n wrapperspb.Int64Value
	if err := st.RecvMsg(&n); err != nil {
		return 0, err
	}
	return n.GetValue(), nil
}

// Sync calls Sync with ids, reading an answer after each; with forever, it
// keeps sending the first until the stream fails.
func (c Client) Sync(ctx context.Context, forever bool, ids ...string) error {
	st, err := c.Conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, Sync)
	if err != nil {
		return err
	}
	for i := 0; forever || i < len(ids); i++ {
		in, _ := structpb.NewStruct(map[string]any{"id": ids[min(i, len(ids)-1)]})
		if err := st.SendMsg(in); err != nil {
			return st.RecvMsg(new(structpb.Struct)) // the status comes with RecvMsg
		}
		if err := st.RecvMsg(new(structpb.Struct)); err != nil {
			return err
		}
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	if err := st.RecvMsg(new(structpb.Struct)); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
