package rules_test

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1" // links the example API's rules
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// Load every rule of the linked services and look methods up.
func Example() {
	p, err := rules.Load(protoregistry.GlobalFiles)
	if err != nil {
		panic(err) // an invalid rule in a proto
	}
	for _, m := range []string{
		"/example.items.v1.ItemService/ExportItems",
		"/example.items.v1.ItemService/SyncItems",
		"/example.items.v1.InfoService/GetDebugInfo",
	} {
		if r, ok := p.Rule(m); ok {
			fmt.Println(m, "→", r)
		} else {
			fmt.Println(m, "→ no rule: denied")
		}
	}
	err = must(p.Rule("/example.items.v1.ItemService/ImportItems")).Authorize(caller{scopes: []string{"Items.Write"}})
	fmt.Println(err)
	// Output:
	// /example.items.v1.ItemService/ExportItems → scope Items.Read or role Items.Export
	// /example.items.v1.ItemService/SyncItems → one of scopes Items.Write, Items.Sync
	// /example.items.v1.InfoService/GetDebugInfo → no rule: denied
	// requires scopes Items.Write and Items.Import
}

func must(r *rules.Rule, ok bool) *rules.Rule {
	if !ok {
		panic("no rule")
	}
	return r
}

// A rule with an authentication context and a condition, as the interceptor
// checks it: who, then the context, then the condition on the request.
func ExampleRule_AuthorizeMessage() {
	// rpc GetItem(GetItemRequest) with
	// option (azureauth.v1.rule) = {scopes: "Items.Read" auth_contexts: "c1"
	//   condition: "request.id == caller.object_id"};
	p, err := rules.ForServices(serviceOf("GetItemRequest", &azureauthv1.Rule{
		Scopes:       []string{"Items.Read"},
		AuthContexts: []string{"c1"},
		Condition:    "request.id == caller.object_id",
	}))
	if err != nil {
		panic(err) // a typo in the condition would stop here
	}
	rule := must(p.Rule("/example.v1.S/M"))
	fmt.Println(rule)

	ann := &azureauthv1.Caller{ObjectId: "ann", Scopes: []string{"Items.Read"}, ClientCapabilities: []string{"cp1"}}
	var stepUp *rules.StepUpError
	if err := rule.AuthorizeContexts(ann); errors.As(err, &stepUp) && stepUp.ClientCapable {
		fmt.Println("challenge:", stepUp.Claims())
	}
	ann.Acrs = []string{"c1"} // signed in again, with the context
	fmt.Println(rule.AuthorizeContexts(ann))
	fmt.Println(rule.AuthorizeMessage(ann, &itemsv1.GetItemRequest{Id: "ann"}))
	fmt.Println(rule.AuthorizeMessage(ann, &itemsv1.GetItemRequest{Id: "ben"}))
	// Output:
	// scope Items.Read, authentication context c1, if request.id == caller.object_id
	// challenge: {"access_token":{"acrs":{"essential":true,"value":"c1"}}}
	// <nil>
	// <nil>
	// condition not met: request.id == caller.object_id
}

// serviceOf describes a service example.v1.S whose method M takes the Items
// example's message input and carries rule, as a .proto file would.
func serviceOf(input string, rule *azureauthv1.Rule) protoreflect.ServiceDescriptor {
	opts := &descriptorpb.MethodOptions{}
	proto.SetExtension(opts, azureauthv1.E_Rule, rule)
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:       proto.String("example/v1/s.proto"),
		Package:    proto.String("example.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{itemsv1.File_example_items_v1_items_proto.Path()},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("S"), Method: []*descriptorpb.MethodDescriptorProto{{
			Name: proto.String("M"), InputType: proto.String(".example.items.v1." + input),
			OutputType: proto.String(".example.items.v1." + input), Options: opts,
		}}}},
	}, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	return fd.Services().Get(0)
}
