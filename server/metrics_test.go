package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
)

// scrapeMetrics gets url over HTTP and returns the value of each series,
// keyed by its name and labels as the exposition writes them
// (name{k="v",…}); a histogram's series is its count.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
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
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+`"`+lp.GetValue()+`"`)
			}
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

func TestMetricsCountTheServersDecisions(t *testing.T) {
	idp := entratest.NewServer(t)
	srv, conn, _ := start(t, "AZUREAD_TENANT_ID="+idp.TenantID(), "AZUREAD_CLIENT_ID="+idp.ClientID(),
		"AZUREAD_AUTHORITY_HOST="+idp.Authority(), "METRICS_ADDR=127.0.0.1:0")
	if err := srv.Validator().Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := itemsv1.NewItemServiceClient(conn)
	call := func(token string) codes.Code {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		_, err := client.ListItems(ctx, &itemsv1.ListItemsRequest{})
		return status.Code(err)
	}
	reader := idp.Issue(entratest.Scopes("Items.Read"))
	for _, c := range []struct {
		token string
		want  codes.Code
	}{
		{reader, codes.OK},
		{reader, codes.OK}, // a cache hit
		{idp.Issue(entratest.Scopes("Items.Write")), codes.PermissionDenied},
		{"", codes.Unauthenticated},
	} {
		if got := call(c.token); got != c.want {
			t.Fatalf("ListItems: %v, want %v", got, c.want)
		}
	}
	// One REST call: the gateway reaches the same gRPC server in-process.
	req, _ := http.NewRequest(http.MethodGet, srv.HTTPURL()+"/v1/items", nil)
	req.Header.Set("Authorization", "Bearer "+reader)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/items: %s", resp.Status)
	}

	got := scrapeMetrics(t, srv.MetricsURL())
	const list = `method="/example.items.v1.ItemService/ListItems"`
	for name, want := range map[string]float64{
		`grpc_azure_auth_decisions_total{` + list + `,outcome="allowed",reason=""}`:                                                                     3,
		`grpc_azure_auth_decisions_total{` + list + `,outcome="denied",reason="INSUFFICIENT_SCOPE"}`:                                                    1,
		`grpc_azure_auth_decisions_total{` + list + `,outcome="unauthenticated",reason="TOKEN_MISSING"}`:                                                1,
		`grpc_azure_auth_token_validation_seconds{outcome="allowed"}`:                                                                                   3,
		`grpc_azure_auth_token_validation_seconds{outcome="denied"}`:                                                                                    1,
		`grpc_azure_auth_token_cache_hits_total`:                                                                                                        2,
		`grpc_azure_auth_token_cache_misses_total`:                                                                                                      2,
		`grpc_azure_auth_token_cache_entries`:                                                                                                           2,
		`grpc_azure_auth_key_set_fetches_total`:                                                                                                         1,
		`grpc_azure_auth_key_set_fetch_failures_total`:                                                                                                  0,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="ListItems",grpc_service="example.items.v1.ItemService",grpc_type="unary"}`:               3,
		`grpc_server_handled_total{grpc_code="PermissionDenied",grpc_method="ListItems",grpc_service="example.items.v1.ItemService",grpc_type="unary"}`: 1,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="ListItems",grpc_service="example.items.v1.ItemService",grpc_type="unary"}`:  1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if _, ok := got["grpc_azure_auth_key_set_age_seconds"]; !ok {
		t.Error("no key set age once the keys are loaded")
	}

	t.Run("the HTTP listener does not serve metrics", func(t *testing.T) {
		resp, err := http.Get(srv.HTTPURL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "grpc_azure_auth_") {
			t.Fatalf("GET %s/metrics: %s %s", srv.HTTPURL(), resp.Status, body)
		}
	})
	t.Run("without METRICS_ADDR there are no metrics", func(t *testing.T) {
		srv, _, _ := startDev(t)
		if srv.Metrics() != nil || srv.MetricsURL() != "" {
			t.Fatalf("metrics at %q", srv.MetricsURL())
		}
	})
}
