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
// statement's predicate, see Statements) from t's repository to w: the
// artifact's manifest must hold one layer of p's digest, size and media
// type, a document over max bytes is refused unread, and at most p.Size+1
// bytes are read, through a SHA-256 checked at the end. w has then had the
// whole document; on an error it may have had part of it, which the
// caller must discard. The statement itself is NOT verified: use
// verify.VerifyAttestations to trust it.
func WriteDetached(ctx context.Context, client *oci.Client, t *oci.Target, p *DetachedPredicate, w io.Writer, max int64) error {
	if p.Size > max {
		return fmt.Errorf("%w: the document is %d bytes, over the %d-byte cap (raise it with --max-predicate-size if it is expected)", ErrDetachedDocument, p.Size, max)
	}
	m, err := client.DetachedManifest(ctx, t, p.Artifact)
	if err != nil {
		return fmt.Errorf("%w: its artifact %s could not be read: %w (was it deleted, or not copied with the image?)", ErrDetachedDocument, p.Artifact, err)
	}
	if len(m.Layers) != 1 {
		return fmt.Errorf("%w: its artifact %s has %d layers, not the one document", ErrDetachedDocument, p.Artifact, len(m.Layers))
	}
	layer := m.Layers[0]
	switch {
	case layer.Digest.String() != p.Digest:
		return fmt.Errorf("%w: its artifact %s holds document %s, the statement names %s", ErrDetachedDocument, p.Artifact, layer.Digest, p.Digest)
	case layer.Size != p.Size:
		return fmt.Errorf("%w: its artifact %s says the document is %d bytes, the statement %d", ErrDetachedDocument, p.Artifact, layer.Size, p.Size)
	case string(layer.MediaType) != p.MediaType:
		return fmt.Errorf("%w: its artifact %s says the document is %s, the statement %s", ErrDetachedDocument, p.Artifact, layer.MediaType, p.MediaType)
	}
	rc, err := client.OpenBlob(ctx, t, layer)
	if err != nil {
		return fmt.Errorf("%w: document %s could not be read: %w", ErrDetachedDocument, p.Digest, err)
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
