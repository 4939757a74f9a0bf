package bearer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
)

// Step-up: an API whose rule needs a Conditional Access authentication
// context (acrs "c1", say) that the caller's token lacks answers a client
// that declared cp1 with a claims challenge, over REST a 401 with
// WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>",
// over gRPC an Unauthenticated status whose ErrorInfo has the reason
// authzerr.ReasonInsufficientClaims and the claims in its metadata. The
// client asks the identity provider for a token with those claims (the
// user completes the step-up, MFA say) and calls again.

// ErrClaimsUnsupported means a token with claims was asked of a Source
// whose token source cannot send them ([FromOAuth2]).
var ErrClaimsUnsupported = errors.New("bearer: this Source cannot ask for a token with claims: use FromAzure or FromOAuth2Func")

// ErrBadClaims means claims given to [ContextWithClaims] are not a JSON
// object of at most 4 KiB.
var ErrBadClaims = errors.New("bearer: the claims are not a JSON object of at most 4 KiB")

// maxClaimsBytes bounds a claims request, as the development identity
// provider does; what Entra sends in a challenge is a few hundred bytes.
const maxClaimsBytes = 4 << 10

type claimsKey struct{}

// ContextWithClaims returns a copy of ctx whose calls carry a token that
// the Source obtained with claims (a claims request, JSON, as
// [ClaimsChallenge] returns it): a gRPC call made with ctx, through the
// Source's PerRPCCredentials, or an HTTP request with that context,
// through its Transport. The token is cached apart from the plain one.
// "" leaves ctx asking for the plain token.
//
//	_, err := client.DeleteNote(ctx, req)
//	if claims, ok := bearer.ClaimsChallenge(err); ok {
//		_, err = client.DeleteNote(bearer.ContextWithClaims(ctx, claims), req)
//	}
func ContextWithClaims(ctx context.Context, claims string) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// claimsFrom returns the claims ctx asks a token for, or "".
func claimsFrom(ctx context.Context) string {
	c, _ := ctx.Value(claimsKey{}).(string)
	return c
}

// checkClaims reports whether claims is a JSON object (RFC 7493: valid
// UTF-8, no name twice) of at most maxClaimsBytes.
func checkClaims(claims string) error {
	v := jsontext.Value(claims)
	if len(claims) > maxClaimsBytes || v.Kind() != '{' || !v.IsValid() {
		return ErrBadClaims
	}
	return nil
}

// cp1Claims declares the client capability cp1.
const cp1Claims = `{"access_token":{"xms_cc":{"values":["cp1"]}}}`

// mergeCP1 returns claims with the capability cp1 declared in its
// access_token member (replacing any xms_cc request there, as MSAL lets
// the client's capabilities win).
func mergeCP1(claims string) (string, error) {
	if claims == "" {
		return cp1Claims, nil
	}
	var top map[string]jsontext.Value
	if err := jsonv2.Unmarshal([]byte(claims), &top); err != nil {
		return "", ErrBadClaims
	}
	at := map[string]jsontext.Value{}
	if v, ok := top["access_token"]; ok && v.Kind() != 'n' {
		if err := jsonv2.Unmarshal(v, &at); err != nil {
			return "", ErrBadClaims
		}
	}
	at["xms_cc"] = jsontext.Value(`{"values":["cp1"]}`)
	b, err := jsonv2.Marshal(at, jsonv2.Deterministic(true))
	if err != nil {
		return "", ErrBadClaims
	}
	top["access_token"] = b
	b, err = jsonv2.Marshal(top, jsonv2.Deterministic(true))
	if err != nil {
		return "", ErrBadClaims
	}
	return string(b), nil
}

// decodeClaims reads the claims of a challenge: standard base64 (padded,
// or not) of a JSON object of at most maxClaimsBytes.
func decodeClaims(b64 string) (string, bool) {
	if b64 == "" || len(b64) > base64.StdEncoding.EncodedLen(maxClaimsBytes) {
		return "", false
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(b64, "=") && len(b64)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(b64)
	if err != nil || checkClaims(string(b)) != nil {
		return "", false
	}
	return string(b), true
}

// ClaimsChallenge returns the claims of the claims challenge err carries:
// a gRPC status Unauthenticated whose ErrorInfo (of authzerr.Domain) has
// the reason authzerr.ReasonInsufficientClaims and, under
// authzerr.MetadataClaims, a JSON object in standard base64. The claims
// come back decoded, ready for [ContextWithClaims]. Any other error, or a
// challenge whose claims cannot be read, gives false.
func ClaimsChallenge(err error) (claims string, ok bool) {
	if status.Code(err) != codes.Unauthenticated {
		return "", false
	}
	info := authzerr.FromError(err)
	if info.GetReason() != authzerr.ReasonInsufficientClaims {
		return "", false
	}
	return decodeClaims(info.GetMetadata()[authzerr.MetadataClaims])
}

// maxChallengeBytes bounds the WWW-Authenticate headers read.
const maxChallengeBytes = 16 << 10

// ResponseClaimsChallenge returns the claims of the claims challenge resp
// carries: a 401 whose WWW-Authenticate has a Bearer challenge with
// error="insufficient_claims" and claims, standard base64 of a JSON
// object (the shape azcore's bearer-token policy reads). The claims come
// back decoded. A Source's Transport answers such a challenge itself when
// it can replay the request; this is for the requests it cannot.
func ResponseClaimsChallenge(resp *http.Response) (claims string, ok bool) {
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return "", false
	}
	n := 0
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		if n += len(h); n > maxChallengeBytes {
			return "", false
		}
		for _, c := range parseChallenges(h) {
			if strings.EqualFold(c.scheme, "Bearer") && c.params["error"] == "insufficient_claims" {
				return decodeClaims(c.params["claims"])
			}
		}
	}
	return "", false
}

// challenge is one challenge of a WWW-Authenticate header.
type challenge struct {
	scheme string
	params map[string]string // names in lower case
}

// parseChallenges reads the challenges of a WWW-Authenticate header (RFC
// 9110 11.6.1): a scheme, then name=value parameters (a token or a quoted
// string), separated by commas. A challenge with a parameter given twice,
// or a token68, ends the reading: what follows is not trusted.
func parseChallenges(h string) []challenge {
	var out []challenge
	for i := 0; i < len(h); {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t' || h[i] == ',') {
			i++
		}
		name, j := readToken(h, i)
		if name == "" {
			break
		}
		k := skipSpace(h, j)
		if k >= len(h) || h[k] != '=' {
			out = append(out, challenge{scheme: name, params: map[string]string{}})
			i = j
			continue
		}
		if len(out) == 0 {
			break
		}
		value, end, ok := readValue(h, skipSpace(h, k+1))
		c := &out[len(out)-1]
		key := strings.ToLower(name)
		if _, dup := c.params[key]; !ok || dup {
			return out[:len(out)-1]
		}
		c.params[key] = value
		i = end
	}
	return out
}

func skipSpace(h string, i int) int {
	for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
		i++
	}
	return i
}

// readToken reads an RFC 9110 token at h[i:].
func readToken(h string, i int) (string, int) {
	j := i
	for j < len(h) && isTokenChar(h[j]) {
		j++
	}
	return h[i:j], j
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// readValue reads a parameter's value at h[i:]: a quoted string (with
// backslash escapes) or a token.
func readValue(h string, i int) (string, int, bool) {
	if i < len(h) && h[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(h); j++ {
			switch c := h[j]; {
			case c == '"':
				return b.String(), j + 1, true
			case c == '\\' && j+1 < len(h):
				j++
				b.WriteByte(h[j])
			case c < 0x20 && c != '\t' || c == 0x7f:
				return "", j, false
			default:
				b.WriteByte(c)
			}
		}
		return "", len(h), false
	}
	v, j := readToken(h, i)
	return v, j, v != ""
}

// UnaryClientInterceptor returns a gRPC unary client interceptor that
// answers a claims challenge ([ClaimsChallenge]) once: the call is made
// again with a token obtained with the challenge's claims
// ([ContextWithClaims]), which goes, as every token of the Source, through
// its PerRPCCredentials. A Source that cannot send claims returns the
// challenge as it came. Streams get no such retry: their messages are
// gone; use ClaimsChallenge and ContextWithClaims.
func (s *Source) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		claims, ok := ClaimsChallenge(err)
		if !ok || !s.canClaims || claims == claimsFrom(ctx) {
			return err
		}
		if _, terr := s.Token(ContextWithClaims(ctx, claims)); terr != nil {
			return fmt.Errorf("bearer: answering a claims challenge: %w", terr)
		}
		return invoker(ContextWithClaims(ctx, claims), method, req, reply, cc, opts...)
	}
}
