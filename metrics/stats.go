package metrics

import "github.com/prometheus/client_golang/prometheus"

// statsCollector reads a validator's Stats when Prometheus scrapes.
type statsCollector struct {
	v                                          StatsSource
	hits, misses, entries, fetches, fails, age *prometheus.Desc
}

func newStatsCollector(v StatsSource) *statsCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &statsCollector{
		v:       v,
		hits:    d("grpc_azure_auth_token_cache_hits_total", "Validated-token cache lookups that found the token."),
		misses:  d("grpc_azure_auth_token_cache_misses_total", "Validated-token cache lookups that did not."),
		entries: d("grpc_azure_auth_token_cache_entries", "Tokens in the validated-token cache."),
		fetches: d("grpc_azure_auth_key_set_fetches_total", "Successful fetches of the identity provider's discovery document and key set."),
		fails:   d("grpc_azure_auth_key_set_fetch_failures_total", "Failed fetches of the identity provider's discovery document or key set."),
		age:     d("grpc_azure_auth_key_set_age_seconds", "Time since the key set in use was fetched; absent until one is."),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.entries, c.fetches, c.fails, c.age} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.v.Stats()
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.CacheHits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.CacheMisses))
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.CacheEntries))
	ch <- prometheus.MustNewConstMetric(c.fetches, prometheus.CounterValue, float64(s.KeySetFetches))
	ch <- prometheus.MustNewConstMetric(c.fails, prometheus.CounterValue, float64(s.KeySetFetchFailures))
	if !s.KeySetLoadedAt.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, c.v.Now().Sub(s.KeySetLoadedAt).Seconds())
	}
}
