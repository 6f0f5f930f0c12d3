package verify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// internals are fragments of library wording that must never reach a
// refusal a person reads: byte slices, sigstore-go's thresholds and
// "failed to" chains, Go type and package names, fmt's bad verbs, protojson
// and encoding/json prefixes, and line breaks that split a report line.
var internals = []string{"[", "]", "Found:", "Expected", "threshold", "*bundle", "%!", "proto", "failed to",
	"could not verify", "Go struct", "json:", "x509:", "sgverify", "envelope:", "\n"}

// TestRefusalMessages holds each reason a signature can be refused for to a
// sentence a person can act on: it names the class (errors.Is), says the
// expected thing, and carries none of the libraries' internals.
func TestRefusalMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true, keys.ECDSAP256)
	lf := newLogFixture(t)
	tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: lf.url, PublicKey: lf.log.PublicKey(), APIVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := keys.Generate(keys.ECDSAP256)
	otherID, _ := keys.ID(otherKey.Public())
	otherWithLog, err := verify.New(lf.client, []verify.Key{{Name: "other.pub", PublicKey: otherKey.Public()}}, verify.WithTrustedRoot(tr))
	if err != nil {
		t.Fatal(err)
	}
	lpub, _ := lf.sv.PublicKey()
	releaseID, _ := keys.ID(lpub)
	other, err := verify.New(f.client, []verify.Key{{Name: "other.pub", PublicKey: otherKey.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	fReleaseID := trustedID(t, f)
	_, rogueURL := startLog(t)
	rogue, _ := tlog.Service{URL: rogueURL, APIVersion: 2}.Writer(0)
	vs, _ := ca.NewVirtualSigstore()
	rogueCA, _ := ca.NewVirtualSigstore()
	const who, iss = "dev@example.com", "https://accounts.example.com"
	keyless, _ := verify.New(f.client, nil, verify.WithTrustedRoot(noCT{vs}), verify.WithIdentities(verify.Identity{Name: "dev", Subject: who, Issuer: iss}))
	ann := map[string]string{oci.AnnotationBundleContent: "dsse-envelope", oci.AnnotationPredicateType: oci.CosignSignPredicateType}
	logged := func(t *testing.T, d string) []byte { return must(lf.signer.Bundle(ctx, "app", d, nil)) }

	type setup struct {
		verifier *verify.Verifier
		bundle   func(t *testing.T, digest string) []byte // attached as a referrer, or
		attach   func(t *testing.T, target *oci.Target)   // anything else
		req      verify.Request
	}
	cases := []struct {
		name  string
		setup setup
		class error
		want  []string
	}{
		{"wrong key, logged", setup{verifier: otherWithLog, bundle: logged},
			verify.ErrBadSignature, []string{"signed by a key that is not among the trusted keys (the signature claims key id " + releaseID + ", unverified; trusted: other.pub = " + otherID + ")"}},
		{"wrong key, log required", setup{verifier: otherWithLog, bundle: logged, req: verify.Request{TransparencyLog: verify.TlogRequired}},
			verify.ErrBadSignature, []string{"signed by a key that is not among the trusted keys", "claims key id " + releaseID}},
		{"wrong key, log skipped", setup{verifier: otherWithLog, bundle: logged, req: verify.Request{TransparencyLog: verify.TlogSkip}},
			verify.ErrBadSignature, []string{"signed by a key that is not among the trusted keys", "trusted: other.pub = " + otherID}},
		{"wrong key, not logged", setup{verifier: other, bundle: func(t *testing.T, d string) []byte { return must(f.signer.Bundle(ctx, "app", d, nil)) }},
			verify.ErrBadSignature, []string{"signed by a key that is not among the trusted keys", "claims key id " + fReleaseID}},
		{"tampered payload", setup{verifier: f.verifier, bundle: func(t *testing.T, d string) []byte {
			return tamperPayload(t, must(f.signer.Bundle(ctx, "app", "sha256:"+hex64("cd"), nil)), "sha256:"+hex64("cd"), d)
		}}, verify.ErrBadSignature, []string{"names the trusted key release.pub (key id " + fReleaseID + ") but does not verify with it", "altered after signing"}},
		{"signature copied from another image", setup{verifier: f.verifier, bundle: func(t *testing.T, d string) []byte {
			return must(f.signer.Bundle(ctx, "app", "sha256:"+hex64("cd"), nil))
		}}, verify.ErrDigestMismatch, []string{"signed payload names sha256:" + hex64("cd") + ", not sha256:", "made for another image"}},
		{"log entry of another signature", setup{verifier: lf.verifier, req: verify.Request{TransparencyLog: verify.TlogRequired}, bundle: func(t *testing.T, d string) []byte {
			first := parse(t, logged(t, d))
			second := parse(t, logged(t, d))
			second.VerificationMaterial.TlogEntries = first.VerificationMaterial.TlogEntries
			return marshal(t, second)
		}}, verify.ErrTransparencyLog, []string{"transparency log check failed: the transparency-log entry does not prove inclusion in the log's checkpoint"}},
		{"inclusion proof for another entry", setup{verifier: lf.verifier, bundle: func(t *testing.T, d string) []byte {
			b := parse(t, logged(t, d))
			other := parse(t, logged(t, "sha256:"+hex64("ab")))
			b.VerificationMaterial.TlogEntries[0].InclusionProof = other.VerificationMaterial.TlogEntries[0].InclusionProof
			b.VerificationMaterial.TlogEntries[0].LogIndex = other.VerificationMaterial.TlogEntries[0].LogIndex
			return marshal(t, b)
		}}, verify.ErrTransparencyLog, []string{"does not prove inclusion in the log's checkpoint"}},
		{"tampered checkpoint", setup{verifier: lf.verifier, bundle: func(t *testing.T, d string) []byte {
			b := parse(t, logged(t, d))
			cp := b.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			cp.Envelope = tamperLine(cp.Envelope, 1)
			return marshal(t, b)
		}}, verify.ErrTransparencyLog, []string{"checkpoint in the bundle is not signed by the trusted log's key"}},
		{"checkpoint signed by another log", setup{verifier: lf.verifier, bundle: func(t *testing.T, d string) []byte {
			rs, err := sign.New(lf.sv, lf.client, sign.WithTransparencyLog(rogue))
			if err != nil {
				t.Fatal(err)
			}
			b := parse(t, must(rs.Bundle(ctx, "app", d, nil)))
			b.VerificationMaterial.TlogEntries[0].LogId.KeyId = lf.log.LogID()
			return marshal(t, b)
		}}, verify.ErrTransparencyLog, []string{"not signed by the trusted log's key"}},
		{"missing log entry", setup{verifier: lf.verifier, req: verify.Request{TransparencyLog: verify.TlogRequired}, bundle: func(t *testing.T, d string) []byte {
			b := parse(t, logged(t, d))
			b.VerificationMaterial.TlogEntries = nil
			return marshal(t, b)
		}}, verify.ErrTransparencyLog, []string{"a log entry is required and the bundle has none"}},
		{"keyless identity mismatch", setup{verifier: keyless, bundle: func(t *testing.T, d string) []byte {
			return keylessBundle(t, vs, "mallory@example.org", iss, d, true)
		}}, verify.ErrIdentityMismatch, []string{"expected subject dev@example.com, issuer " + iss + "; found subject mallory@example.org"}},
		{"keyless certificate and timestamp from another Sigstore", setup{verifier: keyless, bundle: func(t *testing.T, d string) []byte {
			return keylessBundle(t, rogueCA, who, iss, d, true)
		}}, verify.ErrBadSignature, []string{"signed keylessly (subject dev@example.com", "timestamp authority of the trusted root"}},
		{"keyless without a trusted time", setup{verifier: keyless, bundle: func(t *testing.T, d string) []byte {
			return keylessBundle(t, vs, who, iss, d, false)
		}}, verify.ErrNoTrustedTime, []string{"neither an RFC 3161 timestamp nor a log entry"}},
		{"keyless, only keys trusted", setup{verifier: f.verifier, bundle: func(t *testing.T, d string) []byte {
			return keylessBundle(t, vs, who, iss, d, true)
		}}, verify.ErrBadSignature, []string{"signed keylessly (subject dev@example.com", "no keyless identities are trusted here"}},
		{"truncated bundle", setup{verifier: f.verifier, bundle: func(t *testing.T, d string) []byte {
			b := must(f.signer.Bundle(ctx, "app", d, nil))
			return b[:len(b)/2]
		}}, verify.ErrMalformed, []string{"reading the Sigstore bundle: it is not valid JSON"}},
		{"JSON that is not a bundle", setup{verifier: f.verifier, bundle: func(t *testing.T, d string) []byte {
			return []byte(`{"mediaType": 5}`)
		}}, verify.ErrMalformed, []string{"it is JSON but not a Sigstore bundle"}},
		{"statement of the wrong shape", setup{verifier: f.verifier, bundle: func(t *testing.T, d string) []byte {
			b, _, err := f.signer.SignStatement(ctx, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}}, verify.ErrMalformed, []string{"not an in-toto statement: the field subject is a JSON string, where an array is expected"}},
		{"annotation mismatch", setup{verifier: f.verifier, req: verify.Request{Annotations: map[string]string{"env": "prod"}}, bundle: func(t *testing.T, d string) []byte {
			return must(f.signer.Bundle(ctx, "app", d, map[string]string{"env": "dev"}))
		}}, verify.ErrAnnotationMismatch, []string{`env is "dev", want "prod"`}},
		{"legacy signature by another key", setup{verifier: other, attach: func(t *testing.T, target *oci.Target) {
			if _, err := f.signer.SignImage(ctx, target.Digest.String(), sign.Request{Layout: sign.LayoutLegacy}); err != nil {
				t.Fatal(err)
			}
		}}, verify.ErrBadSignature, []string{"signed by a key that is not among the trusted keys, or altered after signing (the signature names no key id; trusted: other.pub = " + otherID + ")"}},
		{"legacy payload of the wrong shape", setup{verifier: lf.verifier, attach: func(t *testing.T, target *oci.Target) {
			payload := []byte(`{"critical": "x"}`)
			sig, err := lf.sv.SignMessage(bytes.NewReader(payload))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lf.client.AttachLegacySignature(ctx, target, payload, base64.StdEncoding.EncodeToString(sig)); err != nil {
				t.Fatal(err)
			}
		}}, verify.ErrMalformed, []string{"not a simple-signing payload: the field critical is a JSON string, where an object is expected"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := f.reg
			if tc.setup.verifier == lf.verifier || tc.setup.verifier == otherWithLog {
				reg = lf.reg
			}
			d := reg.PushImage(t, "app:msg"+string(rune('a'+i)))
			target, err := f.client.Resolve(ctx, d.String())
			if err != nil {
				t.Fatal(err)
			}
			if tc.setup.bundle != nil {
				attach(t, &fixture{client: f.client}, target, tc.setup.bundle(t, d.DigestStr()), ann)
			} else {
				tc.setup.attach(t, target)
			}
			res, err := tc.setup.verifier.Verify(ctx, d.String(), tc.setup.req)
			if err == nil || res == nil || len(res.Signatures) != 1 {
				t.Fatalf("want one refused signature, got %v, %+v", err, res)
			}
			reason := res.Signatures[0].Err()
			if !errors.Is(reason, tc.class) || !errors.Is(err, tc.class) {
				t.Fatalf("refused as %v, want %v", reason, tc.class)
			}
			if tc.class == verify.ErrBadSignature && errors.Is(reason, verify.ErrTransparencyLog) {
				t.Fatalf("a bad signature reads as a log failure: %v", reason)
			}
			t.Logf("refused: %s", reason)
			for _, w := range tc.want {
				if !strings.Contains(reason.Error(), w) {
					t.Errorf("reason %q\ndoes not say %q", reason, w)
				}
			}
			for _, text := range []string{reason.Error(), err.Error(), res.Signatures[0].Error} {
				for _, bad := range internals {
					if strings.Contains(text, bad) {
						t.Errorf("message carries %q, a library's internals: %s", bad, text)
					}
				}
			}
			for _, c := range res.Signatures[0].Checks {
				for _, bad := range internals {
					if strings.Contains(c.Detail, bad) {
						t.Errorf("check %s carries %q: %s", c.Name, bad, c.Detail)
					}
				}
			}
		})
	}
}

// trustedID is the key id of the key f's signer signs with, as f's
// verifier reports it.
func trustedID(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := context.Background()
	d := f.reg.PushImage(t, "app:keyid")
	if _, err := f.signer.SignImage(ctx, d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	res, err := f.verifier.Verify(ctx, d.String(), verify.Request{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Signatures[0].KeyID
}

// TestAttestationRefusalSaysAttestation: a failed attestation check speaks
// of attestations, not signatures, and keeps the classes callers branch on.
func TestAttestationRefusalSaysAttestation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true, keys.ECDSAP256)
	const pt = "https://example.com/review/v1"
	d := f.reg.PushImage(t, "app:reviewed")
	attachStatement(t, f.signer, f.client, d.String(), pt, statementJSON(t, pt, map[string]any{"ok": false}, subjectOf("app", d.DigestStr(), nil)))
	cond, err := verify.CompileCondition("predicate.ok")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.verifier.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: pt, Condition: cond})
	if !errors.Is(err, verify.ErrNoValidSignature) || !errors.Is(err, verify.ErrConditionFalse) ||
		!strings.Contains(err.Error(), "no valid attestation of type "+pt+": condition is false: predicate.ok") {
		t.Fatalf("got %v, want no valid attestation of type %s: condition is false", err, pt)
	}
	_, err = f.verifier.VerifyAttestations(ctx, d.String(), verify.AttestationRequest{PredicateType: "https://example.com/other/v1"})
	if !errors.Is(err, verify.ErrNoAttestations) || !errors.Is(err, verify.ErrNoSignatures) || strings.Contains(err.Error(), "signature") {
		t.Fatalf("got %v, want no attestations of this type found", err)
	}
}
