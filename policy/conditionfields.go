package policy

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/signet-dev/signet/attest"
)

// ConditionFieldError is a condition that selects a field its predicate
// type cannot have: most likely a typo, which would otherwise only show when
// the condition is evaluated, as a failed verification.
type ConditionFieldError struct {
	// Condition is the CEL expression.
	Condition string
	// Path is the selection as the condition writes it:
	// predicate.scanner.reslt, or c.nme inside a macro.
	Path string
	// Via, for a path through a macro's variable, says what the variable
	// is: "c is an item of predicate.components".
	Via string
	// Predicate names the predicate type: "a vuln predicate".
	Predicate string
	// Suggestion is the field most likely meant, in full
	// (predicate.scanner.result), or "".
	Suggestion string
	// Reason says why the field cannot be there when the parent is not an
	// object ("predicate.components is a list"); empty for a field an
	// object does not have.
	Reason string
	// Known lists the fields the parent object has, when it has a few and
	// none was close enough to suggest.
	Known []string
}

func (e *ConditionFieldError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q refers to %s", e.Condition, e.Path)
	if e.Via != "" {
		fmt.Fprintf(&b, " (where %s)", e.Via)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ", but %s", e.Reason)
		return b.String()
	}
	fmt.Fprintf(&b, ", which %s does not have", e.Predicate)
	switch {
	case e.Suggestion != "":
		fmt.Fprintf(&b, "; did you mean %s?", e.Suggestion)
	case len(e.Known) > 0:
		fmt.Fprintf(&b, " (it has %s; a field Signet does not know can be read as %s)", strings.Join(e.Known, ", "), indexForm(e.Path))
	}
	return b.String()
}

// indexForm rewrites a.b.c as a.b["c"].
func indexForm(path string) string {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return path
	}
	return fmt.Sprintf("%s[%q]", path[:i], path[i+1:])
}

// binding is what the checker knows of a CEL expression's value: the shape
// of the predicate part it is, and how the condition names it. shape nil
// with known false is a value not checked.
type binding struct {
	known     bool
	shape     *attest.Shape
	path      string
	via       string
	statement bool // the statement, whose predicate field is the predicate
}

// fieldChecker walks a checked CEL expression (macros expanded) and keeps
// the first selection of a field the predicate cannot have.
type fieldChecker struct {
	expr  string
	known attest.KnownPredicate
	err   *ConditionFieldError
}

func checkFields(expr string, root ast.Expr, known attest.KnownPredicate) error {
	c := &fieldChecker{expr: expr, known: known}
	env := map[string]binding{
		"predicate": {known: true, shape: known.Shape, path: "predicate"},
		"statement": {known: true, path: "statement", statement: true},
	}
	c.walk(root, env)
	if c.err != nil {
		return c.err
	}
	return nil
}

func (c *fieldChecker) walk(e ast.Expr, env map[string]binding) binding {
	switch e.Kind() {
	case ast.IdentKind:
		return env[e.AsIdent()]
	case ast.SelectKind:
		sel := e.AsSelect()
		return c.field(c.walk(sel.Operand(), env), sel.FieldName())
	case ast.CallKind:
		return c.call(e.AsCall(), env)
	case ast.ComprehensionKind:
		c.comprehension(e.AsComprehension(), env)
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			c.walk(el, env)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			c.walk(en.AsMapEntry().Key(), env)
			c.walk(en.AsMapEntry().Value(), env)
		}
	case ast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			c.walk(f.AsStructField().Value(), env)
		}
	}
	return binding{}
}

// field checks the selection of name from a value.
func (c *fieldChecker) field(parent binding, name string) binding {
	if !parent.known {
		return binding{}
	}
	path := parent.path + "." + name
	if parent.statement {
		if name == "predicate" {
			return binding{known: true, shape: c.known.Shape, path: path}
		}
		return binding{}
	}
	shape, ok := parent.shape.Field(name)
	if !ok {
		c.fail(parent, name, path)
		return binding{}
	}
	return binding{known: shape != nil, shape: shape, path: path, via: parent.via}
}

func (c *fieldChecker) fail(parent binding, name, path string) {
	if c.err != nil {
		return
	}
	e := &ConditionFieldError{Condition: c.expr, Path: path, Via: parent.via, Predicate: c.known.Name}
	switch parent.shape.Kind() {
	case attest.ShapeList:
		e.Reason = fmt.Sprintf("%s is a list, which has no fields; its items do: write %s.exists(x, x.%s ...) to test them",
			parent.path, parent.path, name)
	case attest.ShapeValue:
		e.Reason = fmt.Sprintf("%s is a single value (a string, number or boolean), which has no fields", parent.path)
	default:
		if s := parent.shape.Suggest(name); s != "" {
			e.Suggestion = parent.path + "." + s
		} else if f := parent.shape.Fields(); len(f) <= 12 {
			e.Known = f
		}
	}
	c.err = e
}

// call checks a function call's operands; an index into the predicate
// goes on checking below it.
func (c *fieldChecker) call(call ast.CallExpr, env map[string]binding) binding {
	if call.IsMemberFunction() {
		c.walk(call.Target(), env)
	}
	args := make([]binding, len(call.Args()))
	for i, a := range call.Args() {
		args[i] = c.walk(a, env)
	}
	if call.FunctionName() != operators.Index || len(args) != 2 || !args[0].known {
		return binding{}
	}
	parent, index := args[0], call.Args()[1]
	switch parent.shape.Kind() {
	case attest.ShapeList, attest.ShapeMap:
		elem := parent.shape.Elem()
		return binding{known: elem != nil, shape: elem, path: parent.path + "[" + indexText(index) + "]", via: parent.via}
	case attest.ShapeObject:
		// predicate["a"] is not held to the shape (a field Signet does not
		// know); below a field it does know, checking goes on.
		key, isString := literalString(index)
		if shape, ok := parent.shape.Field(key); isString && ok && shape != nil {
			return binding{known: true, shape: shape, path: fmt.Sprintf("%s[%q]", parent.path, key), via: parent.via}
		}
	}
	return binding{}
}

func literalString(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func indexText(e ast.Expr) string {
	if e.Kind() == ast.LiteralKind {
		return fmt.Sprint(e.AsLiteral().Value())
	}
	return "_"
}

// comprehension checks a macro (all, exists, exists_one, map, filter) with
// its variable bound to the items of the list it runs over.
func (c *fieldChecker) comprehension(comp ast.ComprehensionExpr, env map[string]binding) {
	r := c.walk(comp.IterRange(), env)
	c.walk(comp.AccuInit(), env)
	inner := make(map[string]binding, len(env)+3)
	for k, v := range env {
		inner[k] = v
	}
	inner[comp.AccuVar()] = binding{}
	// One variable runs over a list's items (or a map's keys); with two,
	// the second is the item (or the value) and the first its index (key).
	itemVar, what := comp.IterVar(), "an item of"
	inner[itemVar] = binding{}
	if comp.HasIterVar2() {
		itemVar, what = comp.IterVar2(), "a value in"
		inner[itemVar] = binding{}
	}
	kind := r.shape.Kind()
	if r.known && r.shape.Elem() != nil && (kind == attest.ShapeList || kind == attest.ShapeMap && comp.HasIterVar2()) {
		if kind == attest.ShapeList {
			what = "an item of"
		}
		inner[itemVar] = binding{known: true, shape: r.shape.Elem(), path: itemVar, via: fmt.Sprintf("%s is %s %s", itemVar, what, r.path)}
	}
	c.walk(comp.LoopCondition(), inner)
	c.walk(comp.LoopStep(), inner)
	c.walk(comp.Result(), inner)
}
