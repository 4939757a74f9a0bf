package entra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

func TestATokenNeverShowsItself(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	raw := idp.Issue()
	c, err := v.Validate(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Token()
	if tok.Value() != raw {
		t.Fatal("Value is not the token")
	}
	// A piece of the signature is enough to recognise a leak.
	secret := raw[len(raw)-20:]
	type holder struct {
		Tok     entra.Token
		private entra.Token
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("m", "token", tok, "claims", c, "holder", holder{tok, tok})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("m", "token", tok, "ptr", &tok)
	out := []string{logs.String()}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(format, tok), fmt.Sprintf(format, &tok), fmt.Sprintf(format, holder{tok, tok}), fmt.Sprintf(format, c), fmt.Sprintf(format, *c))
	}
	out = append(out, fmt.Sprint(tok), fmt.Sprintln(tok), fmt.Errorf("calling: %v", tok).Error())
	for _, marshal := range []func(any) ([]byte, error){json.Marshal, func(v any) ([]byte, error) { return jsonv2.Marshal(v) }} {
		for _, v := range []any{tok, &tok, holder{tok, tok}, c, map[string]any{"t": tok}} {
			b, err := marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	text, _ := tok.MarshalText()
	out = append(out, string(text), tok.String(), tok.GoString(), tok.LogValue().String())
	for _, o := range out {
		if strings.Contains(o, secret) {
			t.Fatalf("the token leaked: %.300s", o)
		}
	}
	if !strings.Contains(out[0], "[REDACTED]") {
		t.Fatalf("log %s", out[0])
	}
}

func TestEachCallerGetsItsOwnToken(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	ctx := context.Background()
	tok := idp.Issue()
	// The same token, cached after the first call: each call has its own.
	first, _ := v.Validate(ctx, tok)
	second, err := v.Validate(ctx, tok)
	if err != nil || first.Token().Value() != tok || second.Token().Value() != tok {
		t.Fatalf("tokens %v", err)
	}
	// Concurrent callers with different tokens never see each other's.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			mine := idp.Issue(entratest.Claim("n", i))
			for range 20 {
				c, err := v.Validate(ctx, mine)
				if err != nil || c.Token().Value() != mine {
					t.Errorf("caller %d got another token (%v)", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if (&entra.Claims{}).Token().Value() != "" || !(&entra.Claims{}).Token().IsZero() {
		t.Fatal("claims made by hand have a token")
	}
}
