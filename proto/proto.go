// Package proto carries grpc-azure-auth's proto files, so that a service's
// own buf or protoc build can import them without a remote registry: the
// files travel in the Go module, at the version of the library in the
// service's go.mod.
//
// Most projects do not import this package: they run the azureauth-proto
// command (cmd/azureauth-proto), which writes [FS] into their proto tree.
//
// The Go code of the options is generated once, in this module: a service's
// generated code imports it from
// github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1 (the
// go_package of options.proto), so a service generates Go code for its own
// protos only.
package proto

import "embed"

// OptionsFile is the path of the access-rule options in [FS], which is also
// the path a proto file imports: import "azureauth/v1/options.proto".
const OptionsFile = "azureauth/v1/options.proto"

// FS holds the library's proto files at their import paths.
//
//go:embed azureauth/v1/options.proto azureauth/v1/caller.proto
var FS embed.FS
