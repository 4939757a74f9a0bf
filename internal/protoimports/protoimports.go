// Package protoimports carries the third-party proto files that a service's
// protos import next to grpc-azure-auth's options, so that its buf build
// needs nothing beyond the Go module proxy: google/api's HTTP annotations
// (annotations.proto, http.proto, from the npm package google-proto-files
// pinned in the repository's Makefile) and protoc-gen-openapiv2's options
// (from the grpc-gateway module in go.mod), each with its licence.
//
// The files are copies: the repository's `make generate` writes them from
// those pinned sources and `make checkgenerate` fails when they differ.
// `azureauth-proto -imports` writes them into a service's proto tree.
package protoimports

import "embed"

// FS holds the files at their import paths, such as
// "google/api/annotations.proto", with a LICENSE in each top directory's
// tree (google/api/LICENSE, protoc-gen-openapiv2/LICENSE).
//
//go:embed google protoc-gen-openapiv2
var FS embed.FS
