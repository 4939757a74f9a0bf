package devidp

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The claims request parameter (OpenID Connect Core 5.5), as clients of
// Entra send it to complete a step-up or to declare client capabilities:
// {"access_token":{"acrs":{"essential":true,"value":"c1"},"xms_cc":{"values":["cp1"]}}}.
const (
	// maxClaimsBytes bounds the claims parameter; what Entra's clients send
	// is a few hundred bytes.
	maxClaimsBytes = 4 << 10
	// maxClaimRequests bounds the claims one member of the parameter
	// (access_token, id_token, userinfo) names.
	maxClaimRequests = 16
	// maxClaimValues bounds the values one claim request lists.
	maxClaimValues = 16
)

// AuthContexts sets the acrs claim: the Conditional Access authentication
// context IDs ("c1" … "c99") the user satisfied when the token was issued,
// as Entra issues them after a step-up. No IDs means no acrs claim. The
// token endpoint puts there the contexts a claims request asks for, for
// users only: app-only tokens never carry acrs.
func AuthContexts(ids ...string) TokenOption {
	return func(t *tokenConfig) { t.acrs = append([]string(nil), ids...) }
}

// ClientCapabilities sets the xms_cc claim: the capabilities the client
// declared, such as "cp1" (it can answer claims challenges), as Entra
// issues them when the API's registration asks for the optional claim
// xms_cc. No capabilities means no xms_cc claim. The token endpoint puts
// there the values a claims request asks for in xms_cc, in lower case as
// Entra emits them (azidentity asks for "CP1").
func ClientCapabilities(caps ...string) TokenOption {
	return func(t *tokenConfig) { t.xmsCC = append([]string(nil), caps...) }
}

// claimsRequest is what a token request's claims parameter asks of the
// access token: authentication contexts and client capabilities.
type claimsRequest struct {
	acrs, xmsCC []string
}

// options are the token options that give the access token what r asks
// for; acrs only when user is true.
func (r claimsRequest) options(user bool) []TokenOption {
	var opts []TokenOption
	if user && len(r.acrs) > 0 {
		opts = append(opts, AuthContexts(r.acrs...))
	}
	if len(r.xmsCC) > 0 {
		opts = append(opts, ClientCapabilities(r.xmsCC...))
	}
	return opts
}

// claimRequest is the request for one claim: essential, and a value or a
// list of values.
type claimRequest struct {
	Essential *bool            `json:"essential"`
	Value     jsontext.Value   `json:"value,omitzero"`
	Values    []jsontext.Value `json:"values,omitzero"`
}

// claimsParameter is the claims parameter: the members OpenID Connect
// defines, each naming claims.
type claimsParameter struct {
	AccessToken map[string]*claimRequest `json:"access_token"`
	IDToken     map[string]*claimRequest `json:"id_token"`
	UserInfo    map[string]*claimRequest `json:"userinfo"`
}

// errClaims is why a claims parameter is refused.
var errClaims = errors.New("devidp: claims parameter")

// parseClaims reads a claims parameter, untrusted: a JSON object of at
// most maxClaimsBytes with the members access_token, id_token and
// userinfo only, each an object of claim requests (null, or an object of
// essential, value and values, not both of the last two), names exact
// and none given twice, bounded in number. Requests for acrs and xms_cc
// in access_token must be strings: authentication context IDs c1…c99, and
// capability names. Requests for other claims (nbf, from a Continuous
// Access Evaluation challenge, say) are read and not acted upon. "" asks
// for nothing.
func parseClaims(raw string) (claimsRequest, error) {
	var req claimsRequest
	if raw == "" {
		return req, nil
	}
	if len(raw) > maxClaimsBytes {
		return req, fmt.Errorf("%w: more than %d bytes", errClaims, maxClaimsBytes)
	}
	if jsontext.Value(raw).Kind() != '{' {
		return req, fmt.Errorf("%w: want a JSON object", errClaims)
	}
	var p claimsParameter
	if err := jsonv2.Unmarshal([]byte(raw), &p, jsonv2.RejectUnknownMembers(true)); err != nil {
		return req, fmt.Errorf("%w: %v", errClaims, err)
	}
	for _, m := range []map[string]*claimRequest{p.AccessToken, p.IDToken, p.UserInfo} {
		if len(m) > maxClaimRequests {
			return req, fmt.Errorf("%w: more than %d claims requested", errClaims, maxClaimRequests)
		}
		for name, c := range m {
			if c != nil && len(c.Value) > 0 && c.Values != nil {
				return req, fmt.Errorf("%w: claim %q: both value and values", errClaims, name)
			}
			if c != nil && len(c.Values) > maxClaimValues {
				return req, fmt.Errorf("%w: claim %q: more than %d values", errClaims, name, maxClaimValues)
			}
		}
	}
	var err error
	if req.acrs, err = stringValues(p.AccessToken["acrs"], "acrs", authContextID); err != nil {
		return req, err
	}
	if req.xmsCC, err = stringValues(p.AccessToken["xms_cc"], "xms_cc", capabilityName); err != nil {
		return req, err
	}
	// Clients spell the capability as they like (azidentity sends "CP1",
	// MSAL.NET's samples "cp1"); Entra's tokens carry it in lower case.
	for i, c := range req.xmsCC {
		req.xmsCC[i] = strings.ToLower(c)
	}
	slices.Sort(req.xmsCC)
	req.xmsCC = slices.Compact(req.xmsCC)
	return req, nil
}

// stringValues returns the values c asks for, sorted and without
// repeats: strings each accepted by valid.
func stringValues(c *claimRequest, name string, valid func(string) bool) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	vals := c.Values
	if len(c.Value) > 0 {
		vals = []jsontext.Value{c.Value}
	}
	var out []string
	for _, v := range vals {
		var s string
		if v.Kind() != '"' || jsonv2.Unmarshal(v, &s) != nil || !valid(s) {
			return nil, fmt.Errorf("%w: claim %q: value %s is not one", errClaims, name, safe(string(v)))
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// authContextID reports whether s is an authentication context ID: c1
// to c99.
func authContextID(s string) bool {
	switch {
	case len(s) == 2:
		return s[0] == 'c' && '1' <= s[1] && s[1] <= '9'
	case len(s) == 3:
		return s[0] == 'c' && '1' <= s[1] && s[1] <= '9' && '0' <= s[2] && s[2] <= '9'
	}
	return false
}

// capabilityName reports whether s can be a client capability: 1 to 32
// letters, digits, '-' or '_' (Entra knows cp1).
func capabilityName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// requestedClaims reads the claims parameter of token request r: at most
// once in the form, valid (see parseClaims), or Entra's invalid_request.
func requestedClaims(r *http.Request) (claimsRequest, *oauthError) {
	if len(r.PostForm["claims"]) > 1 {
		return claimsRequest{}, &oauthError{"invalid_request", "AADSTS50117: Failed to deserialize policy specified in the request's claims parameter: given more than once."}
	}
	req, err := parseClaims(r.PostForm.Get("claims"))
	if err != nil {
		return claimsRequest{}, &oauthError{"invalid_request", "AADSTS50117: Failed to deserialize policy specified in the request's claims parameter."}
	}
	return req, nil
}

// requested is the token option that gives the access token what the
// claims parameter of r, checked by serveToken, asks for; acrs only when
// user is true.
func requested(r *http.Request, user bool) TokenOption {
	req, _ := requestedClaims(r)
	opts := req.options(user)
	return func(t *tokenConfig) {
		for _, o := range opts {
			o(t)
		}
	}
}
