package gateway

import (
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
)

// Challenge describes the resource in WWW-Authenticate answers.
type Challenge struct {
	// Realm names the protected API.
	Realm string
	// AuthorizationURI, when set, is sent as authorization_uri: where a
	// client signs in (the tenant's authorization endpoint).
	AuthorizationURI string
	// ClientID, when set, is sent as client_id: the API's app registration.
	ClientID string
	// ScopePrefix turns the short scope names of rules into the full names
	// clients request, e.g. "api://<client-id>/".
	ScopePrefix string
}

// header returns the WWW-Authenticate value for a denial, or "" when st is
// not one.
func (c Challenge) header(st *status.Status) string {
	info := authzerr.FromStatus(st)
	params := []string{param("realm", c.Realm)}
	if c.AuthorizationURI != "" {
		params = append(params, param("authorization_uri", c.AuthorizationURI))
	}
	if c.ClientID != "" {
		params = append(params, param("client_id", c.ClientID))
	}
	switch {
	case st.Code() == codes.Unauthenticated && info.GetReason() == authzerr.ReasonTokenMissing:
		// RFC 6750 §3.1: no error code when the request had no credentials.
	case st.Code() == codes.Unauthenticated && info.GetReason() == authzerr.ReasonInsufficientClaims:
		// A claims challenge (step-up), in the shape Microsoft documents
		// and azcore's bearer-token policy reads: realm and
		// authorization_uri are required, so both are sent, even empty.
		if c.AuthorizationURI == "" {
			params = append(params, param("authorization_uri", ""))
		}
		params = append(params, param("error", "insufficient_claims"), param("claims", info.GetMetadata()[authzerr.MetadataClaims]))
	case st.Code() == codes.Unauthenticated && info.GetReason() == authzerr.ReasonInvalidRequest:
		params = append(params, param("error", "invalid_request"), param("error_description", st.Message()))
	case st.Code() == codes.Unauthenticated:
		params = append(params, param("error", "invalid_token"), param("error_description", st.Message()))
	case st.Code() == codes.PermissionDenied && info.GetReason() == authzerr.ReasonInsufficientScope:
		params = append(params, param("error", "insufficient_scope"), param("error_description", st.Message()))
		if scopes := info.GetMetadata()[authzerr.MetadataScopes]; scopes != "" {
			full := strings.Fields(scopes)
			for i, s := range full {
				full[i] = c.ScopePrefix + s
			}
			params = append(params, param("scope", strings.Join(full, " ")))
		}
	default:
		return ""
	}
	return "Bearer " + strings.Join(params, ", ")
}

// param renders name="value" with value reduced to printable ASCII (other
// bytes become '?') and quotes and backslashes escaped: the result is always
// a valid quoted-string, and never a line break.
func param(name, value string) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 3)
	b.WriteString(name)
	b.WriteString(`="`)
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// setChallenge sets WWW-Authenticate on h when err is a denial.
func (c Challenge) setChallenge(h http.Header, err error) {
	if v := c.header(status.Convert(err)); v != "" {
		h.Set("WWW-Authenticate", v)
	}
}
