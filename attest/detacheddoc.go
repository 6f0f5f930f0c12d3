package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/signet-dev/signet/oci"
)

// ErrDetachedDocument means a detached predicate's document is missing, is
// not the document its statement names (digest, size, media type), or is
// over the size cap.
var ErrDetachedDocument = errors.New("detached predicate document refused")

// WriteDetached streams the document p names (a detached-predicate
// statement's predicate, see Statements) from t's repository to w, through
// OpenDetached's checks; at most p.Size+1 bytes are read, through a SHA-256
// checked at the end. w has then had the whole document; on an error it
// may have had part of it, which the caller must discard. The statement
// itself is NOT verified: use verify.VerifyAttestations to trust it.
func WriteDetached(ctx context.Context, client *oci.Client, t *oci.Target, p *DetachedPredicate, w io.Writer, max int64) error {
	rc, err := OpenDetached(ctx, client, t, p, max, ErrDetachedDocument, "the statement")
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, p.Size+1))
	if err != nil {
		return fmt.Errorf("%w: reading document %s: %w", ErrDetachedDocument, p.Digest, err)
	}
	if n > p.Size {
		return fmt.Errorf("%w: document %s is more than the %d bytes the statement says", ErrDetachedDocument, p.Digest, p.Size)
	}
	if n < p.Size {
		return fmt.Errorf("%w: document %s is %d bytes, the statement says %d", ErrDetachedDocument, p.Digest, n, p.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != p.Digest {
		return fmt.Errorf("%w: the document read hashes to %s, the statement names %s (it was replaced or damaged)", ErrDetachedDocument, got, p.Digest)
	}
	return nil
}

// OpenDetached opens the document p names, from its artifact in t's
// repository, once what can be checked unread holds: a document over max
// bytes is refused unread, and the artifact's manifest must hold one layer
// of p's digest, size and media type. The caller reads at most p.Size+1
// bytes and checks their count and SHA-256. Refusals wrap refused, and call
// the statement statement ("the signed statement" where it was verified).
func OpenDetached(ctx context.Context, client *oci.Client, t *oci.Target, p *DetachedPredicate, max int64, refused error, statement string) (io.ReadCloser, error) {
	if p.Size > max {
		return nil, fmt.Errorf("%w: the document is %d bytes, over the %d-byte cap for detached predicates (raise it with --max-predicate-size if it is expected)", refused, p.Size, max)
	}
	m, err := client.DetachedManifest(ctx, t, p.Artifact)
	if err != nil {
		return nil, fmt.Errorf("%w: its artifact %s could not be read: %w (was it deleted, or not copied with the image?)", refused, p.Artifact, err)
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("%w: its artifact %s has %d layers, not the one document", refused, p.Artifact, len(m.Layers))
	}
	layer := m.Layers[0]
	switch {
	case layer.Digest.String() != p.Digest:
		return nil, fmt.Errorf("%w: its artifact %s holds document %s, %s names %s", refused, p.Artifact, layer.Digest, statement, p.Digest)
	case layer.Size != p.Size:
		return nil, fmt.Errorf("%w: its artifact %s says the document is %d bytes, %s %d", refused, p.Artifact, layer.Size, statement, p.Size)
	case string(layer.MediaType) != p.MediaType:
		return nil, fmt.Errorf("%w: its artifact %s says the document is %s, %s %s", refused, p.Artifact, layer.MediaType, statement, p.MediaType)
	}
	rc, err := client.OpenBlob(ctx, t, layer)
	if err != nil {
		return nil, fmt.Errorf("%w: document %s could not be read: %w", refused, p.Digest, err)
	}
	return rc, nil
}
