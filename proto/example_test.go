package proto_test

import (
	"fmt"
	"strings"

	azureauthproto "github.com/grpc-azure-auth/grpc-azure-auth/proto"
)

// The options travel with the Go module; the azureauth-proto command writes
// them into a service's proto tree, and a program can read them too.
func ExampleFS() {
	data, err := azureauthproto.FS.ReadFile(azureauthproto.OptionsFile)
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
