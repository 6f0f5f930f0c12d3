package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"

	"github.com/signet-dev/signet/attest"
)

// Condition errors.
var (
	// ErrConditionFalse means a CEL condition evaluated to false.
	ErrConditionFalse = errors.New("condition is false")
	// ErrConditionInvalid means a CEL condition does not compile or does not
	// evaluate to a bool.
	ErrConditionInvalid = errors.New("invalid condition")
)

// Condition is a compiled CEL expression over an attestation's statement. It
// sees these variables:
//
//	predicate      the predicate (a map), e.g. predicate.scanner.result.summary.critical
//	predicateType  the predicate type URI
//	subject        the statement's subjects (a list of maps with name and digest)
//	statement      the whole statement
//
// It must evaluate to a bool. A Condition is safe for concurrent use.
type Condition struct {
	expr string
	prg  cel.Program
	ast  *cel.Ast // for ReadsOnlyKept
}

// celEnv is built on first use: at start-up it would cost every command,
// conditions or none.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("predicate", cel.DynType),
		cel.Variable("predicateType", cel.StringType),
		cel.Variable("subject", cel.ListType(cel.DynType)),
		cel.Variable("statement", cel.DynType),
		cel.Variable("summary", cel.DynType),
	)
})

// CompileCondition compiles expr; a syntax or type error is ErrConditionInvalid.
// The predicate is not checked: see CompileConditionFor.
func CompileCondition(expr string) (*Condition, error) { return CompileConditionFor("", expr) }

// CompileConditionFor compiles expr for attestations of a predicate type.
// Where Signet knows the type's shape (see attest.PredicateShape: the vuln
// predicate, SLSA provenance, CycloneDX, SPDX), every field the condition
// selects from the predicate (predicate.a.b, has(predicate.a.b), and the
// same through a macro's variable) must be one the predicate can have: a
// typo is a *FieldError here rather than a failed evaluation later. A field
// read by index (predicate["a"]) is not held to the shape, for fields newer
// than Signet knows. Conditions over other types are not checked. Errors
// are ErrConditionInvalid.
func CompileConditionFor(predicateType, expr string) (*Condition, error) {
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrConditionInvalid, expr, iss.Err())
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("%w: %q gives %s, not a bool", ErrConditionInvalid, expr, ast.OutputType())
	}
	if known, ok := attest.PredicateShape(predicateType); ok {
		if err := checkFields(expr, ast.NativeRep().Expr(), known); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConditionInvalid, err)
		}
	}
	prg, err := env.Program(ast, cel.CostLimit(1_000_000))
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrConditionInvalid, expr, err)
	}
	return &Condition{expr: expr, prg: prg, ast: ast}, nil
}

// String returns the expression.
func (c *Condition) String() string { return c.expr }

// Eval evaluates the condition over a statement's JSON: nil when true,
// ErrConditionFalse when false, ErrConditionInvalid when it cannot be
// evaluated (a missing field, a non-bool result).
func (c *Condition) Eval(statementJSON []byte) error { return c.EvalWith(statementJSON, nil) }

// EvalWith is Eval with the variable summary: a detached predicate's
// summary (see verify's detached predicates); without one (nil) summary is
// an empty map, so a condition that reads it fails to evaluate.
func (c *Condition) EvalWith(statementJSON []byte, summary map[string]any) error {
	if summary == nil {
		summary = map[string]any{}
	}
	var st map[string]any
	if err := json.Unmarshal(statementJSON, &st); err != nil {
		return fmt.Errorf("%w: statement is not JSON: %v", ErrConditionInvalid, err)
	}
	pt, _ := st["predicateType"].(string)
	subject, _ := st["subject"].([]any)
	if subject == nil {
		subject = []any{}
	}
	out, _, err := c.prg.Eval(map[string]any{"predicate": st["predicate"], "predicateType": pt, "subject": subject, "statement": st, "summary": summary})
	if err != nil {
		return fmt.Errorf("%w: evaluating %q: %v", ErrConditionInvalid, c.expr, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return fmt.Errorf("%w: %q gave %v, not a bool", ErrConditionInvalid, c.expr, out.Value())
	}
	if !b {
		return fmt.Errorf("%w: %s", ErrConditionFalse, c.expr)
	}
	return nil
}
