package entratest

import (
	"net/http"
	"time"
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

func (p *Provider) writeGarbage(w http.ResponseWriter) {
	p.fetches.failed.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(garbage))
}
