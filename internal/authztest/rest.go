package authztest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// REST routes of the test services, registered by [RegisterREST]:
//
//	GET    /v1/items/{id}     Get
//	GET    /v1/count          Count
//	POST   /v1/items          Create   body {"name": …}
//	DELETE /v1/items/{id}     Delete
//	DELETE /v1/mine/{id}      Remove
//	POST   /v1/archive/{id}   Archive
//	POST   /v1/purge          Purge
//	GET    /v1/items:export   Export   (server stream)
//	GET    /v1/watch/{n}      Watch    (server stream)
//	POST   /v1/items:import   Import   (client stream) body "name" "name" …
//	GET    /v1/info           GetInfo
//	GET    /v1/whoami         WhoAmI
//	GET    /v1/debug          Debug
//	GET    /v1/users/{user_id}/notes  Own
//	DELETE /v1/stepup                 StepUp
//	GET    /v1/users/{user_id}/feed   Feed (server stream)
//
// Sync, a bidi stream, has no route, as grpc-gateway serves none.
type route struct {
	verb, pattern, method string
	in                    func(r *http.Request, params map[string]string, m runtime.Marshaler) (proto.Message, error)
	out                   func() proto.Message
}

func pathID(_ *http.Request, p map[string]string, _ runtime.Marshaler) (proto.Message, error) {
	return wrapperspb.String(p["id"]), nil
}

func none(*http.Request, map[string]string, runtime.Marshaler) (proto.Message, error) {
	return &emptypb.Empty{}, nil
}

// body decodes the request body as the generated handlers do, and drains it.
func body(r *http.Request, _ map[string]string, m runtime.Marshaler) (proto.Message, error) {
	in := new(structpb.Struct)
	if err := m.NewDecoder(r.Body).Decode(in); err != nil && !errors.Is(err, io.EOF) {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	_, _ = io.Copy(io.Discard, r.Body)
	return in, nil
}

var routes = []route{
	{"GET", "/v1/items/{id}", Get, pathID, func() proto.Message { return new(structpb.Struct) }},
	{"GET", "/v1/count", Count, none, func() proto.Message { return new(wrapperspb.Int64Value) }},
	{"POST", "/v1/items", Create, body, func() proto.Message { return new(structpb.Struct) }},
	{"DELETE", "/v1/items/{id}", Delete, pathID, func() proto.Message { return new(emptypb.Empty) }},
	{"DELETE", "/v1/mine/{id}", Remove, pathID, func() proto.Message { return new(emptypb.Empty) }},
	{"POST", "/v1/archive/{id}", Archive, pathID, func() proto.Message { return new(emptypb.Empty) }},
	{"POST", "/v1/purge", Purge, none, func() proto.Message { return new(emptypb.Empty) }},
	{"GET", "/v1/info", GetInfo, none, func() proto.Message { return new(structpb.Struct) }},
	{"GET", "/v1/whoami", WhoAmI, none, func() proto.Message { return new(structpb.Struct) }},
	{"GET", "/v1/debug", Debug, none, func() proto.Message { return new(emptypb.Empty) }},
	{"GET", "/v1/users/{user_id}/notes", Own, pathUser, func() proto.Message { return new(emptypb.Empty) }},
	{"DELETE", "/v1/stepup", StepUp, none, func() proto.Message { return new(emptypb.Empty) }},
}

func pathUser(_ *http.Request, p map[string]string, _ runtime.Marshaler) (proto.Message, error) {
	return NewNoteRequest(p["user_id"], ""), nil
}

// RegisterREST registers the REST routes of the test services on mux,
// calling them through conn, the way generated Register…Handler functions
// do: its signature is a gateway.RegisterFunc. Errors go through
// runtime.HTTPError and stream errors through the mux's stream error
// handler, so the gateway's own error path answers.
func RegisterREST(_ context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	for _, rt := range routes {
		if err := mux.HandlePath(rt.verb, rt.pattern, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			ctx, inbound, outbound, ok := annotate(mux, w, r, rt.method, rt.pattern)
			if !ok {
				return
			}
			in, err := rt.in(r, params, inbound)
			if err != nil {
				runtime.HTTPError(ctx, mux, outbound, w, r, err)
				return
			}
			var md runtime.ServerMetadata
			out := rt.out()
			err = conn.Invoke(ctx, rt.method, in, out, grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
			ctx = runtime.NewServerMetadataContext(ctx, md)
			if err != nil {
				runtime.HTTPError(ctx, mux, outbound, w, r, err)
				return
			}
			runtime.ForwardResponseMessage(ctx, mux, outbound, w, r, out, mux.GetForwardResponseOptions()...)
		}); err != nil {
			return fmt.Errorf("authztest: %s %s: %w", rt.verb, rt.pattern, err)
		}
	}
	serverStream := func(pattern, method string, in func(map[string]string) (proto.Message, error)) error {
		return mux.HandlePath("GET", pattern, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			ctx, _, outbound, ok := annotate(mux, w, r, method, pattern)
			if !ok {
				return
			}
			req, err := in(params)
			if err != nil {
				runtime.HTTPError(ctx, mux, outbound, w, r, err)
				return
			}
			st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
			if err == nil {
				err = st.SendMsg(req)
			}
			if err == nil {
				err = st.CloseSend()
			}
			var md runtime.ServerMetadata
			if err == nil {
				md.HeaderMD, err = st.Header()
			}
			ctx = runtime.NewServerMetadataContext(ctx, md)
			if err != nil {
				runtime.HTTPError(ctx, mux, outbound, w, r, err)
				return
			}
			runtime.ForwardResponseStream(ctx, mux, outbound, w, r, func() (proto.Message, error) {
				m := new(structpb.Struct)
				return m, st.RecvMsg(m)
			}, mux.GetForwardResponseOptions()...)
		})
	}
	if err := serverStream("/v1/items:export", Export, func(map[string]string) (proto.Message, error) { return &emptypb.Empty{}, nil }); err != nil {
		return err
	}
	if err := serverStream("/v1/users/{user_id}/feed", Feed, func(p map[string]string) (proto.Message, error) {
		return NewNoteRequest(p["user_id"], ""), nil
	}); err != nil {
		return err
	}
	if err := serverStream("/v1/watch/{n}", Watch, func(p map[string]string) (proto.Message, error) {
		n, err := strconv.ParseInt(p["n"], 10, 32)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, "n must be a number")
		}
		return wrapperspb.Int32(int32(n)), nil
	}); err != nil {
		return err
	}
	return mux.HandlePath("POST", "/v1/items:import", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		ctx, inbound, outbound, ok := annotate(mux, w, r, Import, "/v1/items:import")
		if !ok {
			return
		}
		var md runtime.ServerMetadata
		out := new(wrapperspb.Int64Value)
		err := func() error {
			st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, Import)
			if err != nil {
				return err
			}
			dec := inbound.NewDecoder(r.Body)
			for {
				var name wrapperspb.StringValue
				err := dec.Decode(&name)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return status.Errorf(codes.InvalidArgument, "%v", err)
				}
				if err := st.SendMsg(&name); err != nil {
					if errors.Is(err, io.EOF) {
						break // the status comes with RecvMsg
					}
					return err
				}
			}
			if err := st.CloseSend(); err != nil {
				return err
			}
			if md.HeaderMD, err = st.Header(); err != nil {
				return err
			}
			err = st.RecvMsg(out)
			md.TrailerMD = st.Trailer()
			return err
		}()
		ctx = runtime.NewServerMetadataContext(ctx, md)
		if err != nil {
			runtime.HTTPError(ctx, mux, outbound, w, r, err)
			return
		}
		runtime.ForwardResponseMessage(ctx, mux, outbound, w, r, out, mux.GetForwardResponseOptions()...)
	})
}

// annotate does what every generated handler does first: pick the
// marshalers and turn the request's headers into outgoing metadata.
func annotate(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, method, pattern string) (context.Context, runtime.Marshaler, runtime.Marshaler, bool) {
	inbound, outbound := runtime.MarshalerForRequest(mux, r)
	ctx, err := runtime.AnnotateContext(r.Context(), mux, r, method, runtime.WithHTTPPathPattern(pattern))
	if err != nil {
		runtime.HTTPError(r.Context(), mux, outbound, w, r, err)
		return nil, nil, nil, false
	}
	return ctx, inbound, outbound, true
}
