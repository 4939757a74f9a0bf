package entra

// MetadataOf gives the tests in package entra_test the discovery document
// the validator last fetched.
func MetadataOf(v *Validator) (issuer, jwksURI, authorization, token string, ok bool) {
	m, ok := v.metadata()
	return m.Issuer, m.JWKSURI, m.AuthorizationEndpoint, m.TokenEndpoint, ok
}
