package servertest

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

// fatalTB records the first Fatalf and ends its goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	fatal chan string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal <- fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A server that never says SERVING fails the test with the reason: here,
// its identity provider answers 503, so the signing keys never load. The
// wait is shortened from 30 seconds to one: the test waits for a
// deadline to pass, not for something to happen.
func TestNeverServingSaysWhy(t *testing.T) {
	idp := entratest.NewServer(t)
	idp.SetDown(true)
	cfg := server.Config{TenantID: idp.TenantID(), ClientID: idp.ClientID(), AuthorityHost: idp.Authority()}
	tb := &fatalTB{TB: t, fatal: make(chan string, 1)}
	go func() {
		start(tb, time.Second, cfg, server.WithLogger(slog.New(slog.DiscardHandler)),
			server.WithServices(server.Service{Register: items.Register}))
		tb.fatal <- ""
	}()
	msg := <-tb.fatal
	for _, want := range []string{"servertest: never SERVING within 1s: the signing keys did not load: ", "503"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Fatalf(%q), want it to say %q", msg, want)
		}
	}
}
