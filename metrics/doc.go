// Package metrics exposes what grpc-azure-auth decides and what its token
// validator does as Prometheus metrics, together with per-RPC metrics from
// go-grpc-middleware's Prometheus provider:
//
//	grpc_azure_auth_decisions_total{method,outcome,reason}         counter
//	grpc_azure_auth_shadow_decisions_total{method,enforced,shadow} counter
//	grpc_azure_auth_token_validation_seconds{outcome}              histogram
//	grpc_azure_auth_token_cache_hits_total                         counter
//	grpc_azure_auth_token_cache_misses_total                       counter
//	grpc_azure_auth_token_cache_entries                            gauge
//	grpc_azure_auth_key_set_fetches_total                          counter
//	grpc_azure_auth_key_set_fetch_failures_total                   counter
//	grpc_azure_auth_key_set_age_seconds                            gauge (absent before the first key set)
//	grpc_server_started_total, grpc_server_handled_total{grpc_code},
//	grpc_server_msg_{received,sent}_total, grpc_server_handling_seconds
//	                 {grpc_type,grpc_service,grpc_method}          per-RPC
//	go_*, process_*                                                runtime
//
// Decisions come from [Recorder.DecisionHook], given to the interceptor with
// interceptor.WithDecisionHook; disagreements of shadow rules with the
// enforced ones from [Recorder.ShadowHook], given with
// interceptor.WithShadowHook (enforced and shadow are rules.OutcomeOf's
// outcomes: ALLOWED or a denial's reason). The cache and key-set figures are read from
// the validator's Stats when Prometheus scrapes, so they cost the request
// path nothing.
//
// No label carries a token, a caller, or any other value a client chooses:
// method labels name only methods registered on the server (see
// [Recorder.InitializeMetrics]; anything else is counted as "unknown"),
// outcomes are interceptor.Outcome values and reasons are authzerr's
// Reason constants ("OTHER" for any other). The per-RPC metrics, too, name
// registered methods only: a call to any other method (which a
// grpc.UnknownServiceHandler would receive, under whatever name the caller
// sent) is counted with grpc_service and grpc_method "unknown".
package metrics
