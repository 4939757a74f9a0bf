// Package server is the serving kit of grpc-azure-auth: it turns any set of
// gRPC services into a server protected by their proto rules, with what a
// team needs on its first day:
//
//   - configuration from flags, environment variables and ./.env
//     ([LoadConfig]; `-h` lists the flags with their variables), with the
//     API's identity settings under their own prefix ([Prefix], AZUREAD_)
//     so that they coexist with the Azure SDK's AZURE_ credentials;
//   - the gRPC listener (GRPC_ADDR) with the authorization interceptors,
//     health and reflection (exactly the methods they register are exempt
//     from the rules), and limits for the internet: 64 KiB of metadata per
//     call, 100 concurrent calls per connection, keepalive enforcement
//     (options of [WithGRPCServerOptions] replace them);
//   - the HTTP listener (HTTP_ADDR) with the REST gateway, which reaches
//     the gRPC server through an in-process connection (no network hop, no
//     plaintext on any wire) and so through the very same interceptors; the
//     OpenAPI document completed from the rules at /openapi.json; Swagger
//     UI signing in with authorization code + PKCE at /docs; /healthz and
//     /readyz (ready once the signing keys are loaded);
//   - an explicit development mode ([Config.DevMode], the default only when
//     nothing in the configuration looks like a tenant) on the embedded
//     identity provider of package devidp, mounted under [DevIDPPath] (tests
//     start theirs with the test kit entratest, which programs never link);
//   - graceful shutdown ([Server.Serve]), and [Main] and [MainFunc], a
//     whole program, the latter with settings of the program's own.
//
// The rules of each registered service are read from its descriptor (in
// protoregistry.GlobalFiles unless [WithDescriptors] says otherwise); a
// method without a rule is denied to every caller and logged at startup.
//
// In development mode the provider signs anyone in, so both listeners must
// be on loopback (New refuses anything else, naming the variable), a tenant
// can never be configured at the same time, and the HTTP listener answers
// only requests whose Host is localhost, 127.0.0.1, [::1] or the listener's
// own address (with or without a port), refusing others with 421
// Misdirected Request: a web page that rebinds its own domain to 127.0.0.1
// still sends that domain as Host.
package server
