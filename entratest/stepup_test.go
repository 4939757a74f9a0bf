package entratest_test

import (
	"net/url"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

func TestStepUpClaims(t *testing.T) {
	idp := entratest.NewServer(t)
	t.Run("Issue sets acrs and xms_cc", func(t *testing.T) {
		_, c := parts(t, idp.Issue(entratest.AuthContexts("c1"), entratest.ClientCapabilities("cp1")))
		if fmtAny(c["acrs"]) != "[c1]" || fmtAny(c["xms_cc"]) != "[cp1]" {
			t.Fatalf("acrs %v xms_cc %v", c["acrs"], c["xms_cc"])
		}
	})
	t.Run("the token endpoint completes a requested step-up", func(t *testing.T) {
		status, body := post(t, idp.Client(), idp.TokenURL(), url.Values{
			"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"alice"}, "password": {"dev"}, "scope": {idp.AppIDURI() + "/.default"},
			"claims": {`{"access_token":{"xms_cc":{"values":["cp1"]},"acrs":{"essential":true,"value":"c1"}}}`},
		})
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		if err := verify(t, idp, body["access_token"].(string)); err != nil {
			t.Fatal(err)
		}
		_, c := parts(t, body["access_token"].(string))
		if fmtAny(c["acrs"]) != "[c1]" || fmtAny(c["xms_cc"]) != "[cp1]" {
			t.Fatalf("acrs %v xms_cc %v", c["acrs"], c["xms_cc"])
		}
	})
}
