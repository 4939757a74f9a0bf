package policy_test

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1" // links the example API's rules
	"github.com/grpc-azure-auth/grpc-azure-auth/policy"
)

// Load every rule of the linked services and look methods up.
func Example() {
	p, err := policy.Load(protoregistry.GlobalFiles)
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

func must(r *policy.Rule, ok bool) *policy.Rule {
	if !ok {
		panic("no rule")
	}
	return r
}
