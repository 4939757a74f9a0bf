package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
)

// Names of the variables a condition sees.
const (
	requestVar = "request"
	callerVar  = "caller"
)

// Bounds of a condition. A condition is written by the service's team, not
// by callers, but it runs on requests of any size. One without
// comprehensions (all, exists, exists_one, map, filter) does a bounded
// number of operations, each at most one pass over a field of the request.
// One with comprehensions is stopped, and denies, after MaxIterations
// iterations in all, or past CostLimit: both bounds are counted, never
// timed, so the same request always gets the same answer.
const (
	// MaxConditionLength bounds the source of one condition.
	MaxConditionLength = 4096
	// MaxIterations bounds the iterations of a condition's comprehensions,
	// nested ones included, in one evaluation: a condition over a list of
	// the request holds only for lists of up to this many elements.
	MaxIterations = 1000
	// CostLimit bounds the runtime cost of a condition with comprehensions,
	// in CEL's cost units (about one per operation, per list element or
	// per 10 string bytes visited).
	CostLimit = 100_000
)

// interrupted is the context of a condition with comprehensions: cel-go
// looks at it every MaxIterations+1 iterations and, finding it done,
// stops the evaluation. The bound on iterations also keeps cel-go's cost
// tracker fast: its work grows with the square of the iterations.
var interrupted = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// condition is a compiled, type-checked CEL condition.
type condition struct {
	prg     cel.Program
	bounded bool // evaluated under MaxIterations and CostLimit
	// request is the descriptor of the request messages it was checked
	// against; a message of another type is refused before evaluation.
	request protoreflect.MessageDescriptor
}

// compiler compiles conditions, sharing one environment per request type
// (and per caller visibility) between the methods of a rules.
type compiler struct {
	withCaller, anonymous *cel.Env
	envs                  map[envKey]*cel.Env
}

type envKey struct {
	request protoreflect.MessageDescriptor
	caller  bool
}

func newCompiler() (*compiler, error) {
	base, err := cel.NewEnv(cel.Types(&azureauthv1.Caller{}))
	if err != nil {
		return nil, fmt.Errorf("rules: condition environment: %w", err)
	}
	withCaller, err := base.Extend(cel.Variable(callerVar, cel.ObjectType(string((&azureauthv1.Caller{}).ProtoReflect().Descriptor().FullName()))))
	if err != nil {
		return nil, fmt.Errorf("rules: condition environment: %w", err)
	}
	return &compiler{withCaller: withCaller, anonymous: base, envs: make(map[envKey]*cel.Env)}, nil
}

func (c *compiler) env(request protoreflect.MessageDescriptor, caller bool) (*cel.Env, error) {
	k := envKey{request, caller}
	if e, ok := c.envs[k]; ok {
		return e, nil
	}
	base := c.anonymous
	if caller {
		base = c.withCaller
	}
	e, err := base.Extend(
		cel.TypeDescs(request.ParentFile()),
		cel.Variable(requestVar, cel.ObjectType(string(request.FullName()))),
	)
	if err != nil {
		return nil, err
	}
	c.envs[k] = e
	return e, nil
}

// compile type-checks src against request messages of type request. On an
// anonymous rule the caller is not declared.
func (c *compiler) compile(src string, request protoreflect.MessageDescriptor, anonymous bool) (*condition, error) {
	if len(src) > MaxConditionLength {
		return nil, fmt.Errorf("condition longer than %d bytes", MaxConditionLength)
	}
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("condition is blank: leave it unset for none")
	}
	env, err := c.env(request, !anonymous)
	if err != nil {
		return nil, fmt.Errorf("condition: request type %s: %w", request.FullName(), err)
	}
	ast, iss := env.Compile(src)
	if err := iss.Err(); err != nil {
		msg := err.Error()
		if anonymous && strings.Contains(msg, "undeclared reference to '"+callerVar+"'") {
			msg += "\n(an anonymous rule's condition may read the request only: a call without a token must be able to satisfy it)"
		}
		return nil, fmt.Errorf("condition %q: %s", src, msg)
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) {
		return nil, fmt.Errorf("condition %q: is of type %s, want bool", src, t)
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	bounded := hasComprehension(ast)
	if bounded {
		// The bounds cost a few allocations per evaluation: only conditions
		// whose work can grow faster than the request pay them.
		opts = append(opts, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(MaxIterations+1))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, fmt.Errorf("condition %q: %w", src, err)
	}
	return &condition{prg: prg, bounded: bounded, request: request}, nil
}

func hasComprehension(ast *cel.Ast) bool {
	found := false
	celast.PreOrderVisit(ast.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() == celast.ComprehensionKind {
			found = true
		}
	}))
	return found
}

// errNotBool is the evaluation error of a condition whose result, against
// its checked type, is not a bool.
var errNotBool = errors.New("condition did not evaluate to a bool")

// eval evaluates the condition on one request message. It never panics:
// cel-go recovers from panics during evaluation and reports them as errors.
func (c *condition) eval(caller *azureauthv1.Caller, req proto.Message) (bool, error) {
	if req == nil {
		return false, errors.New("no request message")
	}
	// The very descriptor the condition was checked against: a message of
	// another type, or of a copy of the type that may differ, is refused.
	if d := req.ProtoReflect().Descriptor(); d != c.request {
		if d.FullName() != c.request.FullName() {
			return false, fmt.Errorf("request is a %s, the condition reads a %s", d.FullName(), c.request.FullName())
		}
		return false, fmt.Errorf("request is a %s of another descriptor than the one the condition was checked against", d.FullName())
	}
	a := activations.Get().(*activation)
	a.request, a.caller = req, caller
	var (
		out ref.Val
		err error
	)
	if c.bounded {
		out, _, err = c.prg.ContextEval(interrupted, a)
	} else {
		out, _, err = c.prg.Eval(a)
	}
	a.request, a.caller = nil, nil
	activations.Put(a)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, errNotBool
	}
	return bool(b), nil
}

// activation hands a condition its two variables. Pooled: handing a fresh
// one to cel-go as an interface would cost an allocation per evaluation.
type activation struct {
	request proto.Message
	caller  *azureauthv1.Caller
}

var activations = sync.Pool{New: func() any { return new(activation) }}

// ResolveName implements interpreter.Activation. A missing caller (no
// token) is an unknown name: the condition fails with an error and denies.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case requestVar:
		return a.request, true
	case callerVar:
		if a.caller == nil {
			return nil, false
		}
		return a.caller, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }
