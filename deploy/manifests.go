package deploy

import "embed"

// Manifests holds the Kubernetes manifests (*.yaml) at their file names.
// grpc-azure-auth init writes them into a new service's deploy/ with the
// service's name in place of grpc-azure-auth: a serving-kit program
// deploys as the example server does.
//
//go:embed *.yaml
var Manifests embed.FS
