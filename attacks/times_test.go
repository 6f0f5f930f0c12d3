package attacks

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
	"github.com/signet-dev/signet/verify"
)

// timeKit is a scanner key that signs four ways — logged in a Rekor v1
// stand-in (a signed integrated time), logged in a Rekor v2 log (no signed
// time), timestamped by a TSA, and plainly — and the trust to verify them:
// the key in scanner.pub, and a trusted root listing both logs and the TSA.
type timeKit struct {
	signers map[string]*sign.Signer
	root    root.TrustedMaterial
	pub     []byte
}

func (w *world) timeKit() *timeKit {
	w.t.Helper()
	k := &timeKit{signers: map[string]*sign.Signer{}}
	rekor := rekorv1test.Start(w.t)
	v2, err := logserver.Open(w.ctx, w.t.TempDir(), "127.0.0.1")
	if err != nil {
		w.t.Fatal(err)
	}
	srv := httptest.NewServer(v2.Handler())
	w.t.Cleanup(func() { srv.Close(); v2.Close(context.Background()) })
	ss := sigstoretest.Start(w.t)
	priv, _ := keys.Generate(keys.ECDSAP256)
	sv, _ := keys.SignerVerifier(priv)
	v1w, _ := tlog.Service{URL: rekor.URL, APIVersion: 1}.Writer(0)
	v2w, _ := tlog.Service{URL: srv.URL, APIVersion: 2}.Writer(0)
	for name, opts := range map[string][]sign.Option{
		"rekor v1": {sign.WithTransparencyLog(v1w)}, "rekor v2": {sign.WithTransparencyLog(v2w)}, "none": nil,
		"tsa": {sign.WithTimestampAuthority(sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: ss.TSAURL}))},
	} {
		if k.signers[name], err = sign.New(sv, w.client, opts...); err != nil {
			w.t.Fatal(err)
		}
	}
	logs, err := tlog.TrustedRoot(tlog.LogInfo{URL: rekor.URL, PublicKey: rekor.Key.Public(), APIVersion: 1},
		tlog.LogInfo{URL: srv.URL, PublicKey: v2.PublicKey(), APIVersion: 2})
	if err != nil {
		w.t.Fatal(err)
	}
	tsa, err := ss.TrustedRoot()
	if err != nil {
		w.t.Fatal(err)
	}
	k.root = root.TrustedMaterialCollection{logs, tsa}
	k.pub, _ = keys.PublicKeyPEM(priv.Public())
	w.write("scanner.pub", k.pub)
	return k
}

// verifier trusts the scanner key and the kit's logs and TSA.
func (k *timeKit) verifier(w *world) *verify.Verifier {
	w.t.Helper()
	pub, _ := keys.ParsePublicKey(k.pub)
	v, err := verify.New(w.client, []verify.Key{{Name: "scanner.pub", PublicKey: pub}}, verify.WithTrustedRoot(k.root))
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// scan signs, with the kit's signer how, a vulnerability scan of image that
// says it finished at scanned, changes the bundle with mutate (if given),
// and attaches it.
func (k *timeKit) scan(w *world, how, image string, scanned time.Time, mutate func(*protobundle.Bundle)) {
	w.t.Helper()
	b, _, err := k.signers[how].SignStatement(w.ctx, scanStatement(w, image, scanned))
	if err != nil {
		w.t.Fatal(err)
	}
	if mutate != nil {
		b = editBundle(w, b, mutate)
	}
	w.attachBundle(image, b, attest.PredicateVuln)
}

// scanStatement is a vulnerability scan of image (a digest reference)
// finished at scanned.
func scanStatement(w *world, image string, scanned time.Time) []byte {
	w.t.Helper()
	d := w.digestOf(image)
	pred, _ := json.Marshal(map[string]any{"scanner": map[string]any{"uri": "pkg:github/aquasecurity/trivy", "result": map[string]any{"summary": map[string]any{"critical": 0}}},
		"metadata": map[string]any{"scanStartedOn": scanned.UTC().Format(time.RFC3339), "scanFinishedOn": scanned.UTC().Format(time.RFC3339)}})
	st, err := attest.NewStatement("team/app", d, attest.PredicateVuln, pred)
	if err != nil {
		w.t.Fatal(err)
	}
	raw, _ := json.Marshal(st)
	return raw
}

func (w *world) digestOf(image string) string {
	w.t.Helper()
	t, err := w.client.Resolve(w.ctx, image)
	if err != nil {
		w.t.Fatal(err)
	}
	return t.Digest.DigestStr()
}

// editBundle changes a bundle through its protobuf form.
func editBundle(w *world, b []byte, mutate func(*protobundle.Bundle)) []byte {
	w.t.Helper()
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		w.t.Fatal(err)
	}
	mutate(&pb)
	out, err := protojson.Marshal(&pb)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// scanAge verifies the scan with a one-hour maxAge at now+clock.
func (k *timeKit) scanAge(w *world, image string, clock time.Duration, mode verify.TlogMode) verdict {
	w.t.Helper()
	_, err := k.verifier(w).VerifyAttestations(w.ctx, image, verify.AttestationRequest{PredicateType: attest.PredicateVuln,
		MaxAge: time.Hour, TransparencyLog: mode, Clock: func() time.Time { return time.Now().Add(clock) }})
	return verifyVerdict(err)
}

// scanPolicy: signed by release, with a scan by the scanner key at most an hour old.
const scanPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/**"
    signers:
      - {name: release, key: release.pub}
      - {name: scanner, key: scanner.pub}
    attestations:
      - {name: scan, predicateType: vuln, signers: [scanner], maxAge: 1h}
`

var year2099 = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

// Times: an attestation's age is measured from a time someone other than
// its signer vouches for, and no time in the future keeps it young.
func init() {
	scanned := func(how string, at time.Time, clock time.Duration, mode verify.TlogMode, mutate func(*protobundle.Bundle)) func(w *world) verdict {
		return func(w *world) verdict {
			k := w.timeKit()
			d := w.image("team/app:v1")
			k.scan(w, how, d.String(), at, mutate)
			return k.scanAge(w, d.String(), clock, mode)
		}
	}
	// A genuine Rekor v1 entry for another signature, swapped in.
	borrowEntry := func(w *world, k *timeKit) func(*protobundle.Bundle) {
		other := w.image("team/other:v1")
		b, _, err := k.signers["rekor v1"].SignStatement(w.ctx, scanStatement(w, other.String(), time.Now()))
		if err != nil {
			w.t.Fatal(err)
		}
		var donor protobundle.Bundle
		if err := protojson.Unmarshal(b, &donor); err != nil {
			w.t.Fatal(err)
		}
		return func(pb *protobundle.Bundle) {
			pb.VerificationMaterial.TlogEntries = donor.VerificationMaterial.TlogEntries
		}
	}
	register(
		row{name: "scan dated 2099, no trusted time in the bundle", entry: entryAttestation,
			run: scanned("none", year2099, 0, "", nil), want: refused(verify.ClassInvalid, "attestation dated in the future")},
		row{name: "scan dated 2099, logged in Rekor v2 (no signed time)", entry: entryAttestation,
			run: scanned("rekor v2", year2099, 0, "", nil), want: refused(verify.ClassInvalid, "no trusted time in the bundle")},
		row{name: "scan dated 2099, logged in Rekor v1", entry: entryAttestation,
			run: scanned("rekor v1", year2099, 0, "", nil), want: refused(verify.ClassInvalid, "after the transparency log's integrated time")},
		row{name: "scan dated 2099, timestamped by a trusted TSA", entry: entryAttestation,
			run: scanned("tsa", year2099, 0, "", nil), want: refused(verify.ClassInvalid, "after the timestamp authority's time")},
		row{name: "scan dated an hour after it was logged, checked two hours later", entry: entryAttestation,
			run: scanned("rekor v1", time.Now().Add(time.Hour), 2*time.Hour, "", nil), want: refused(verify.ClassInvalid, "after the transparency log's integrated time")},
		row{name: "scan dated 10 minutes ahead, no trusted time", entry: entryAttestation,
			run: scanned("none", time.Now().Add(10*time.Minute), 0, "", nil), want: refused(verify.ClassInvalid, "clock skew")},
		row{name: "scan logged two hours ago, its own date kept within skew of the log time", entry: entryAttestation,
			run: scanned("rekor v1", time.Now().Add(3*time.Minute), 2*time.Hour, "", nil), want: refused(verify.ClassInvalid, "attestation too old")},
		row{name: "scan dated 2099, Rekor v1 entry of another signature (log skipped) lends it no time", entry: entryAttestation,
			run: func(w *world) verdict {
				k := w.timeKit()
				d := w.image("team/app:v1")
				k.scan(w, "none", d.String(), year2099, borrowEntry(w, k))
				return k.scanAge(w, d.String(), 0, verify.TlogSkip)
			},
			want: refused(verify.ClassInvalid, "no trusted time in the bundle")},
		row{name: "scan dated 2099, Rekor v1 entry without its signed timestamp, integrated time moved ahead", entry: entryAttestation,
			run: scanned("rekor v1", year2099, 0, verify.TlogSkip, func(pb *protobundle.Bundle) {
				e := pb.VerificationMaterial.TlogEntries[0]
				e.InclusionPromise, e.IntegratedTime = nil, year2099.Unix()
			}),
			want: refused(verify.ClassInvalid, "no trusted time in the bundle")},
		row{name: "scan dated 2099, by policy", entry: entryPolicy,
			run: func(w *world) verdict {
				k := w.timeKit()
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				k.scan(w, "none", d.String(), year2099, nil)
				return w.decide(scanPolicy, d.String())
			},
			want: refused(verify.ClassPolicyDenied, "attestation dated in the future")},
		row{name: "scan dated 2099, logged in Rekor v1, by policy", entry: entryPolicy,
			run: func(w *world) verdict {
				k := w.timeKit()
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				k.scan(w, "rekor v1", d.String(), year2099, nil)
				return w.decide(scanPolicy, d.String(), verify.WithEngineTrustedRoot(k.root))
			},
			want: refused(verify.ClassPolicyDenied, "after the transparency log's integrated time")},

		row{name: "control: scan logged in Rekor v1, checked 30 minutes later", entry: entryAttestation,
			run: scanned("rekor v1", time.Now(), 30*time.Minute, "", nil), want: allowed()},
		row{name: "control: scan timestamped by a TSA, checked 30 minutes later", entry: entryAttestation,
			run: scanned("tsa", time.Now(), 30*time.Minute, "", nil), want: allowed()},
		row{name: "control: scan logged in Rekor v2, fresh", entry: entryAttestation,
			run: scanned("rekor v2", time.Now().Add(-10*time.Minute), 0, "", nil), want: allowed()},
		row{name: "control: scan with no trusted time, 3 minutes ahead (within clock skew)", entry: entryAttestation,
			run: scanned("none", time.Now().Add(3*time.Minute), 0, "", nil), want: allowed()},
		row{name: "control: fresh scan logged in Rekor v1, by policy", entry: entryPolicy,
			run: func(w *world) verdict {
				k := w.timeKit()
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				k.scan(w, "rekor v1", d.String(), time.Now(), nil)
				return w.decide(scanPolicy, d.String(), verify.WithEngineTrustedRoot(k.root))
			},
			want: allowed()},
	)

	// signet attest: a report dated in the future is refused before signing.
	attestReport := func(predicate func(w *world) attest.Request) func(w *world) verdict {
		return func(w *world) verdict {
			d := w.image("team/app:v1")
			_, err := attest.New(w.signers["release"], w.client).AttestImage(w.ctx, d.String(), predicate(w))
			if err != nil {
				return verdict{class: "refused", reason: err.Error()}
			}
			return verdict{allowed: true}
		}
	}
	trivy := func(created time.Time) []byte {
		return []byte(`{"SchemaVersion":2,"CreatedAt":"` + created.UTC().Format(time.RFC3339) + `","ArtifactName":"team/app","Results":[]}`)
	}
	register(
		row{name: "attest: Trivy report dated 2099", entry: entryAttest,
			run:  attestReport(func(*world) attest.Request { return attest.Request{Type: "vuln", Predicate: trivy(year2099)} }),
			want: refusedAs("refused", "predicate dated in the future")},
		row{name: "attest: Trivy report 20 minutes ahead", entry: entryAttest,
			run: attestReport(func(*world) attest.Request {
				return attest.Request{Type: "vuln", Predicate: trivy(time.Now().Add(20 * time.Minute))}
			}),
			want: refusedAs("refused", "clock skew")},
		row{name: "attest: statement whose predicate is dated 2099", entry: entryAttest,
			run: attestReport(func(w *world) attest.Request {
				return attest.Request{Statement: scanStatement(w, w.ref("team/app:v1"), year2099)}
			}),
			want: refusedAs("refused", "predicate dated in the future")},
		row{name: "control: attest a Trivy report made now", entry: entryAttest,
			run:  attestReport(func(*world) attest.Request { return attest.Request{Type: "vuln", Predicate: trivy(time.Now())} }),
			want: allowed()},
	)
}

// Subjects and key hints: what a signature reports comes from what was
// verified, never from a part of the bundle that was not.
func init() {
	// twoSubjects signs, with release, a statement of predicate type pt
	// naming first and then second (name, digest, annotations).
	type subj struct {
		Name        string            `json:"name"`
		Digest      map[string]string `json:"digest"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	of := func(name, digest string, ann map[string]string) subj {
		return subj{Name: name, Digest: map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}, Annotations: ann}
	}
	signSubjects := func(w *world, image, pt string, subjects ...subj) {
		raw, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": pt, "predicate": map[string]any{"approved": true}, "subject": subjects})
		b, _, err := w.signers["release"].SignStatement(w.ctx, raw)
		if err != nil {
			w.t.Fatal(err)
		}
		w.attachBundle(image, b, pt)
	}
	prod, dev := map[string]string{"env": "prod"}, map[string]string{"env": "dev"}
	wantProd := verify.Request{Annotations: prod}
	cond, _ := verify.CompileCondition("predicate.approved == true")
	review := verify.AttestationRequest{PredicateType: reviewType, Condition: cond}
	register(
		row{name: "image signature naming another image first, with the annotations the policy wants", entry: entryVerify,
			run: func(w *world) verdict {
				other, d := w.image("team/other:v1"), w.image("team/app:v1")
				signSubjects(w, d.String(), oci.CosignSignPredicateType, of("team/other", other.DigestStr(), prod), of("team/app", d.DigestStr(), dev))
				return w.verify(d.String(), wantProd)
			},
			want: refused(verify.ClassInvalid, "names 2 subjects")},
		row{name: "image signature naming this image, then another", entry: entryVerify,
			run: func(w *world) verdict {
				other, d := w.image("team/other:v1"), w.image("team/app:v1")
				signSubjects(w, d.String(), oci.CosignSignPredicateType, of("team/app", d.DigestStr(), prod), of("team/other", other.DigestStr(), prod))
				return w.verify(d.String(), wantProd)
			},
			want: refused(verify.ClassInvalid, "names 2 subjects")},
		row{name: "image signature naming this image twice, with different annotations", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				signSubjects(w, d.String(), oci.CosignSignPredicateType, of("team/app", d.DigestStr(), dev), of("team/app", d.DigestStr(), prod))
				return w.verify(d.String(), wantProd)
			},
			want: refused(verify.ClassInvalid, "names 2 subjects")},
		row{name: "control: image signature naming only this image, with the annotations", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				signSubjects(w, d.String(), oci.CosignSignPredicateType, of("team/app", d.DigestStr(), prod))
				return w.verify(d.String(), wantProd)
			},
			want: allowed()},
		row{name: "attestation with two subjects reports the other image's name", entry: entryAttestation,
			run: func(w *world) verdict {
				other, d := w.image("evil/other:v1"), w.image("team/app:v1")
				signSubjects(w, d.String(), reviewType, of("evil/other", other.DigestStr(), prod), of("team/app", d.DigestStr(), dev))
				res, err := w.verifier().VerifyAttestations(w.ctx, d.String(), review)
				if err != nil {
					return verifyVerdict(err)
				}
				s := res.Signatures[0]
				if s.SignedName != "team/app" || s.SignedDigest != d.DigestStr() || s.Annotations["env"] != "dev" {
					return verdict{allowed: true} // the report took another subject's word
				}
				return verdict{class: "reported-as-matched", reason: "signed for " + s.SignedName}
			},
			want: refusedAs("reported-as-matched", "signed for team/app")},
		row{name: "attestation whose subjects all name other images", entry: entryAttestation,
			run: func(w *world) verdict {
				a, b, d := w.image("team/a:v1"), w.image("team/b:v1"), w.image("team/app:v1")
				signSubjects(w, d.String(), reviewType, of("team/a", a.DigestStr(), nil), of("team/b", b.DigestStr(), nil))
				return w.verifyAttestation(d.String(), review)
			},
			want: refused(verify.ClassInvalid, "another image digest")},
		row{name: "control: attestation with two subjects, the second naming this image", entry: entryAttestation,
			run: func(w *world) verdict {
				other, d := w.image("team/other:v1"), w.image("team/app:v1")
				signSubjects(w, d.String(), reviewType, of("team/other", other.DigestStr(), nil), of("team/app", d.DigestStr(), nil))
				return w.verifyAttestation(d.String(), review)
			},
			want: allowed()},
	)

	// claimHint is a bundle by the attacker whose key hint names release's key.
	claimHint := func(w *world, image string) {
		pub, _ := keys.ParsePublicKey(w.pubs["release"])
		releaseID, _ := keys.ID(pub)
		b := editBundle(w, w.bundle("attacker", "team/app", w.digestOf(image), nil), func(pb *protobundle.Bundle) {
			pb.VerificationMaterial.Content.(*protobundle.VerificationMaterial_PublicKey).PublicKey.Hint = releaseID
		})
		w.attachBundle(image, b, oci.CosignSignPredicateType)
	}
	register(
		row{name: "attacker's bundle claiming the trusted key's hint: the refusal names no key", entry: entryVerify,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				claimHint(w, d.String())
				res, err := w.verifier().Verify(w.ctx, d.String(), verify.Request{})
				if res != nil && len(res.Signatures) > 0 && (res.Signatures[0].KeyID != "" || res.Signatures[0].Key != "") {
					return verdict{allowed: true, reason: "refused signature reported with key " + res.Signatures[0].KeyID}
				}
				return verifyVerdict(err)
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
		row{name: "attacker's bundle claiming the trusted key's hint: policy evidence names no key", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				claimHint(w, d.String())
				dec := w.engine(releasePolicy).Decide(w.ctx, d.String())
				for _, c := range dec.Checks {
					for _, ev := range c.Evidence {
						if ev.KeyID != "" || ev.Signer != "" {
							return verdict{allowed: true, reason: "evidence names key " + ev.KeyID}
						}
					}
				}
				return decision(dec)
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
		row{name: "attacker's bundle claiming the trusted key's hint: inspect shows a claim, not a signer", entry: entryInspect,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				claimHint(w, d.String())
				rep, err := inspect.Inspect(w.ctx, w.client, d.String(), inspect.Options{})
				if err != nil {
					w.t.Fatal(err)
				}
				var text bytes.Buffer
				inspect.WriteText(&text, rep, inspect.TextOptions{})
				js, _ := json.Marshal(rep)
				if strings.Contains(string(js), `"keyId"`) || !strings.Contains(text.String(), "(unverified)") {
					return verdict{allowed: true, reason: "shown as the signer: " + text.String()}
				}
				return verdict{class: "claim", reason: rep.Subject.Artifacts[0].Signer.Description}
			},
			want: refusedAs("claim", "claims key hint")},
	)
}

// Peer advisories: attacks published against cosign and sigstore-go.
func init() {
	keyInCertField := func(chain bool) func(w *world) verdict {
		return func(w *world) verdict {
			d := w.image("team/app:v1")
			pub, _ := keys.ParsePublicKey(w.pubs["release"])
			der, _ := x509.MarshalPKIXPublicKey(pub)
			b := editBundle(w, w.bundle("release", "team/app", d.DigestStr(), nil), func(pb *protobundle.Bundle) {
				if chain {
					pb.MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.2"
					pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
						Certificates: []*protocommon.X509Certificate{{RawBytes: der}}}}
					return
				}
				pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: der}}
			})
			w.attachBundle(d.String(), b, oci.CosignSignPredicateType)
			return w.verify(d.String(), verify.Request{})
		}
	}
	// logged signs the image with the kit's signer how and swaps in the log
	// entries of another signature (by donor, of donorImage or this image).
	logged := func(how, donor string, otherImage bool, mode verify.TlogMode, dup bool) func(w *world) verdict {
		return func(w *world) verdict {
			k := w.timeKit()
			d := w.image("team/app:v1")
			b := must(w)(k.signers[how].Bundle(w.ctx, "team/app", d.DigestStr(), nil))
			if donor != "" {
				digest := d.DigestStr()
				if otherImage {
					digest = w.image("team/other:v1").DigestStr()
				}
				entries := editBundleEntries(w, must(w)(k.signers[donor].Bundle(w.ctx, "team/app", digest, nil)))
				b = editBundle(w, b, func(pb *protobundle.Bundle) { pb.VerificationMaterial.TlogEntries = entries })
			}
			if dup {
				b = editBundle(w, b, func(pb *protobundle.Bundle) {
					pb.VerificationMaterial.TlogEntries = append(pb.VerificationMaterial.TlogEntries, pb.VerificationMaterial.TlogEntries[0])
				})
			}
			w.attachBundle(d.String(), b, oci.CosignSignPredicateType)
			_, err := k.verifier(w).Verify(w.ctx, d.String(), verify.Request{TransparencyLog: mode})
			return verifyVerdict(err)
		}
	}
	register(
		row{name: "public key in the bundle's certificate field (cosign GHSA-fx35-mq7g-6g98)", entry: entryVerify,
			run: keyInCertField(false), want: refused(verify.ClassInvalid, "a key in the certificate field is refused")},
		row{name: "public key as a v0.2 bundle's certificate chain (cosign GHSA-fx35-mq7g-6g98)", entry: entryVerify,
			run: keyInCertField(true), want: refused(verify.ClassInvalid, "a key in the certificate field is refused")},
	)
	for _, mode := range []verify.TlogMode{verify.TlogRequired, verify.TlogOptional} {
		for _, v := range []string{"rekor v1", "rekor v2"} {
			suffix := fmt.Sprintf(" (%s, log %s)", v, mode)
			register(
				row{name: "log entry of another signature of the same statement (cosign GHSA-whqx-f9j3-ch6m)" + suffix, entry: entryVerify,
					run: logged(v, v, false, mode, false), want: refused(verify.ClassInvalid, "transparency log check failed")},
				row{name: "log entry of the same key's signature of another image (cosign GHSA-whqx-f9j3-ch6m)" + suffix, entry: entryVerify,
					run: logged(v, v, true, mode, false), want: refused(verify.ClassInvalid, "transparency log check failed")},
				row{name: "two copies of one log entry (sigstore-go GHSA-9vcr-p3rj-q5q6)" + suffix, entry: entryVerify,
					run: logged(v, "", false, mode, true), want: refused(verify.ClassInvalid, "transparency log check failed")},
				row{name: "control: logged signature" + suffix, entry: entryVerify,
					run: logged(v, "", false, mode, false), want: allowed()},
			)
		}
	}
}

func must(w *world) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		w.t.Helper()
		if err != nil {
			w.t.Fatal(err)
		}
		return b
	}
}

// editBundleEntries returns a bundle's log entries.
func editBundleEntries(w *world, b []byte) []*protorekor.TransparencyLogEntry {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		w.t.Fatal(err)
	}
	return pb.VerificationMaterial.TlogEntries
}
