package entratest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// Fault is a way for the provider's metadata to be wrong, for testing how
// validators live with a misbehaving identity provider or a proxy in the
// way. Each answers 200 OK, so that only reading the answer tells.
type Fault int32

// Faults for [Provider.SetFault].
const (
	// NoFault serves metadata as it should be.
	NoFault Fault = iota
	// GarbageDiscovery answers discovery documents with an HTML page (a
	// captive portal or a proxy's error page), labelled JSON.
	GarbageDiscovery
	// GarbageKeySet answers key sets with the same HTML page.
	GarbageKeySet
	// HugeKeySet answers key sets with a valid key set padded to 2 MiB;
	// Entra's are about 10 KB.
	HugeKeySet
	// TooManyKeys answers key sets with 500 keys (Entra publishes a
	// handful), in about 200 KB.
	TooManyKeys
)

const (
	hugeKeySetBytes = 2 << 20
	tooManyKeys     = 500
)

// garbage is what a faulty endpoint answers: not JSON.
const garbage = "<!doctype html><html><head><title>Sign in to the network</title></head><body><h1>Please accept the terms of use</h1></body></html>\n"

// SetFault makes the metadata endpoints answer in the way f says, until
// SetFault(NoFault). Faulty answers count in [Fetches].Failed, not as
// documents served.
func (p *Provider) SetFault(f Fault) { p.fault.Store(int32(f)) }

func (p *Provider) currentFault() Fault { return Fault(p.fault.Load()) }

// SetDelay makes the discovery and key-set endpoints wait d before each
// answer, to test the time limits of validators; 0 answers at once. A
// request whose client gives up is not answered, nor counted; closing the
// [Server] ends every wait.
func (p *Provider) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// wait holds an answer back for the delay SetDelay set, and reports whether
// to answer.
func (p *Provider) wait(r *http.Request) bool {
	d := time.Duration(p.delay.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-p.stop:
	}
	return false
}

// ServeHTTP serves the provider's endpoints as [devidp.Provider.ServeHTTP]
// does, but for what [Provider.SetDown], [Provider.SetDelay] and
// [Provider.SetFault] ask, and counts what it serves ([Provider.Fetches]).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.down.Load() {
		p.fetches.failed.Add(1)
		devidp.WriteError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable",
			"AADSTS90033: A transient error has occurred. Please try again.")
		return
	}
	kind := endpointOf(r.URL.Path)
	if kind != discoveryDocument && kind != keySet {
		rec := &statusRecorder{ResponseWriter: w}
		p.Provider.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			switch kind {
			case instanceDiscovery:
				p.fetches.discovery.Add(1)
			case tokenEndpoint:
				p.fetches.token.Add(1)
			}
		}
		return
	}
	// Metadata is answered in full first: only a document the provider
	// serves is held back, replaced by a fault, or counted.
	rec := httptest.NewRecorder()
	p.Provider.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK && !p.wait(r) {
		return
	}
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var failed bool
		body, failed = p.faulty(kind, body)
		switch {
		case failed:
			p.fetches.failed.Add(1)
		case kind == discoveryDocument:
			p.fetches.discovery.Add(1)
		default:
			p.fetches.jwks.Add(1)
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// faulty returns the body of a metadata document as the current fault
// makes it, and whether it did.
func (p *Provider) faulty(kind endpoint, body []byte) ([]byte, bool) {
	switch f := p.currentFault(); {
	case f == GarbageDiscovery && kind == discoveryDocument, f == GarbageKeySet && kind == keySet:
		return []byte(garbage), true
	case (f == TooManyKeys || f == HugeKeySet) && kind == keySet:
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			panic(fmt.Sprintf("entratest: the provider's key set: %v", err))
		}
		keys, _ := doc["keys"].([]any)
		if f == HugeKeySet {
			doc["padding"] = strings.Repeat("A", hugeKeySetBytes)
		} else if len(keys) > 0 {
			first, _ := keys[0].(map[string]any)
			for i := len(keys); i < tooManyKeys; i++ {
				k := maps.Clone(first)
				k["kid"] = fmt.Sprintf("extra-%03d", i)
				delete(k, "x5t")
				delete(k, "x5c") // too many keys, not too many bytes (HugeKeySet)
				keys = append(keys, k)
			}
			doc["keys"] = keys
		}
		b, err := json.Marshal(doc)
		if err != nil {
			panic(fmt.Sprintf("entratest: encoding a key set: %v", err))
		}
		return append(b, '\n'), true
	}
	return body, false
}

// endpoint is what a request path asks for, as far as counting and faults
// go.
type endpoint int

const (
	otherEndpoint     endpoint = iota
	discoveryDocument          // a tenant's or user flow's, v1 or v2
	keySet                     // a tenant's or user flow's, v1 or v2
	instanceDiscovery          // the Azure SDK's
	tokenEndpoint
)

// endpointOf classifies a request path by how it ends; the provider
// answers 200 OK only on its own paths, and only those are counted.
func endpointOf(path string) endpoint {
	switch {
	case strings.HasSuffix(path, "/.well-known/openid-configuration"):
		return discoveryDocument
	case strings.HasSuffix(path, "/discovery/v2.0/keys"), strings.HasSuffix(path, "/discovery/keys"):
		return keySet
	case strings.HasSuffix(path, "/discovery/instance"):
		return instanceDiscovery
	case strings.HasSuffix(path, "/oauth2/v2.0/token"):
		return tokenEndpoint
	}
	return otherEndpoint
}

// statusRecorder notes the status of an answer it passes on.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
