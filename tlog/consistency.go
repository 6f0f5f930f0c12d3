package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	sumdbnote "golang.org/x/mod/sumdb/note"
)

// ErrInconsistent means two checkpoints of a log cannot both be true: the log
// forked or rewrote its history. The InconsistencyError carries both.
var ErrInconsistent = errors.New("log checkpoints are inconsistent")

// InconsistencyError is the evidence of a log that rewrote history: two
// checkpoints, each validly signed by the log, that no append-only log could
// have produced. Keep both; either is enough to show the log misbehaved.
type InconsistencyError struct {
	Old, New []byte // the signed checkpoints, as served
	Reason   string
}

func (e *InconsistencyError) Error() string {
	return fmt.Sprintf("%v: %s\n--- older checkpoint ---\n%s--- newer checkpoint ---\n%s", ErrInconsistent, e.Reason, e.Old, e.New)
}

// Unwrap lets errors.Is match ErrInconsistent.
func (e *InconsistencyError) Unwrap() error { return ErrInconsistent }

// CheckpointVerifier checks checkpoints signed by one log.
type CheckpointVerifier struct {
	origin string
	nv     sumdbnote.Verifier
}

// NewCheckpointVerifier returns a verifier for checkpoints of the log whose
// origin and key are given (Rekor v2 and Signet's log sign with Ed25519 or ECDSA).
func NewCheckpointVerifier(origin string, v signature.Verifier) (*CheckpointVerifier, error) {
	nv, err := note.NewNoteVerifier(origin, v)
	if err != nil {
		return nil, fmt.Errorf("making checkpoint verifier: %w", err)
	}
	return &CheckpointVerifier{origin: origin, nv: nv}, nil
}

// Parse checks a checkpoint's signature and origin and returns its contents.
func (c *CheckpointVerifier) Parse(raw []byte) (*log.Checkpoint, error) {
	cp, _, _, err := log.ParseCheckpoint(raw, c.origin, c.nv)
	if err != nil {
		return nil, fmt.Errorf("checkpoint does not verify for log %q: %w", c.origin, c.why(raw, err))
	}
	return cp, nil
}

// ErrNotSignedByKey means a checkpoint carries no signature by the log's
// key as given: most often the wrong key, or another log's checkpoint.
var ErrNotSignedByKey = errors.New("it carries no signature by the key given")

// why says, for people, why raw did not verify: the note library's own
// words name no key and say nothing of what to check.
func (c *CheckpointVerifier) why(raw []byte, err error) error {
	_, oerr := sumdbnote.Open(raw, sumdbnote.VerifierList(c.nv))
	var unverified *sumdbnote.UnverifiedNoteError
	var invalid *sumdbnote.InvalidSignatureError
	switch {
	case errors.As(oerr, &unverified):
		var by []string
		for _, sig := range unverified.Note.UnverifiedSigs {
			by = append(by, fmt.Sprintf("%q (key hash %08x)", sig.Name, sig.Hash))
		}
		return fmt.Errorf("%w (%q, key hash %08x); it is signed by %s", ErrNotSignedByKey, c.nv.Name(), c.nv.KeyHash(), strings.Join(by, ", "))
	case errors.As(oerr, &invalid):
		return fmt.Errorf("its signature by %q does not verify: the checkpoint was altered", invalid.Name)
	case oerr != nil:
		return errors.New("it is not a signed checkpoint (a signed note: text, a blank line, then signature lines)")
	}
	return err // signed by the key, but not this log's checkpoint (its origin or its text)
}

// CheckConsistency proves that the log committed to by newer extends the one
// committed to by older, fetching the proof's tiles with fetch. Both
// checkpoints must verify. A log that forked or rewrote history gives an
// *InconsistencyError holding both checkpoints.
func (c *CheckpointVerifier) CheckConsistency(ctx context.Context, older, newer []byte, fetch client.TileFetcherFunc) error {
	o, err := c.Parse(older)
	if err != nil {
		return fmt.Errorf("older checkpoint: %w", err)
	}
	n, err := c.Parse(newer)
	if err != nil {
		return fmt.Errorf("newer checkpoint: %w", err)
	}
	evidence := func(reason string) error { return &InconsistencyError{Old: older, New: newer, Reason: reason} }
	switch {
	case n.Size < o.Size:
		return evidence(fmt.Sprintf("the log shrank from %d to %d entries", o.Size, n.Size))
	case n.Size == o.Size && !bytes.Equal(n.Hash, o.Hash):
		return evidence(fmt.Sprintf("two different roots for the same size %d: the log forked", o.Size))
	case n.Size == o.Size, o.Size == 0:
		return nil
	}
	pb, err := client.NewProofBuilder(ctx, n.Size, fetch)
	if err != nil {
		return fmt.Errorf("fetching consistency proof: %w", err)
	}
	p, err := pb.ConsistencyProof(ctx, o.Size, n.Size)
	if err != nil {
		return fmt.Errorf("fetching consistency proof %d→%d: %w", o.Size, n.Size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, o.Size, n.Size, p, o.Hash, n.Hash); err != nil {
		return evidence(fmt.Sprintf("the tree of size %d is not a prefix of the tree of size %d: %v", o.Size, n.Size, err))
	}
	return nil
}

// HTTPTiles fetches a log's checkpoint and tiles over C2SP tlog-tiles URLs.
type HTTPTiles struct{ f *client.HTTPFetcher }

// NewHTTPTiles reads the log at base (e.g. http://127.0.0.1:3003 for Signet's
// log, whose /checkpoint and /tile/ are at the root).
func NewHTTPTiles(base string, c *http.Client) (*HTTPTiles, error) {
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("parsing log URL: %w", err)
	}
	f, err := client.NewHTTPFetcher(u, c)
	if err != nil {
		return nil, err
	}
	return &HTTPTiles{f: f}, nil
}

// Checkpoint fetches the latest checkpoint.
func (h *HTTPTiles) Checkpoint(ctx context.Context) ([]byte, error) { return h.f.ReadCheckpoint(ctx) }

// Tile fetches one tile; it is a client.TileFetcherFunc.
func (h *HTTPTiles) Tile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return h.f.ReadTile(ctx, level, index, p)
}
