package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/metrics"
)

// items answers GetItem; the rules of ItemService come from its protos.
type items struct {
	itemsv1.UnimplementedItemServiceServer
}

func (items) GetItem(_ context.Context, r *itemsv1.GetItemRequest) (*itemsv1.GetItemResponse, error) {
	return &itemsv1.GetItemResponse{Item: &itemsv1.Item{Id: r.GetId()}}, nil
}

// fixture is a gRPC server on loopback protected by the interceptor, with
// metrics served over HTTP, built with opts besides.
type fixture struct {
	idp       *entratest.Server
	client    itemsv1.ItemServiceClient
	conn      *grpc.ClientConn
	scrapeURL string
}

func newFixture(t *testing.T, opts ...grpc.ServerOption) *fixture {
	t.Helper()
	idp := entratest.NewServer(t)
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithHTTPClient(idp.Client()), entra.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(metrics.WithValidator(v))
	if err != nil {
		t.Fatal(err)
	}
	authz, err := interceptor.New(v, interceptor.WithDecisionHook(m.DecisionHook), interceptor.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(opts,
		grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor(), authz.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(m.StreamServerInterceptor(), authz.StreamServerInterceptor()),
	)...)
	itemsv1.RegisterItemServiceServer(srv, items{})
	conn, scrapeURL := serveWithMetrics(t, srv, m)
	return &fixture{idp: idp, client: itemsv1.NewItemServiceClient(conn), conn: conn, scrapeURL: scrapeURL}
}

// serveWithMetrics initializes m's series for srv's methods, serves srv on
// loopback and m's handler over HTTP, and returns a connection to srv and
// the URL to scrape.
func serveWithMetrics(t *testing.T, srv *grpc.Server, m *metrics.Recorder) (*grpc.ClientConn, string) {
	t.Helper()
	m.InitializeMetrics(srv)
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
	web := httptest.NewServer(m.Handler())
	t.Cleanup(web.Close)
	return conn, web.URL
}

// call calls GetItem with token (none when empty) and returns the code.
func (f *fixture) call(t *testing.T, token string) codes.Code {
	t.Helper()
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	_, err := f.client.GetItem(ctx, &itemsv1.GetItemRequest{Id: "item-1"})
	return status.Code(err)
}

// scrape fetches the exposition over HTTP and parses it.
type scraped map[string]*dto.MetricFamily

func scrape(t *testing.T, url string) scraped {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// value is the value of the series of family name whose labels include
// labels ("k=v" pairs): a counter's or gauge's value, a histogram's count.
// ok is false when there is no such series.
func (s scraped) value(name string, labels ...string) (v float64, ok bool) {
	mf := s[name]
	if mf == nil {
		return 0, false
	}
series:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for _, kv := range labels {
			k, want, _ := strings.Cut(kv, "=")
			if have[k] != want {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsCountKnownCalls(t *testing.T) {
	f := newFixture(t)
	reader := f.idp.Issue(entratest.Scopes("Items.Read"))
	for range 2 {
		if got := f.call(t, reader); got != codes.OK {
			t.Fatalf("reader: %v", got)
		}
	}
	if got := f.call(t, f.idp.Issue(entratest.Scopes("Items.Write"))); got != codes.PermissionDenied {
		t.Fatalf("writer reading: %v, want PermissionDenied", got)
	}
	if got := f.call(t, ""); got != codes.Unauthenticated {
		t.Fatalf("no token: %v, want Unauthenticated", got)
	}
	if got := f.call(t, f.idp.Issue(entratest.Audience("api://someone-else"))); got != codes.Unauthenticated {
		t.Fatalf("wrong audience: %v, want Unauthenticated", got)
	}
	// A method the server does not have is answered by gRPC itself.
	if err := f.conn.Invoke(context.Background(), "/example.items.v1.ItemService/Nope", &itemsv1.GetItemRequest{}, &itemsv1.GetItemResponse{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v, want Unimplemented", err)
	}

	s := scrape(t, f.scrapeURL)
	const getItem = "method=/example.items.v1.ItemService/GetItem"
	for _, c := range []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"two calls with the right scope are allowed", "grpc_azure_auth_decisions_total", []string{getItem, "outcome=allowed", "reason="}, 2},
		{"a token without the scope is denied", "grpc_azure_auth_decisions_total", []string{getItem, "outcome=denied", "reason=INSUFFICIENT_SCOPE"}, 1},
		{"a call without a token is unauthenticated", "grpc_azure_auth_decisions_total", []string{getItem, "outcome=unauthenticated", "reason=TOKEN_MISSING"}, 1},
		{"a token for another audience is unauthenticated", "grpc_azure_auth_decisions_total", []string{getItem, "outcome=unauthenticated", "reason=TOKEN_INVALID"}, 1},
		{"validations that allowed are timed", "grpc_azure_auth_token_validation_seconds", []string{"outcome=allowed"}, 2},
		{"the validation of the denied call is timed", "grpc_azure_auth_token_validation_seconds", []string{"outcome=denied"}, 1},
		{"only the presented bad token is timed", "grpc_azure_auth_token_validation_seconds", []string{"outcome=unauthenticated"}, 1},
		{"the second use of a token hits the cache", "grpc_azure_auth_token_cache_hits_total", nil, 1},
		{"each first use of a token misses", "grpc_azure_auth_token_cache_misses_total", nil, 3},
		{"the two valid tokens are cached", "grpc_azure_auth_token_cache_entries", nil, 2},
		{"the key set was fetched once", "grpc_azure_auth_key_set_fetches_total", nil, 1},
		{"no fetch failed", "grpc_azure_auth_key_set_fetch_failures_total", nil, 0},
		{"every GetItem call is handled", "grpc_server_handled_total", []string{"grpc_method=GetItem", "grpc_code=OK"}, 2},
		{"refused calls are handled with their code", "grpc_server_handled_total", []string{"grpc_method=GetItem", "grpc_code=Unauthenticated"}, 2},
		{"registered methods are there at zero", "grpc_server_started_total", []string{"grpc_method=DeleteItem"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := s.value(c.metric, c.labels...)
			if !ok || got != c.want {
				t.Errorf("%s%v = %v (present %v), want %v", c.metric, c.labels, got, ok, c.want)
			}
		})
	}
	t.Run("the key set's age is a few seconds at most", func(t *testing.T) {
		age, ok := s.value("grpc_azure_auth_key_set_age_seconds")
		if !ok || age < 0 || age > time.Minute.Seconds() {
			t.Errorf("key set age %v (present %v)", age, ok)
		}
	})
	t.Run("no label names the unknown method", func(t *testing.T) {
		for name, mf := range s {
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if strings.Contains(lp.GetValue(), "Nope") {
						t.Errorf("%s has label %s=%q", name, lp.GetName(), lp.GetValue())
					}
				}
			}
		}
	})
}

func TestDecisionHookBoundsLabels(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	itemsv1.RegisterItemServiceServer(srv, items{})
	m.InitializeMetrics(srv)
	web := httptest.NewServer(m.Handler())
	defer web.Close()

	for _, d := range []interceptor.Decision{
		{FullMethod: "/attacker.Chosen/eyJhbGciOiJSUzI1NiJ9", Outcome: interceptor.OutcomeDenied, Reason: authzerr.ReasonNoRule},
		{FullMethod: "/example.items.v1.ItemService/GetItem", Outcome: "weird", Reason: "oid=00000000-0000-0000-0000-000000000001"},
		{FullMethod: "/example.items.v1.ItemService/GetItem", Outcome: interceptor.OutcomeAllowed, ValidationTime: time.Millisecond},
	} {
		m.DecisionHook(context.Background(), d)
	}
	s := scrape(t, web.URL)
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"an unregistered method is counted as unknown", []string{"method=unknown", "outcome=denied", "reason=NO_RULE"}},
		{"an unknown outcome and reason are counted as OTHER", []string{"method=/example.items.v1.ItemService/GetItem", "outcome=OTHER", "reason=OTHER"}},
		{"an allowed call is counted under its method", []string{"method=/example.items.v1.ItemService/GetItem", "outcome=allowed", "reason="}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, ok := s.value("grpc_azure_auth_decisions_total", c.labels...); !ok || got != 1 {
				t.Errorf("decisions%v = %v (present %v), want 1", c.labels, got, ok)
			}
		})
	}
	counted := 0
	for _, m := range s["grpc_azure_auth_decisions_total"].GetMetric() {
		if m.GetCounter().GetValue() != 0 {
			counted++
		}
	}
	if counted != 3 {
		t.Errorf("%d decision series counted, want 3", counted)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, opt := range map[string]metrics.Option{
		"a nil validator is refused":      metrics.WithValidator(nil),
		"decreasing buckets are refused":  metrics.WithValidationBuckets(1, 0.5),
		"an empty bucket list is refused": metrics.WithValidationBuckets(),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := metrics.New(opt); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}

func TestUnregisteredMethodsAreCountedAsUnknown(t *testing.T) {
	// A catch-all (a proxy backend) receives every method the server does
	// not have, under whatever name the caller sent.
	f := newFixture(t, grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error { return nil }))
	for i := range 20 {
		method := fmt.Sprintf("/chosen%d.ByTheCaller/Method%d", i, i)
		err := f.conn.Invoke(context.Background(), method, &itemsv1.GetItemRequest{}, &itemsv1.GetItemResponse{})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("%s: %v, want PermissionDenied (no rule)", method, err)
		}
	}
	s := scrape(t, f.scrapeURL)
	for name, mf := range s {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetValue(), "chosen") || strings.Contains(lp.GetValue(), "ByTheCaller") {
					t.Errorf("%s has label %s=%q", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}
	for _, c := range []struct {
		metric string
		labels []string
	}{
		{"grpc_server_started_total", []string{"grpc_service=unknown", "grpc_method=unknown"}},
		{"grpc_server_handled_total", []string{"grpc_service=unknown", "grpc_method=unknown", "grpc_code=PermissionDenied"}},
		{"grpc_azure_auth_decisions_total", []string{"method=unknown", "outcome=denied", "reason=NO_RULE"}},
	} {
		if got, ok := s.value(c.metric, c.labels...); !ok || got != 20 {
			t.Errorf("%s%v = %v (present %v), want 20", c.metric, c.labels, got, ok)
		}
	}
}
