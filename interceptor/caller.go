package interceptor

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/tokenmemo"
)

// errCallerClaims is the failure to read the claims a condition's caller
// needs: acrs or xms_cc that is not an array of strings.
var errCallerClaims = errors.New("claim acrs or xms_cc is not an array of strings")

// view is the caller of conditions and authentication contexts built from
// one validated token, or why it could not be.
type view struct {
	caller *azureauthv1.Caller
	err    error
}

// callerOf returns the caller conditions see, built once per validated
// token (the validator's cache shares it between the requests that send
// the token again) and read-only from then on. The claims come from
// entra's strict reading of the token (Claims.Decode): nothing reads the
// token a second time.
func callerOf(c *entra.Claims) (*azureauthv1.Caller, error) {
	v := tokenmemo.Of(c).Get(func() any { return buildView(c) }).(*view)
	return v.caller, v.err
}

func buildView(c *entra.Claims) *view {
	var all map[string]any
	if err := c.Decode(&all); err != nil {
		return &view{err: fmt.Errorf("%w: %w", errCallerClaims, err)}
	}
	acrs, ok1 := stringList(all, "acrs")
	xmsCC, ok2 := stringList(all, "xms_cc")
	if !ok1 || !ok2 {
		return &view{err: errCallerClaims}
	}
	claims := make(map[string]*structpb.Value, len(all))
	for name, v := range all {
		pv, err := structpb.NewValue(v)
		if err != nil {
			return &view{err: fmt.Errorf("claim %q: %w", name, err)}
		}
		claims[name] = pv
	}
	// v2 tokens name the user in preferred_username, v1 tokens in upn or
	// unique_name.
	username := c.PreferredUsername
	for _, name := range []string{"upn", "unique_name"} {
		if s, ok := all[name].(string); ok && username == "" {
			username = s
		}
	}
	return &view{caller: &azureauthv1.Caller{
		ObjectId:           c.ObjectID,
		TenantId:           c.TenantID,
		Subject:            c.Subject,
		ClientId:           c.ClientID(),
		AppOnly:            c.IsAppOnly(),
		Scopes:             c.Scopes.Names(),
		Roles:              c.Roles.Names(),
		Acrs:               acrs,
		Name:               c.Name,
		Username:           username,
		ClientCapabilities: xmsCC,
		Claims:             claims,
	}}
}

// stringList reads the claim name as an array of strings: absent or null
// is none, anything else but an array of strings is refused.
func stringList(all map[string]any, name string) ([]string, bool) {
	v, ok := all[name]
	if !ok || v == nil {
		return nil, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(list))
	for i, e := range list {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}
