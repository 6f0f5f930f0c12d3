package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// recalled refuses the decision when a recall list names digest, and says
// whether it did. It runs before any cache, receipt or registry read.
func (e *Engine) recalled(d *Decision, digest string) bool {
	if e.recallsDigests() && !isSHA256(digest) {
		d.add("recall", Fail, ClassPolicyDenied, notSHA256(digest), nil)
		return true
	}
	for _, l := range e.recalls {
		if reason, ok := l.Recalled(digest); ok {
			d.add("recall", Fail, ClassRevoked, fmt.Sprintf("%s is recalled (recall list version %d): %s", digest, l.Version, reason), nil)
			return true
		}
	}
	return false
}

// Recalled says whether a recall list the engine applies (the policy's,
// or WithEngineRecalls') recalls digest, and why: the list's version and
// the recall's reason.
func (e *Engine) Recalled(digest string) (string, bool) {
	for _, l := range e.recalls {
		if reason, ok := l.Recalled(digest); ok {
			return fmt.Sprintf("recall list version %d: %s", l.Version, reason), true
		}
	}
	return "", false
}

// receiptsCount says whether a gate's receipt may stand in for verifying:
// not when a recall list given besides the policy revokes keys, as the
// gate's verdict (made under the policy digest alone) may rest on a
// signature by one of them. The image is then verified in full.
func (e *Engine) receiptsCount(d *Decision) bool {
	if !e.extraRevocations {
		return true
	}
	d.add("receipt", Skip, "", "receipts not used: a recall list given besides the policy revokes keys the gates' verdicts do not account for; verifying in full", nil)
	return false
}

// platformsRecalled applies the recall lists to the manifests an index
// lists (a recall names one manifest; the node pulls a platform's), and to
// those of the indexes it lists in turn (see recalledWithin): it reports
// whether the decision may go on. An index whose manifests cannot be read,
// or that nests deeper, while a list recalls digests is not judged (fail
// closed).
func (e *Engine) platformsRecalled(ctx context.Context, d *Decision, t *oci.Target) bool {
	if !e.recallsDigests() || !t.Descriptor.MediaType.IsIndex() {
		return true
	}
	n, why, class, err := recalledWithin(ctx, e.client, e.recalls, t)
	switch {
	case err != nil:
		d.add("recall", Errored, registryClass(err), "a recall list is in force and the manifests the index lists could not be read to check them: "+err.Error(), nil)
		return false
	case why != "":
		d.add("recall", Fail, class, why, nil)
		return false
	}
	d.add("recall", Pass, "", fmt.Sprintf("none of the %d manifests the index lists is recalled", n), nil)
	return true
}

// platformsRecalled is the Verifier's: an error matching ErrRecalled when
// index t lists a recalled manifest (ErrNoValidSignature when one is named
// by another algorithm than sha256), or the error reading them.
func (v *Verifier) platformsRecalled(ctx context.Context, res *Result, t *oci.Target) error {
	if v.platformsChecked || !t.Descriptor.MediaType.IsIndex() || !slices.ContainsFunc(v.recalls, (*policy.Recalls).HasDigests) {
		return nil
	}
	_, why, class, err := recalledWithin(ctx, v.client, v.recalls, t)
	switch {
	case err != nil:
		return fmt.Errorf("%s (%s): a recall list is in force and the manifests the index lists could not be read to check them: %w", res.Image, res.Digest, err)
	case why == "":
		return nil
	case class == ClassRevoked:
		res.Recalled = why
		return fmt.Errorf("%s (%s): %w: %s", res.Image, res.Digest, ErrRecalled, why)
	}
	return fmt.Errorf("%s (%s): %w: %s", res.Image, res.Digest, ErrNoValidSignature, why)
}

// maxRecallDepth is how deep indexes may nest under the one judged, and
// maxRecallIndexes how many indexes are read in all.
const (
	maxRecallDepth   = 4
	maxRecallIndexes = 64
)

// recalledWithin checks the manifests index t lists against the lists, and
// those of the indexes it lists, at most maxRecallDepth deep and
// maxRecallIndexes in all. It returns how many it checked, or why one is
// refused and the class.
func recalledWithin(ctx context.Context, client *oci.Client, lists []*policy.Recalls, t *oci.Target) (int, string, Class, error) {
	indexes := 0
	var walk func(t *oci.Target, depth int) (int, string, Class, error)
	walk = func(t *oci.Target, depth int) (int, string, Class, error) {
		indexes++
		switch {
		case depth > maxRecallDepth:
			return 0, "", "", fmt.Errorf("indexes nest more than %d deep under %s", maxRecallDepth, t.Digest.DigestStr())
		case indexes > maxRecallIndexes:
			return 0, "", "", fmt.Errorf("the index lists more than %d indexes", maxRecallIndexes)
		}
		children, err := client.Children(ctx, t)
		if err != nil {
			return 0, "", "", err
		}
		n := 0
		for _, c := range children {
			n++
			dg := c.Digest.String()
			if !isSHA256(dg) {
				return n, "the index lists " + notSHA256(dg), ClassPolicyDenied, nil
			}
			for _, l := range lists {
				if reason, ok := l.Recalled(dg); ok {
					return n, fmt.Sprintf("the index lists %s, which is recalled (recall list version %d): %s", dg, l.Version, reason), ClassRevoked, nil
				}
			}
			if !c.MediaType.IsIndex() {
				continue
			}
			m, why, class, err := walk(t.Child(c), depth+1)
			if err != nil || why != "" {
				return n + m, why, class, err
			}
			n += m
		}
		return n, "", "", nil
	}
	return walk(t, 1)
}

// recallsDigests says whether any recall list recalls a digest.
func (e *Engine) recallsDigests() bool {
	for _, l := range e.recalls {
		if l.HasDigests() {
			return true
		}
	}
	return false
}

// recalledTag applies the recall lists to a reference that no rule covers
// and defaultAction allows: it is resolved, so a recalled digest cannot run
// under a tag, nor a recalled platform manifest under an index; when the
// registry cannot say, it is refused (class transient), as nothing else can
// tell whether it is recalled.
func (e *Engine) recalledTag(ctx context.Context, d *Decision, ref name.Reference) *Decision {
	if ref == nil || !d.Allowed || !e.recallsDigests() {
		return d
	}
	t, err := e.client.Resolve(ctx, ref.String())
	if err != nil {
		d.add("recall", Errored, registryClass(err), "a recall list is in force and "+ref.String()+" could not be resolved to check it: "+err.Error(), nil)
		return d.finish()
	}
	d.Digest, d.Tag = t.Digest.DigestStr(), t.Tag
	if !e.recalled(d, d.Digest) {
		e.platformsRecalled(ctx, d, t)
	}
	return d.finish()
}

// timeClass is the class of a refusal whose signatures verified but whose
// keys did not count at their trusted time: revoked for a revoked key,
// policy-denied for a key outside its window; otherwise class unchanged.
func timeClass(res *Result, class Class) Class {
	if res == nil {
		return class
	}
	window := false
	for i := range res.Signatures {
		err := res.Signatures[i].Err()
		if errors.Is(err, ErrKeyRevoked) {
			return ClassRevoked
		}
		window = window || errors.Is(err, ErrKeyWindow)
	}
	if window {
		return ClassPolicyDenied
	}
	return class
}

// isSHA256 says whether digest is a sha256 one, the only algorithm a recall
// list names manifests by.
func isSHA256(digest string) bool { return strings.HasPrefix(strings.ToLower(digest), "sha256:") }

// notSHA256 says why a manifest named by another algorithm is refused while
// a recall list is in force: the same bytes may be the recalled manifest,
// which the list names by its sha256 digest.
func notSHA256(digest string) string {
	return fmt.Sprintf("%s is not a sha256 digest, and a recall list in force names manifests by sha256 only: the same manifest under "+
		"another algorithm could be a recalled one; reference the image by its sha256 digest", digest)
}
