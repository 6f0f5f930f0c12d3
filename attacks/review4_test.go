package attacks

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// Recalls reviewed (issue 22 part 4): a recall must not be dodged by
// wrapping the recalled manifest, nor by a key written in another form.
func init() {
	const reason = "CVE-2026-0002 in the runtime"
	register(
		row{name: "recalled platform manifest under a nested index", entry: entryPolicy,
			run: func(w *world) verdict {
				amd, arm := w.pushImg("team/app", "amd64", w.randomImage()), w.pushImg("team/app", "arm64", w.randomImage())
				inner := w.rawIndex("team/app", "inner", w.descriptorOf(arm.String()))
				outer := w.rawIndex("team/app", "v1", w.descriptorOf(amd.String()), w.descriptorOf(inner.String()))
				w.sign("release", outer.String())
				w.recallList(arm.DigestStr(), reason)
				return w.decide(withRecalls(releasePolicy), w.ref("team/app:v1"))
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "revoked key's signature via a receipt made under another policy listed in policyDigests", entry: entryReceipt,
			run: func(w *world) verdict {
				d := w.image("prod/app:v1")
				w.sign("release", d.String())
				pub, _ := keys.ParsePublicKey(w.pubs["release"])
				id, _ := keys.ID(pub)
				w.write("recalls.yaml", []byte("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\nkeys:\n  - {keyId: \""+id+
					"\", revokedFrom: "+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+", reason: release key exposed}\n"))
				// The admission policy names the list; the gate ran an older
				// policy (listed in policyDigests) that did not revoke the key.
				older := strings.Repeat("0", 64)
				e := w.engine(withRecalls(receiptsDoc("  policyDigests: [" + older + "]\n")))
				w.receipt("gate", d, older, vsa{uri: "signet-policy:gate#/images/0"})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassRevoked, "release key exposed")},
		row{name: "revoked key written as an ID in another form (hex, unpadded, cosign's SHA256:)", entry: entryKeys,
			run: func(w *world) verdict {
				for _, id := range []string{
					strings.Repeat("ab", 32),                      // hex of a SHA-256
					"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s", // base64 without padding
					"SHA256:q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s",
				} {
					doc := "apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\nkeys:\n  - {keyId: \"" + id +
						"\", revokedFrom: " + time.Now().UTC().Format(time.RFC3339) + ", reason: leaked}\n"
					if _, err := policy.ParseRecalls([]byte(doc)); err == nil {
						return verdict{allowed: true, reason: "a recall list revoking key " + id + " loads, and matches no key signet computes"}
					}
				}
				return verdict{class: "invalid", reason: "every malformed keyId refused"}
			},
			want: refusedAs("invalid", "every malformed keyId refused")},
	)
}

// Layouts reviewed (issue 22 part 2): a pod cannot name an image in a
// directory on the webhook's host.
func init() {
	register(
		row{name: "pod image names an OCI layout directory on the webhook's host", entry: entryReview,
			run: func(w *world) verdict {
				dir := filepath.Join(w.dir, "layout")
				if _, err := oci.CreateLayout(dir, "", 0); err != nil {
					w.t.Fatal(err)
				}
				return w.review(lenientPolicy, podWith("oci-layout:"+dir+":v1"), false)
			},
			want: refusedAs("denied", "not read here")},
	)
}

// Key windows reviewed: a time from a log or TSA the verifier does not
// trust is the signer's word; the window boundary is exclusive.
func init() {
	untrusted := func(how string) func(w *world) verdict {
		return func(w *world) verdict {
			other := w.timeKit() // another log and TSA, trusted instead
			k := w.timeKit()
			d := w.image("team/app:v1")
			if _, err := k.signers[how].SignImage(w.ctx, d.String(), sign.Request{}); err != nil {
				w.t.Fatal(err)
			}
			doc := strings.ReplaceAll(windowPolicy, "WINDOW", "validUntil: "+time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			return w.decide(doc, d.String(), verify.WithEngineTrustedRoot(other.root))
		}
	}
	register(
		row{name: "key with a window, signature logged in a Rekor v1 log not trusted", entry: entryPolicy,
			run: untrusted("rekor v1"), want: refused(verify.ClassPolicyDenied, "carries no trusted time")},
		row{name: "key with a window, signature timestamped by a TSA not trusted", entry: entryPolicy,
			run: untrusted("tsa"), want: refused(verify.ClassPolicyDenied, "carries no trusted time")},
	)
}

// Recalls reviewed: the recalled manifest named by another digest algorithm.
func init() {
	register(
		row{name: "recalled manifest referenced by its sha512 digest, defaultAction allow", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("other/app:v1")
				m := w.descriptorOf(d.String())
				raw := w.rawManifestOf(d)
				sum := sha512.Sum512(raw)
				alt := d.Context().Digest("sha512:" + hex.EncodeToString(sum[:]))
				if err := remote.Put(alt, rawManifest{raw, m.MediaType}); err != nil {
					w.t.Skipf("the test registry does not take a sha512 manifest: %v", err)
				}
				if _, err := remote.Get(alt); err != nil {
					w.t.Skipf("the test registry does not serve a sha512 manifest: %v", err)
				}
				w.recallList(d.DigestStr(), "CVE-2026-0003")
				return w.decide(withRecalls(lenientPolicy), alt.String())
			},
			want: refused(verify.ClassPolicyDenied, "names manifests by sha256 only")},
	)
}

// rawManifestOf reads d's manifest as stored.
func (w *world) rawManifestOf(d name.Digest) []byte {
	w.t.Helper()
	got, err := remote.Get(d)
	if err != nil {
		w.t.Fatal(err)
	}
	return got.Manifest
}

// signet verify --key --recalls: an index is checked with its platform
// manifests, as under a policy.
func init() {
	const reason = "CVE-2026-0004 in the arm64 build"
	run := func(attestation bool) func(w *world) verdict {
		return func(w *world) verdict {
			amd, arm := w.pushImg("team/app", "amd64", w.randomImage()), w.pushImg("team/app", "arm64", w.randomImage())
			idx := w.rawIndex("team/app", "v1", w.descriptorOf(amd.String()), w.descriptorOf(arm.String()))
			w.sign("release", idx.String())
			w.attest("release", idx.String(), "https://example.com/qa/v1", []byte(`{"ok":true}`))
			w.recallList(arm.DigestStr(), reason)
			pub, _ := keys.ParsePublicKey(w.pubs["release"])
			v, err := verify.New(w.client, []verify.Key{{Name: "release.pub", PublicKey: pub}}, verify.WithRecalls(w.loadRecalls()))
			if err != nil {
				w.t.Fatal(err)
			}
			if attestation {
				_, err = v.VerifyAttestations(w.ctx, w.ref("team/app:v1"), verify.AttestationRequest{PredicateType: "https://example.com/qa/v1"})
			} else {
				_, err = v.Verify(w.ctx, w.ref("team/app:v1"), verify.Request{})
			}
			if errors.Is(err, verify.ErrRecalled) {
				return verdict{class: string(verify.ClassRevoked), reason: err.Error()}
			}
			return verifyVerdict(err)
		}
	}
	register(
		row{name: "recalled platform manifest under its index no rule covers, defaultAction allow, by tag", entry: entryPolicy,
			run: func(w *world) verdict {
				amd, arm := w.pushImg("other/app", "amd64", w.randomImage()), w.pushImg("other/app", "arm64", w.randomImage())
				w.rawIndex("other/app", "v1", w.descriptorOf(amd.String()), w.descriptorOf(arm.String()))
				w.recallList(arm.DigestStr(), reason)
				return w.decide(withRecalls(lenientPolicy), w.ref("other/app:v1"))
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled platform manifest under its index no rule covers, defaultAction allow, by digest", entry: entryPolicy,
			run: func(w *world) verdict {
				amd, arm := w.pushImg("other/app", "amd64", w.randomImage()), w.pushImg("other/app", "arm64", w.randomImage())
				idx := w.rawIndex("other/app", "v1", w.descriptorOf(amd.String()), w.descriptorOf(arm.String()))
				w.recallList(arm.DigestStr(), reason)
				return w.decide(withRecalls(lenientPolicy), idx.String())
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled platform manifest under its index, verify --key --recalls", entry: entryVerify,
			run: run(false), want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled platform manifest under its index, verify-attestation --key --recalls", entry: entryAttestation,
			run: run(true), want: refused(verify.ClassRevoked, reason)},
	)
}

// Key windows on a legacy .sig layer whose entry is from a log the verifier
// does not trust: its integrated time is the signer's word.
func init() {
	register(
		row{name: "key with a window, legacy .sig signature logged in a Rekor v1 log not trusted", entry: entryVerify,
			run: func(w *world) verdict {
				rk, other := rekorv1test.Start(w.t), rekorv1test.Start(w.t)
				d := w.image("team/app:v1")
				w.signLegacy(d, rk)
				tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: other.URL, PublicKey: other.Key.Public(), APIVersion: 1})
				if err != nil {
					w.t.Fatal(err)
				}
				pub, _ := keys.ParsePublicKey(w.pubs["release"])
				v, err := verify.New(w.client, []verify.Key{{Name: "release.pub", PublicKey: pub, ValidUntil: time.Now().Add(time.Hour)}}, verify.WithTrustedRoot(tr))
				if err != nil {
					w.t.Fatal(err)
				}
				_, err = v.Verify(w.ctx, d.String(), verify.Request{})
				return verifyVerdict(err)
			},
			want: refused(verify.ClassInvalid, "carries no trusted time")},
	)
}

// A gate's receipt for an index does not stand in for the recall check of
// its platform manifests.
func init() {
	register(
		row{name: "recalled platform manifest under an index with a gate receipt", entry: entryReceipt,
			run: func(w *world) verdict {
				amd, arm := w.pushImg("prod/app", "amd64", w.randomImage()), w.pushImg("prod/app", "arm64", w.randomImage())
				idx := w.rawIndex("prod/app", "v1", w.descriptorOf(amd.String()), w.descriptorOf(arm.String()))
				w.recallList(arm.DigestStr(), "CVE-2026-0005")
				e := w.engine(withRecalls(receiptsDoc("")))
				w.receipt("gate", idx, e.PolicyHash(), vsa{})
				return onReceipt(w, e, idx.String(), false)
			},
			want: refused(verify.ClassRevoked, "CVE-2026-0005")},
	)
}
