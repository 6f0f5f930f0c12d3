//go:build e2e

package e2e

import (
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestDoctor: on the distribution registry (no referrers API) cosign v3
// signs an image, which writes the fallback tag; damage is planted in it
// (an entry stripped of its artifactType and annotations, as older cosign
// wrote them, a duplicate, an entry for another image's signature and one
// for a signature deleted since); signet doctor reports each, --fix
// repairs the index, a second run finds it healthy, and cosign v3 verifies
// the repaired image with the key.
func TestDoctor(t *testing.T) {
	k := keys(t)
	reg := distributionReg.get(t, func() (*registryUnderTest, error) { return startDistribution(false) })
	cell(t, "doctor repairs cosign v3's fallback index", []*registryUnderTest{reg}, func(t *testing.T, r *registryUnderTest, repo string) {
		img := pushImage(t, r.host, repo+":v1")
		other := pushImage(t, r.host, repo+":v2")
		expect(t, "cosign v3 sign", cosignV3Sign(t, k.cosignKey, img.String()), 0)
		expect(t, "cosign v3 sign (other image)", cosignV3Sign(t, k.cosignKey, other.String()), 0)
		fallback := doctorFallbackTag(img)
		signed := doctorEntries(t, fallback)
		if len(signed) != 1 {
			t.Fatalf("cosign wrote %d entries in %s, want 1", len(signed), fallback)
		}
		t.Logf("cosign v3 wrote %s: %s", fallback, doctorJSON(signed))
		// cosign v3 lists its signature without the manifest's annotations
		// (cosign #4641): doctor says so, and nothing else.
		asWritten := signet(t, "doctor", img.String())
		t.Logf("signet doctor (as cosign v3 wrote it):\n%s%s", asWritten.out, asWritten.err)
		if len(signed[0].Annotations) == 0 {
			expect(t, "signet doctor (as cosign v3 wrote it)", asWritten, 4, "no-annotations", "1 problem:")
		} else {
			expect(t, "signet doctor (as cosign v3 wrote it)", asWritten, 0, "Healthy")
		}

		// A second cosign signature whose manifest is deleted afterwards.
		expect(t, "cosign v3 sign again", cosignV3Sign(t, k.cosignKey, img.String()), 0)
		all := doctorEntries(t, fallback)
		if len(all) != 2 {
			t.Fatalf("%s lists %d entries after the second signature, want 2", fallback, len(all))
		}
		gone := all[1]
		if gone.Digest == signed[0].Digest {
			gone = all[0]
		}
		otherEntries := doctorEntries(t, doctorFallbackTag(other))
		stripped := signed[0]
		stripped.ArtifactType, stripped.Annotations = "", nil
		// distribution refuses an index naming a manifest it lacks: plant
		// first, then delete the manifest.
		doctorPlant(t, fallback, []v1.Descriptor{stripped, gone, otherEntries[0], stripped})
		if err := remote.Delete(img.Context().Digest(gone.Digest.String()), remoteOpts()...); err != nil {
			t.Fatalf("deleting %s: %v", gone.Digest, err)
		}

		damaged := cosignV3Verify(t, k.cosignPub, img.String())
		t.Logf("cosign v3 verify --key (damage planted): exit %d\n%s%s", damaged.code, damaged.out, damaged.err)

		before := signet(t, "doctor", img.String())
		t.Logf("signet doctor (damage planted):\n%s%s", before.out, before.err)
		expect(t, "signet doctor", before, 4, "no-artifact-type", "missing-manifest", "other-subject", "duplicate", "Run again with --fix")

		fixed := signet(t, "doctor", "--fix", img.String())
		t.Logf("signet doctor --fix:\n%s%s", fixed.out, fixed.err)
		expect(t, "signet doctor --fix", fixed, 0, "fixed: rewrote", "dropped "+gone.Digest.String(), "dropped "+otherEntries[0].Digest.String(), "Repaired 1 fallback index")
		repaired := doctorEntries(t, fallback)
		if len(repaired) != 1 || repaired[0].Digest != signed[0].Digest || repaired[0].ArtifactType == "" || len(repaired[0].Annotations) == 0 {
			t.Fatalf("repaired index lists %s, want cosign's one signature with its artifactType and annotations", doctorJSON(repaired))
		}

		again := signet(t, "doctor", "--fix", img.String())
		t.Logf("signet doctor --fix, again:\n%s%s", again.out, again.err)
		expect(t, "signet doctor --fix, again", again, 0, "Healthy: no damage found")
		if got := doctorEntries(t, fallback); doctorJSON(got) != doctorJSON(repaired) {
			t.Fatalf("the second --fix changed the index: %s, was %s", doctorJSON(got), doctorJSON(repaired))
		}

		verified := cosignV3Verify(t, k.cosignPub, img.String())
		t.Logf("cosign v3 verify --key (repaired image):\n%s%s", verified.out, verified.err)
		expect(t, "cosign v3 verify --key", verified, 0)
	})
}

func doctorFallbackTag(d name.Digest) name.Tag {
	h, _ := v1.NewHash(d.DigestStr())
	return d.Context().Tag(h.Algorithm + "-" + h.Hex)
}

func doctorEntries(t *testing.T, tag name.Tag) []v1.Descriptor {
	t.Helper()
	desc, err := remote.Get(tag, remoteOpts()...)
	if err != nil {
		t.Fatalf("reading %s: %v", tag, err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		t.Fatalf("parsing %s: %v", tag, err)
	}
	return im.Manifests
}

// plantFallback writes an index listing entries at tag, as a broken
// client would.
func doctorPlant(t *testing.T, tag name.Tag, entries []v1.Descriptor) {
	t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: entries})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(tag, doctorRawIndex(raw), remoteOpts()...); err != nil {
		t.Fatalf("planting %s: %v", tag, err)
	}
}

type doctorRawIndex []byte

func (r doctorRawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r doctorRawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

func doctorJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
