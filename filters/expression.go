package filters

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// Limits on filter_expression.
const (
	MaxExpressionLength = 4096
	// CostLimit bounds one evaluation (CEL cost units: roughly one per
	// operation, plus the size of strings and lists traversed). A simple
	// comparison costs under 10; an expression that exceeds the limit does
	// not match.
	CostLimit = 10_000
	// maxCached bounds the compiled-program cache.
	maxCached = 4096
)

// Compiler compiles filter expressions and caches the programs by
// expression text. It is safe for concurrent use; make one per process.
type Compiler struct {
	env *cel.Env

	mu    sync.RWMutex
	cache map[string]*Expression
}

// NewCompiler declares the envelope variables: id and organization_id
// (string), created (int, Unix seconds), data (map of string to dyn) and
// event, the whole envelope as a map. The event type is event.type: "type"
// is a CEL built-in and cannot name a variable.
func NewCompiler() (*Compiler, error) {
	env, err := cel.NewEnv(
		cel.Variable("id", cel.StringType),
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("created", cel.IntType),
		cel.Variable("organization_id", cel.StringType),
		cel.Variable("data", cel.MapType(cel.StringType, cel.DynType)),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
	)
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	return &Compiler{env: env, cache: map[string]*Expression{}}, nil
}

// Expression is a compiled, type-checked filter expression.
type Expression struct {
	text string
	prg  cel.Program
}

// Text is the expression's source.
func (x *Expression) Text() string { return x.text }

// Compile parses and type-checks text; the result must be a boolean. Errors
// are *Error with the checker's message (line and column included).
// Compiled programs are cached by text.
func (c *Compiler) Compile(text string) (*Expression, error) {
	c.mu.RLock()
	x, ok := c.cache[text]
	c.mu.RUnlock()
	if ok {
		return x, nil
	}
	x, err := c.compile(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.cache) >= maxCached {
		clear(c.cache)
	}
	c.cache[text] = x
	c.mu.Unlock()
	return x, nil
}

func (c *Compiler) compile(text string) (*Expression, error) {
	if strings.TrimSpace(text) == "" {
		return nil, &Error{Message: "must not be empty (use null to remove the filter)"}
	}
	if len(text) > MaxExpressionLength {
		return nil, &Error{Message: fmt.Sprintf("must be at most %d characters", MaxExpressionLength)}
	}
	ast, iss := c.env.Compile(text)
	if iss.Err() != nil {
		return nil, &Error{Message: "invalid CEL: " + oneLine(iss.Err().Error())}
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		return nil, &Error{Message: fmt.Sprintf("must evaluate to a bool, not %s; compare explicitly, e.g. data.object.is_free == true", ast.OutputType())}
	}
	prg, err := c.env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, &Error{Message: "invalid CEL: " + oneLine(err.Error())}
	}
	return &Expression{text: text, prg: prg}, nil
}

// oneLine folds the checker's multi-line message (with its caret marker)
// into one line for an API error.
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "|") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "; ")
}

// ErrNotBool is returned when an expression yields a non-boolean value at
// run time (possible only through dyn values).
var ErrNotBool = errors.New("filter expression did not yield a bool")

// Eval runs the expression against ev. Callers treat any error as "no
// match": a missing key, a type mismatch or the cost limit.
func (x *Expression) Eval(ev Event) (bool, error) {
	out, _, err := x.prg.Eval(ev.vars)
	if err != nil {
		return false, fmt.Errorf("evaluate filter expression: %w", err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, ErrNotBool
	}
	return b, nil
}

// Match is Eval with errors counted as no match.
func (x *Expression) Match(ev Event) bool {
	ok, err := x.Eval(ev)
	return err == nil && ok
}
