package verify_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// bundleFile writes bundles as JSON Lines (gh attestation download's
// format) and reads them back as artifacts.
func bundleFile(t *testing.T, bundles ...[]byte) []oci.Artifact {
	t.Helper()
	path := filepath.Join(t.TempDir(), "attestations.jsonl")
	var lines []string
	for _, b := range bundles {
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	arts, err := oci.ReadBundleFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return arts
}

// TestExtraArtifacts: bundles from a file count for the image their
// statement names, nothing attached; for any other image they are refused
// as a signature made for another image.
func TestExtraArtifacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	github := sigstoretest.Start(t)
	a := w.reg.PushImage(t, "team/app:a")
	b := w.reg.PushImage(t, "team/app:b")
	other := w.reg.PushImage(t, "team/app:other")
	arts := bundleFile(t, githubBundle(t, github, ghWorkflow, ghClaims(), a.DigestStr()), githubBundle(t, github, ghWorkflow, ghClaims(), b.DigestStr()))
	release := verify.Identity{Name: "release", Issuer: ghIssuer, Subject: ghWorkflow, RunnerEnvironment: "github-hosted", Root: trustedRoot(t, github)}
	v, err := verify.New(w.client, nil, verify.WithIdentities(release), verify.WithExtraArtifacts(arts...))
	if err != nil {
		t.Fatal(err)
	}
	req := verify.AttestationRequest{PredicateType: slsaV1}
	for _, d := range []string{a.String(), b.String()} {
		res, err := v.VerifyAttestations(ctx, d, req)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		var good []verify.Signature
		for _, s := range res.Signatures {
			if s.Verified {
				good = append(good, s)
			} else if !errors.Is(s.Err(), verify.ErrDigestMismatch) {
				t.Errorf("%s: the other image's bundle refused for %v, want a digest mismatch", d, s.Err())
			}
		}
		if len(good) != 1 || good[0].Layout != oci.LayoutFile || good[0].Key != "release" || !strings.Contains(good[0].Manifest, "attestations.jsonl:") {
			t.Fatalf("%s: verified %+v, want one bundle from the file", d, good)
		}
	}
	_, err = v.VerifyAttestations(ctx, other.String(), req)
	if !errors.Is(err, verify.ErrDigestMismatch) || !strings.Contains(err.Error(), "the bundle file holds a signature made for another image") {
		t.Fatalf("an image no bundle names: %v", err)
	}
	// Signatures too: a cosign signature bundle in a file.
	sig, err := w.signers["alice"].Bundle(ctx, "team/app", a.DigestStr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := verify.New(w.client, []verify.Key{{Name: "alice", PublicKey: w.signers["alice"].PublicKey()}}, verify.WithExtraArtifacts(bundleFile(t, sig)...))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := kv.Verify(ctx, a.String(), verify.Request{}); err != nil || res.Signatures[0].Layout != oci.LayoutFile {
		t.Fatalf("signature from a file: %v", err)
	}
	if _, err := kv.Verify(ctx, b.String(), verify.Request{}); !errors.Is(err, verify.ErrDigestMismatch) {
		t.Fatalf("signature from a file for another image: %v", err)
	}
}

// TestEngineArtifacts: a policy decision counts bundles from files.
func TestEngineArtifacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	a := w.reg.PushImage(t, "team/app:a")
	b := w.reg.PushImage(t, "team/app:b")
	sig, err := w.signers["alice"].Bundle(ctx, "team/app", a.DigestStr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"REG/team/**\"\n    signers:\n      - {name: alice, key: alice.pub}\n"
	e := w.engine(t, doc, verify.WithEngineArtifacts(bundleFile(t, sig)...))
	if d := e.Decide(ctx, a.String()); !d.Allowed {
		t.Fatalf("signed in a file: %s: %s", d.Class, d.Reason)
	}
	d := e.Decide(ctx, b.String())
	if d.Allowed || d.Class != verify.ClassInvalid || !strings.Contains(d.Reason, "bundle file holds a signature made for another image") {
		t.Fatalf("another image's signature in a file: %s: %s", d.Class, d.Reason)
	}
	if d := w.engine(t, doc).Decide(ctx, a.String()); d.Allowed {
		t.Fatal("allowed without the file")
	}
}
