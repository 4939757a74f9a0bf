// Package policy reads grpc-azure-auth access rules from protobuf descriptors
// and decides whether a caller satisfies them.
//
// Rules are declared once, as options on methods and services (see
// proto/azureauth/v1/options.proto):
//
//	service ItemService {
//	  option (azureauth.v1.default_rule) = {scopes: "Items.Read"};
//	  rpc DeleteItem(DeleteItemRequest) returns (DeleteItemResponse) {
//	    option (azureauth.v1.rule) = {roles: "Items.Admin"};
//	  }
//	}
//
// [Load] and [ForServices] read and validate every rule when they are called,
// so a mistake in a proto is an error at startup, never a surprise at request
// time. A method without a rule, on itself or its service, has no entry in
// the [Policy]: callers of [Policy.Rule] get ok == false and must deny.
package policy
