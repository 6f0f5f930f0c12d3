package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// ErrEmptyFile means the predicate or statement file is empty, or holds
// only white space: nothing to attest. An empty predicate is also
// ErrInvalidPredicate.
var ErrEmptyFile = errors.New("nothing to attest")

// Checked is a Request whose input passed its checks: the predicate was
// read and checked against its type (or, for a large file, checked while
// streaming), or the statement was parsed. Attester.AttestChecked signs and
// attaches it.
type Checked struct {
	predicateType string
	recursive     bool
	// predicate is the predicate built in memory; nil for a statement or a
	// large file.
	predicate json.RawMessage
	// statement is a statement given whole, and given its parse.
	statement []byte
	given     *Statement
	// path and size name a large file checked while streaming; kind is its
	// --type kind, for reading it into memory when the signer cannot stream.
	path string
	size int64
	kind string
	// detached stores the predicate apart (Request.Detached).
	detached bool
}

// PredicateType is the predicate type the attestation will carry.
func (c *Checked) PredicateType() string { return c.predicateType }

// Check checks a request's input — the predicate against its type, or a
// given statement's shape — with neither a key nor a registry, so a command
// can refuse bad input before it unlocks a key. The options are the
// Attester's (the streaming threshold).
func Check(req Request, opts ...Option) (*Checked, error) {
	return New(nil, nil, opts...).check(req)
}

func (a *Attester) check(req Request) (*Checked, error) {
	if req.Detached && req.Statement != nil {
		return nil, errors.New("a detached predicate needs a predicate file, not a whole statement")
	}
	c, err := a.checkInput(req)
	if c != nil {
		c.detached = req.Detached
	}
	return c, err
}

func (a *Attester) checkInput(req Request) (*Checked, error) {
	if req.PredicatePath != "" {
		if req.Predicate != nil {
			return nil, errors.New("give a predicate or a predicate file, not both")
		}
		if c, err := a.checkLargeFile(req); c != nil || err != nil {
			return c, err
		}
		data, err := readFile(req.PredicatePath)
		if err != nil {
			return nil, err
		}
		req.Predicate, req.PredicatePath = data, ""
	}
	if (req.Statement == nil) == (req.Predicate == nil) {
		return nil, errors.New("give either a predicate or a statement")
	}
	if req.Statement != nil {
		return a.checkStatement(req)
	}
	pt, kind, err := ResolveType(req.Type)
	if err != nil {
		return nil, err
	}
	predicate, err := BuildPredicate(kind, req.Predicate, a.now())
	if err != nil {
		return nil, err
	}
	return &Checked{predicateType: pt, predicate: predicate, recursive: req.Recursive}, nil
}

func (a *Attester) checkStatement(req Request) (*Checked, error) {
	if blank(req.Statement) {
		return nil, emptyError(req.Statement, "statement")
	}
	st, err := ParseStatement(req.Statement)
	if err != nil {
		return nil, err
	}
	if err := checkNotFuture(st.Predicate, a.now()); err != nil {
		return nil, fmt.Errorf("the statement's predicate: %w", err)
	}
	return &Checked{predicateType: st.PredicateType, statement: req.Statement, given: st, recursive: req.Recursive}, nil
}

// checkLargeFile checks a predicate file of a streamable kind at or over the
// streaming threshold while streaming it. It returns nil and no error when
// the file is to be read into memory instead.
func (a *Attester) checkLargeFile(req Request) (*Checked, error) {
	pt, kind, err := ResolveType(req.Type)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(req.PredicatePath)
	if err != nil {
		return nil, err
	}
	if !streamable(kind) || st.Size() < a.large || st.Size() == 0 {
		return nil, nil
	}
	if err := checkFile(kind, req.PredicatePath); err != nil {
		return nil, err
	}
	return &Checked{predicateType: pt, path: req.PredicatePath, size: st.Size(), kind: kind, recursive: req.Recursive}, nil
}

// blank reports whether data is empty or only white space.
func blank(data []byte) bool { return len(bytes.TrimSpace(data)) == 0 }

// emptyError says how a blank predicate or statement file is empty.
func emptyError(data []byte, role string) error {
	how := "is empty"
	if len(data) > 0 {
		how = "holds only white space"
	}
	return fmt.Errorf("the %s file %s: %w (did the step that writes it fail?)", role, how, ErrEmptyFile)
}
