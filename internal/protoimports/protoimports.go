// Package protoimports carries the proto files that a service's protos
// import, so that its buf build needs nothing beyond the Go module proxy:
// grpc-azure-auth's own access-rule options ([Options], from proto/ in
// this repository) and the third-party files beside them ([ThirdParty]):
// google/api's HTTP annotations (annotations.proto, http.proto, from the
// npm package google-proto-files pinned in the repository's Makefile) and
// protoc-gen-openapiv2's options (from the grpc-gateway module in go.mod),
// each with its licence.
//
// The files are copies: the repository's `make generate` writes them from
// those sources and `make checkgenerate` fails when they differ. The
// azureauth-proto command writes them into a service's proto tree (the
// third-party files with -imports), at the version of the library in the
// service's go.mod.
//
// The Go code of the options is generated once, in the library: a
// service's generated code imports it from
// github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1 (the
// go_package of options.proto), so a service generates Go code for its own
// protos only.
package protoimports

import "embed"

// OptionsFile is the path of the access-rule options in [Options], which is
// also the path a proto file imports: import "azureauth/v1/options.proto".
const OptionsFile = "azureauth/v1/options.proto"

// Options holds grpc-azure-auth's proto files at their import paths.
//
//go:embed azureauth
var Options embed.FS

// ThirdParty holds the third-party files at their import paths, such as
// "google/api/annotations.proto", with a LICENSE in each top directory's
// tree (google/api/LICENSE, protoc-gen-openapiv2/LICENSE).
//
//go:embed google protoc-gen-openapiv2
var ThirdParty embed.FS
