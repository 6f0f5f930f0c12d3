package policy

import (
	"errors"
	"fmt"
	"slices"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
)

// ErrPartialDocument means a condition reads what a partial predicate
// document lacks: a member left out of it, or the document as a whole (its
// keys, its size, the whole value passed on), where an answer over the part
// could differ from the answer over the whole.
var ErrPartialDocument = errors.New("the condition reads what the partial document lacks")

// ReadsOnlyKept refuses (ErrPartialDocument, wrapped in ErrConditionInvalid)
// a condition that, over a predicate of which only some top-level members
// are kept (omitted names the others), reads an omitted member — has() of
// one too, which would say it is absent — or reads the predicate other
// than by a member name written out (predicate.a, predicate["a"],
// statement.predicate.a): "a" in predicate, size(predicate), a macro over
// it, statement as a whole.
func (c *Condition) ReadsOnlyKept(omitted []string) error {
	if c.ast == nil || len(omitted) == 0 {
		return nil
	}
	r := &partialReads{omitted: omitted}
	r.walk(c.ast.NativeRep().Expr())
	if r.problem != "" {
		return fmt.Errorf("%w: %w: %s", ErrConditionInvalid, ErrPartialDocument, r.problem)
	}
	return nil
}

type partialReads struct {
	omitted []string
	problem string
}

// isDoc reports whether e is the predicate: predicate, statement.predicate
// or statement["predicate"].
func isDoc(e ast.Expr) bool {
	if e.Kind() == ast.IdentKind {
		return e.AsIdent() == "predicate"
	}
	if e.Kind() == ast.SelectKind {
		sel := e.AsSelect()
		return isIdent(sel.Operand(), "statement") && sel.FieldName() == "predicate"
	}
	if name, obj, ok := constIndex(e); ok {
		return isIdent(obj, "statement") && name == "predicate"
	}
	return false
}

func isIdent(e ast.Expr, name string) bool {
	return e.Kind() == ast.IdentKind && e.AsIdent() == name
}

// constIndex returns obj and name of obj["name"].
func constIndex(e ast.Expr) (string, ast.Expr, bool) {
	if e.Kind() != ast.CallKind {
		return "", nil, false
	}
	call := e.AsCall()
	if call.FunctionName() != operators.Index || len(call.Args()) != 2 {
		return "", nil, false
	}
	name, ok := literalString(call.Args()[1])
	return name, call.Args()[0], ok
}

func (r *partialReads) member(name string) {
	if slices.Contains(r.omitted, name) && r.problem == "" {
		r.problem = fmt.Sprintf("predicate.%s was left out (over 1 MiB); see summary.omitted", name)
	}
}

func (r *partialReads) walk(e ast.Expr) {
	switch e.Kind() {
	case ast.IdentKind:
		if (e.AsIdent() == "predicate" || e.AsIdent() == "statement") && r.problem == "" {
			r.problem = "it reads " + e.AsIdent() + " as a whole, of which only the members under 1 MiB are kept"
		}
	case ast.SelectKind:
		sel := e.AsSelect()
		switch {
		case isDoc(sel.Operand()):
			r.member(sel.FieldName())
		case isIdent(sel.Operand(), "statement") && sel.FieldName() != "predicate":
		default:
			r.walk(sel.Operand())
		}
	case ast.CallKind:
		if name, obj, ok := constIndex(e); ok {
			switch {
			case isDoc(obj):
				r.member(name)
				return
			case isIdent(obj, "statement") && name != "predicate":
				return
			}
		}
		call := e.AsCall()
		if call.IsMemberFunction() {
			r.walk(call.Target())
		}
		for _, a := range call.Args() {
			r.walk(a)
		}
	case ast.ComprehensionKind:
		comp := e.AsComprehension()
		for _, x := range []ast.Expr{comp.IterRange(), comp.AccuInit(), comp.LoopCondition(), comp.LoopStep(), comp.Result()} {
			r.walk(x)
		}
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			r.walk(el)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			r.walk(en.AsMapEntry().Key())
			r.walk(en.AsMapEntry().Value())
		}
	case ast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			r.walk(f.AsStructField().Value())
		}
	}
}
