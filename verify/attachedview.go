package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/signet-dev/signet/internal/gcpace"
)

// A condition over an attached attestation (the predicate inside the signed
// statement) sees it as one over a detached predicate does: a statement of
// up to the memory cap (WithDetachedMemoryBytes) whole, with the
// predicate's summary; a larger one with its predicate reduced to its small
// top-level members, computed by streaming over the statement's bytes
// (already in memory; never decoded whole into a tree, never copied).

// errStatementShape means a statement over the memory cap cannot be read
// member by member the way its whole would be read.
var errStatementShape = errors.New("statement cannot be read member by member")

// conditionView sets sig.summary (and, for a statement over memCap,
// sig.partial) for a condition over an attached attestation and returns
// the statement the condition sees: the statement itself, or with its
// predicate reduced. An error means a statement over memCap whose
// predicate could not be reduced: the condition must be refused.
func conditionView(sig *Signature, memCap int64) ([]byte, error) {
	raw := sig.statement.raw
	if int64(len(raw)) <= memCap {
		if _, summary, err := reduceStatement(raw); err == nil {
			sig.summary = summary
		}
		return raw, nil
	}
	// The statement is the live heap; streaming over it makes garbage the
	// default pacing would let grow to its size again.
	defer gcpace.Tight(25)()
	reduced, summary, err := reduceStatement(raw)
	if err != nil {
		return nil, err
	}
	sig.summary, sig.partial = summary, true
	return reduced, nil
}

// reduceStatement streams over a statement's JSON: its predicate, which
// must be a JSON object named once, is summarized (summarizeFrom); the
// other members are kept as they are. It returns the statement with the
// predicate's reduced form in place of the predicate, and the summary.
func reduceStatement(raw []byte) ([]byte, map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("%w: it is not a JSON object", errStatementShape)
	}
	out := map[string]any{}
	var summary map[string]any
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errStatementShape, err)
		}
		key, _ := tok.(string)
		if key != "predicate" {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, nil, fmt.Errorf("%w: %w", errStatementShape, err)
			}
			out[key] = v
			continue
		}
		if seen {
			// encoding/json would read the last; refuse rather than
			// choose which one a condition sees.
			return nil, nil, fmt.Errorf("%w: it has two members named predicate", errStatementShape)
		}
		seen = true
		reduced, s, err := summarizeFrom(dec)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: its predicate: %w", errStatementShape, err)
		}
		out["predicate"], summary = reduced, s
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errStatementShape, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("%w: data after its end", errStatementShape)
	}
	if !seen {
		return nil, nil, fmt.Errorf("%w: it has no predicate", errStatementShape)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errStatementShape, err)
	}
	return b, summary, nil
}
