package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/oci"
)

// FixResult says what a repair did.
type FixResult struct {
	// Fixed says the tag now holds the rebuilt index, read back.
	Fixed bool `json:"fixed"`
	// Stopped says why the repair did not complete (nothing was written,
	// unless After is set).
	Stopped string `json:"stopped,omitempty"`
	// Before and After are the digests of the index before and after.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Changes lists each change, for people.
	Changes []string `json:"changes,omitempty"`

	err error
}

// fixSubject repairs s's fallback index when it is damaged.
func fixSubject(ctx context.Context, c *oci.Client, s *Subject, api bool) error {
	f := &s.Fallback
	if len(f.Findings) == 0 {
		return nil
	}
	res := &FixResult{Before: f.Digest}
	f.Fix = res
	switch {
	case api:
		res.Stopped = "the registry has the referrers API: clients list referrers through it and do not read the fallback tag, so there is nothing to fix; delete the tag if it is in the way"
		return nil
	case f.entries == nil && f.Findings[0].Problem == NotAnIndex:
		res.Stopped = "the fallback tag is not an index doctor can rebuild; it is left as it is"
		return nil
	}
	raw, changes, err := rebuild(f)
	if err != nil {
		return err
	}
	res.Changes = changes
	tag, err := name.NewTag(f.Tag, name.WeakValidation)
	if err != nil {
		return fmt.Errorf("parsing the fallback tag %s: %w", f.Tag, err)
	}
	return write(ctx, c, tag, f, raw, res)
}

// rebuild is f's index with the damaged entries dropped or repaired: the
// entries whose manifest exists, once each, each as its manifest calls for
// (media type, size, artifactType, annotations), in the index's order. The
// index's own annotations are kept.
func rebuild(f *Fallback) ([]byte, []string, error) {
	var im v1.IndexManifest
	if err := json.Unmarshal(f.raw, &im); err != nil {
		return nil, nil, fmt.Errorf("parsing the fallback index again: %w", err)
	}
	out := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}, Annotations: im.Annotations}
	var changes []string
	for _, e := range f.entries {
		id := e.desc.Digest.String()
		if !e.keep {
			changes = append(changes, fmt.Sprintf("dropped %s: %s", id, e.reason[0].Detail))
			continue
		}
		out.Manifests = append(out.Manifests, e.want)
		for _, r := range e.reason {
			changes = append(changes, fmt.Sprintf("repaired %s: %s", id, r.Detail))
		}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the rebuilt fallback index: %w", err)
	}
	return raw, changes, nil
}

// write puts raw at tag if the tag still holds the index read (f.Digest),
// then reads it back. A tag that changed before the write stops the repair
// with nothing written; one that changed after is reported, not rewritten.
func write(ctx context.Context, c *oci.Client, tag name.Tag, f *Fallback, raw []byte, res *FixResult) error {
	now, err := c.Get(ctx, tag)
	if err != nil {
		return fmt.Errorf("checking %s before the repair (nothing written): %w", tag, err)
	}
	if d := now.Descriptor.Digest.String(); d != f.Digest {
		res.err = ErrTagChanged
		res.Stopped = fmt.Sprintf("the tag changed since it was read (it was %s, is %s): someone else is writing it; nothing written, run doctor again", f.Digest, d)
		return nil
	}
	if err := c.PutManifest(ctx, tag, raw, types.OCIImageIndex); err != nil {
		return fmt.Errorf("writing the repaired fallback index to %s: %w", tag, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	res.After = h.String()
	back, err := c.Get(ctx, tag)
	if err != nil {
		return fmt.Errorf("reading %s back after the repair: %w", tag, err)
	}
	if back.Descriptor.Digest != h || !bytes.Equal(back.Raw, raw) {
		res.err = ErrTagChanged
		res.Stopped = fmt.Sprintf("the repaired index (%s) was written, but the tag now holds %s: someone else wrote it meanwhile; run doctor again", h, back.Descriptor.Digest)
		return nil
	}
	res.Fixed = true
	return nil
}
