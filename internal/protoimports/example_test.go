package protoimports_test

import (
	"fmt"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/protoimports"
)

// The options travel with the Go module; the azureauth-proto command writes
// them into a service's proto tree.
func ExampleOptions() {
	data, err := protoimports.Options.ReadFile(protoimports.OptionsFile)
	if err != nil {
		panic(err)
	}
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "package ") || strings.HasPrefix(line, "option go_package") {
			fmt.Print(line)
		}
	}
	// Output:
	// package azureauth.v1;
	// option go_package = "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1;azureauthv1";
}
