package authzerr_test

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
)

// Reasons lists every Reason… constant of the package, once: metrics bounds
// its reason label with it.
func TestReasonsListsEveryReasonConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "authzerr.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, id := range vs.Names {
			if strings.HasPrefix(id.Name, "Reason") && i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					want = append(want, constant.StringVal(constant.MakeFromLiteral(lit.Value, lit.Kind, 0)))
				}
			}
		}
		return true
	})
	got := authzerr.Reasons()
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("Reasons() = %v, the Reason constants are %v", got, want)
	}
	if got := authzerr.Reasons(); &got[0] == &authzerr.Reasons()[0] {
		t.Error("Reasons returns a shared slice")
	}
}
