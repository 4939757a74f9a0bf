// Package items is the Items example of grpc-azure-auth: the ItemService
// and InfoService of proto/example, an in-memory inventory that shows every
// kind of access rule on every kind of RPC. It is one user of the serving
// kit (package server), run by `make run`, and not part of the library.
package items

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
)

// maxWatchers bounds concurrent WatchItems streams.
const maxWatchers = 1024

// Items is the example ItemService: an in-memory inventory. Its handlers
// trust the interceptor: they read the caller with entra.FromContext and
// never look at tokens.
type Items struct {
	itemsv1.UnimplementedItemServiceServer

	mu       sync.Mutex
	next     int
	items    map[string]*itemsv1.Item
	watchers map[chan *itemsv1.WatchItemsResponse]struct{}
}

// New returns an inventory holding a few sample items.
func New() *Items {
	s := &Items{items: map[string]*itemsv1.Item{}, watchers: map[chan *itemsv1.WatchItemsResponse]struct{}{}}
	for _, it := range []struct {
		name string
		qty  int64
	}{{"Keyboard", 12}, {"Monitor", 4}, {"Cable", 140}} {
		s.create(&itemsv1.Item{Name: it.name, Quantity: it.qty, Owner: "seed"})
	}
	return s
}

func (s *Items) create(it *itemsv1.Item) *itemsv1.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	it = proto.CloneOf(it)
	it.Id = fmt.Sprintf("item-%d", s.next)
	s.items[it.Id] = it
	s.notifyLocked(&itemsv1.WatchItemsResponse{Item: it})
	return proto.CloneOf(it)
}

// notifyLocked tells every watcher, dropping the event for watchers too slow
// to keep up rather than blocking writers.
func (s *Items) notifyLocked(ev *itemsv1.WatchItemsResponse) {
	for ch := range s.watchers {
		select {
		case ch <- proto.CloneOf(ev):
		default:
		}
	}
}

func owner(ctx context.Context) string {
	if c, ok := entra.FromContext(ctx); ok {
		return c.ObjectID
	}
	return ""
}

func validItem(it *itemsv1.Item) error {
	switch {
	case it == nil || strings.TrimSpace(it.GetName()) == "":
		return status.Error(codes.InvalidArgument, "item.name is required")
	case len(it.GetName()) > 200:
		return status.Error(codes.InvalidArgument, "item.name is longer than 200 bytes")
	case it.GetQuantity() < 0:
		return status.Error(codes.InvalidArgument, "item.quantity must not be negative")
	}
	return nil
}

// GetItem returns one item.
func (s *Items) GetItem(_ context.Context, req *itemsv1.GetItemRequest) (*itemsv1.GetItemResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[req.GetId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no item %q", req.GetId())
	}
	return &itemsv1.GetItemResponse{Item: proto.CloneOf(it)}, nil
}

// ListItems returns every item ordered by ID.
func (s *Items) ListItems(context.Context, *itemsv1.ListItemsRequest) (*itemsv1.ListItemsResponse, error) {
	return &itemsv1.ListItemsResponse{Items: s.snapshot()}, nil
}

func (s *Items) snapshot() []*itemsv1.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*itemsv1.Item, 0, len(s.items))
	for _, it := range s.items {
		out = append(out, proto.CloneOf(it))
	}
	slices.SortFunc(out, func(a, b *itemsv1.Item) int { return strings.Compare(a.Id, b.Id) })
	return out
}

// CreateItem stores a new item owned by the caller.
func (s *Items) CreateItem(ctx context.Context, req *itemsv1.CreateItemRequest) (*itemsv1.CreateItemResponse, error) {
	if err := validItem(req.GetItem()); err != nil {
		return nil, err
	}
	it := proto.CloneOf(req.GetItem())
	it.Owner = owner(ctx)
	return &itemsv1.CreateItemResponse{Item: s.create(it)}, nil
}

// DeleteItem removes an item.
func (s *Items) DeleteItem(_ context.Context, req *itemsv1.DeleteItemRequest) (*itemsv1.DeleteItemResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[req.GetId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no item %q", req.GetId())
	}
	delete(s.items, it.Id)
	s.notifyLocked(&itemsv1.WatchItemsResponse{Item: it, Deleted: true})
	return &itemsv1.DeleteItemResponse{}, nil
}

// ExportItems streams every item.
func (s *Items) ExportItems(_ *itemsv1.ExportItemsRequest, stream itemsv1.ItemService_ExportItemsServer) error {
	for _, it := range s.snapshot() {
		if err := stream.Send(&itemsv1.ExportItemsResponse{Item: it}); err != nil {
			return err
		}
	}
	return nil
}

// WatchItems streams changes until the client leaves or max_events is reached.
func (s *Items) WatchItems(req *itemsv1.WatchItemsRequest, stream itemsv1.ItemService_WatchItemsServer) error {
	ch := make(chan *itemsv1.WatchItemsResponse, 64)
	s.mu.Lock()
	if len(s.watchers) >= maxWatchers {
		s.mu.Unlock()
		return status.Error(codes.ResourceExhausted, "too many watchers")
	}
	s.watchers[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, ch)
		s.mu.Unlock()
	}()
	// Headers go out now, so the client knows the watch is registered.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	for sent := int32(0); req.GetMaxEvents() == 0 || sent < req.GetMaxEvents(); sent++ {
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case ev := <-ch:
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// ImportItems creates every streamed item and answers with the count.
func (s *Items) ImportItems(stream itemsv1.ItemService_ImportItemsServer) error {
	var n int32
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&itemsv1.ImportItemsResponse{Created: n})
		}
		if err != nil {
			return err
		}
		if err := validItem(req.GetItem()); err != nil {
			return err
		}
		it := proto.CloneOf(req.GetItem())
		it.Owner = owner(stream.Context())
		s.create(it)
		n++
	}
}

// SyncItems applies each quantity change and answers with the item.
func (s *Items) SyncItems(stream itemsv1.ItemService_SyncItemsServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		it, err := s.adjust(req.GetId(), req.GetDelta())
		if err != nil {
			return err
		}
		if err := stream.Send(&itemsv1.SyncItemsResponse{Item: it}); err != nil {
			return err
		}
	}
}

func (s *Items) adjust(id string, delta int64) (*itemsv1.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no item %q", id)
	}
	if it.Quantity+delta < 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "item %q has only %d", id, it.Quantity)
	}
	it.Quantity += delta
	s.notifyLocked(&itemsv1.WatchItemsResponse{Item: it})
	return proto.CloneOf(it), nil
}

// Info is the example InfoService.
type Info struct {
	itemsv1.UnimplementedInfoServiceServer
	// Name is what GetInfo answers as the server's name.
	Name string
}

// GetInfo names the server and, when a valid token came, the caller.
func (i *Info) GetInfo(ctx context.Context, _ *itemsv1.GetInfoRequest) (*itemsv1.GetInfoResponse, error) {
	return &itemsv1.GetInfoResponse{Name: i.Name, Caller: owner(ctx)}, nil
}

// GetDebugInfo has no access rule, so the interceptor never lets a call
// reach it; it exists to show that.
func (i *Info) GetDebugInfo(context.Context, *itemsv1.GetDebugInfoRequest) (*itemsv1.GetDebugInfoResponse, error) {
	return &itemsv1.GetDebugInfoResponse{Goroutines: int32(runtime.NumGoroutine())}, nil
}
