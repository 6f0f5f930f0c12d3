package mirror

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/oci"
)

// Endpoints is a Request's source and destination, from references as a
// user writes them: REGISTRY/REPOSITORY[:TAG|@DIGEST] or
// oci-layout:DIR[:TAG|@DIGEST].
//
// The source layout must exist; the destination layout is created if it
// does not. A destination with no tag gets the source's tag, if it was
// named by one; a destination digest must be the source's (checked by
// Copy's caller against Result.Digest). c must allow layouts
// (oci.WithLayoutDirs) for either to be one.
func Endpoints(c *oci.Client, src, dst string, maxBytes int64) (Request, error) {
	var req Request
	srcRef, err := c.ParseReference(src)
	if err != nil {
		return req, err
	}
	req.SrcRef = srcRef
	if oci.IsLayoutReference(src) {
		lr, err := oci.ParseLayoutReference(src)
		if err != nil {
			return req, err
		}
		if req.Src, err = c.OpenLayout(lr); err != nil {
			return req, err
		}
	} else {
		req.Src = c
	}
	srcTag := ""
	if t, ok := srcRef.(name.Tag); ok {
		srcTag = t.TagStr()
	}
	if oci.IsLayoutReference(dst) {
		lr, err := oci.ParseLayoutReference(dst)
		if err != nil {
			return req, err
		}
		l, err := oci.CreateLayout(lr.Dir, "", maxBytes)
		if err != nil {
			return req, err
		}
		req.Dst, req.DstRepo = l, l.Repository()
		req.DstTag = lr.Tag
		if lr.Tag == "" && lr.Digest == "" {
			req.DstTag = srcTag
		}
		req.wantDigest = lr.Digest
		return req, nil
	}
	dstRef, err := oci.ParseReference(dst)
	if err != nil {
		return req, err
	}
	req.Dst, req.DstRepo = c, dstRef.Context()
	switch r := dstRef.(type) {
	case name.Digest:
		req.wantDigest = r.DigestStr()
	case name.Tag:
		if strings.LastIndex(dst, ":") > strings.LastIndex(dst, "/") {
			req.DstTag = r.TagStr() // written out, not go-containerregistry's default "latest"
		} else {
			req.DstTag = srcTag
		}
	}
	return req, nil
}

// checkDigest refuses a copy to DST@DIGEST of an image with another digest.
func (r Request) checkDigest(got string) error {
	if r.wantDigest != "" && r.wantDigest != got {
		return fmt.Errorf("the destination names digest %s, but the source is %s: name the destination by repository or tag, or the source by that digest", r.wantDigest, got)
	}
	return nil
}
