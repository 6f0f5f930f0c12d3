package inspect

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// annotationLegacyTimestamp is where cosign v2 keeps an RFC 3161 timestamp
// on a legacy .sig layer.
const annotationLegacyTimestamp = "dev.sigstore.cosign/rfc3161timestamp"

// reader turns discovered artifacts into report nodes.
type reader struct {
	trust   root.TrustedMaterial // names logs by key id; may be nil
	now     time.Time
	recalls []*policy.Recalls
}

func (r *reader) artifact(a oci.Artifact) *Artifact {
	out := &Artifact{Kind: KindOther, Layout: string(a.Layout), Manifest: a.Manifest.String(), Format: string(a.Kind),
		ArtifactType: a.ArtifactType, PredicateType: a.PredicateType()}
	if a.Err != nil {
		out.Unreadable = a.Err.Error()
		out.Kind = claimedKind(a)
		return out
	}
	switch a.Kind {
	case oci.KindBundle:
		r.bundle(out, a)
	case oci.KindNotation:
		r.notation(out, a)
	case oci.KindAttestationArtifact:
		r.attestationArtifact(out, a)
	case oci.KindDetachedPredicate:
		out.Kind = KindOther
		out.Summary = fmt.Sprintf("detached %s predicate (%s) that no signed statement names", firstOf(a.Annotations[oci.AnnotationDetachedPredicate], "(no type)"), firstOf(a.MediaType, "no media type"))
	case oci.KindSimpleSigning:
		out.Kind = KindSignature
		r.legacy(out, a)
		var ss struct {
			Critical struct {
				Image struct {
					Digest string `json:"docker-manifest-digest"`
				} `json:"image"`
			} `json:"critical"`
		}
		if err := json.Unmarshal(a.Content, &ss); err != nil {
			out.Unreadable = "simple-signing payload is not JSON: " + err.Error()
			return out
		}
		out.Summary = "simple-signing payload for " + ss.Critical.Image.Digest
	case oci.KindDSSE:
		out.Kind = KindAttestation
		r.legacy(out, a)
		var env ssldsse.Envelope
		if err := json.Unmarshal(a.Content, &env); err != nil {
			out.Unreadable = "DSSE envelope is not JSON: " + err.Error()
			return out
		}
		r.statement(out, &env)
	default:
		out.Summary = "artifact type " + firstOf(a.ArtifactType, "(none)")
		if created := a.Annotations[oci.AnnotationCreated]; created != "" {
			if t, err := time.Parse(time.RFC3339, created); err == nil {
				out.Created = &t
			}
		}
	}
	return out
}

// claimedKind is what an unreadable artifact claims to be: its layout and
// annotations are all there is to go on.
func claimedKind(a oci.Artifact) string {
	switch {
	case a.Kind == oci.KindSimpleSigning, a.Kind == oci.KindNotation, a.PredicateType() == predicateCosignSig:
		return KindSignature
	case a.Kind == oci.KindDSSE, a.Kind == oci.KindBundle && a.PredicateType() != "":
		return KindAttestation
	}
	return KindOther
}

// bundle reads a Sigstore bundle: signer, log entries, timestamps, and the
// statement in its envelope.
func (r *reader) bundle(out *Artifact, a oci.Artifact) {
	out.Kind = KindAttestation
	var b bundle.Bundle
	data := a.BundleJSON()
	if err := b.UnmarshalJSON(data); err != nil {
		// The parser's own words (protojson's) are not for people: say
		// what kind of garbage it is.
		out.Unreadable = "not a Sigstore bundle: it is JSON, but not of the bundle's shape"
		if !json.Valid(data) {
			out.Unreadable = "not a Sigstore bundle: it is not valid JSON (cut short or corrupted)"
		}
		out.Kind = claimedKind(a)
		return
	}
	out.Signer = bundleSigner(&b)
	vm := b.GetVerificationMaterial()
	for _, e := range vm.GetTlogEntries() {
		out.Log = append(out.Log, r.logEntry(e))
	}
	for _, ts := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
		if t := parseTimestamp(ts.GetSignedTimestamp()); t != nil {
			out.Timestamps = append(out.Timestamps, *t)
		}
	}
	out.Created = created(out, a.Annotations)
	env, err := b.Envelope()
	if err != nil || env == nil {
		out.Kind = KindSignature
		out.Summary = "message signature (not an image signature: it signs a blob digest)"
		return
	}
	r.statement(out, env.Envelope)
}

// statement reads the in-toto statement in a DSSE envelope.
func (r *reader) statement(out *Artifact, env *ssldsse.Envelope) {
	payload, err := env.DecodeB64Payload()
	if err != nil {
		out.Unreadable = "DSSE payload is not base64: " + err.Error()
		return
	}
	r.statementPayload(out, payload)
}

// statementPayload reads an in-toto statement: its predicate type, its
// time and the gist of its predicate.
func (r *reader) statementPayload(out *Artifact, payload []byte) {
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		out.Unreadable = "in-toto statement is not JSON: " + err.Error()
		return
	}
	if st.PredicateType != "" {
		out.PredicateType = st.PredicateType
	}
	if out.PredicateType == predicateCosignSig {
		out.Kind = KindSignature
		if len(st.Subject) > 0 {
			out.Summary = "signs " + st.Subject[0].Name + "@sha256:" + st.Subject[0].Digest["sha256"]
		}
		return
	}
	if out.PredicateType == attest.DetachedPredicateType {
		detached(out, st.Predicate)
		return
	}
	if out.Created == nil {
		if t, ok := verify.StatementTime(payload); ok {
			t = t.UTC()
			out.Created = &t
		}
	}
	summarize(out, out.PredicateType, st.Predicate, r.now)
}

// legacy reads the signer, log entry and timestamp cosign v2 keeps in a
// legacy layer's annotations.
func (r *reader) legacy(out *Artifact, a oci.Artifact) {
	out.Signer = &Signer{Description: "a key (a legacy signature does not name it; verify with the key, or a policy, to attribute it)"}
	if c := parseCertPEM(a.Annotations[oci.AnnotationLegacyCert]); c != nil {
		out.Signer = certSigner(c)
	}
	if raw := a.Annotations[oci.AnnotationLegacyBundle]; raw != "" {
		var rb struct {
			Payload struct {
				IntegratedTime int64  `json:"integratedTime"`
				LogIndex       int64  `json:"logIndex"`
				LogID          string `json:"logID"`
			} `json:"Payload"`
		}
		if json.Unmarshal([]byte(raw), &rb) == nil {
			t := time.Unix(rb.Payload.IntegratedTime, 0).UTC()
			e := LogEntry{Index: rb.Payload.LogIndex, LogID: rb.Payload.LogID, Kind: "rekor v1", IntegratedTime: &t, Proof: "promise"}
			e.Origin = r.logName(rb.Payload.LogID)
			out.Log = append(out.Log, e)
		}
	}
	if raw := a.Annotations[annotationLegacyTimestamp]; raw != "" {
		var ts struct {
			Signed []byte `json:"SignedRFC3161Timestamp"`
		}
		if json.Unmarshal([]byte(raw), &ts) == nil {
			if t := parseTimestamp(ts.Signed); t != nil {
				out.Timestamps = append(out.Timestamps, *t)
			}
		}
	}
	out.Created = created(out, a.Annotations)
}

func (r *reader) logEntry(e *protorekor.TransparencyLogEntry) LogEntry {
	out := LogEntry{Index: e.GetLogIndex(), LogID: hex.EncodeToString(e.GetLogId().GetKeyId())}
	if kv := e.GetKindVersion(); kv != nil {
		out.Kind = strings.TrimSpace(kv.GetKind() + " " + kv.GetVersion())
	}
	if it := e.GetIntegratedTime(); it > 0 {
		t := time.Unix(it, 0).UTC()
		out.IntegratedTime = &t
	}
	var proofs []string
	if p := e.GetInclusionProof(); p != nil {
		proofs = append(proofs, "inclusion-proof")
		// A checkpoint's first line is the log's origin.
		origin, _, _ := strings.Cut(p.GetCheckpoint().GetEnvelope(), "\n")
		out.Origin = origin
	}
	if e.GetInclusionPromise() != nil {
		proofs = append(proofs, "promise")
	}
	out.Proof = strings.Join(proofs, "+")
	if name := r.logName(out.LogID); name != "" {
		out.Origin = name
	}
	return out
}

// logName names a log the trusted root lists, by its key id.
func (r *reader) logName(id string) string {
	if r.trust == nil || id == "" {
		return ""
	}
	if l, ok := r.trust.RekorLogs()[id]; ok && l.BaseURL != "" {
		return l.BaseURL
	}
	return ""
}

func bundleSigner(b *bundle.Bundle) *Signer {
	vc, err := b.VerificationContent()
	if err != nil {
		return &Signer{Description: "unreadable verification material: " + err.Error()}
	}
	if c := vc.Certificate(); c != nil {
		return certSigner(c)
	}
	if pk := vc.PublicKey(); pk != nil {
		hint := pk.Hint()
		if hint == "" {
			return &Signer{Description: "a key (the bundle gives no key hint)"}
		}
		return &Signer{ClaimedKeyHint: hint, Description: "a key; the bundle claims key hint " + hint + " (unverified)"}
	}
	return &Signer{Description: "no verification material"}
}

func certSigner(c *x509.Certificate) *Signer {
	s, err := certificate.SummarizeCertificate(c)
	if err != nil {
		sum := sha256.Sum256(c.Raw)
		return &Signer{Description: "certificate " + hex.EncodeToString(sum[:8]) + " (not a Fulcio certificate: " + err.Error() + ")"}
	}
	out := &Signer{Identity: s.SubjectAlternativeName, Issuer: s.Extensions.Issuer}
	out.Description = out.Identity + " (issuer " + out.Issuer + ")"
	if repo := s.Extensions.GithubWorkflowRepository; repo != "" {
		out.Workflow = repo + "@" + s.Extensions.GithubWorkflowRef
		out.Description += ", workflow " + out.Workflow
	}
	return out
}

func parseCertPEM(s string) *x509.Certificate {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil
	}
	return c
}

// parseTimestamp reads an RFC 3161 timestamp response or token; the
// authority is named from the signing certificate when the token carries it.
func parseTimestamp(der []byte) *Timestamp {
	ts, err := timestamp.ParseResponse(der)
	if err != nil {
		if ts, err = timestamp.Parse(der); err != nil {
			return nil
		}
	}
	out := &Timestamp{Time: ts.Time.UTC()}
	for _, c := range ts.Certificates {
		if c.IsCA {
			continue
		}
		out.Authority = firstOf(c.Subject.CommonName, strings.Join(c.Subject.Organization, " "))
		break
	}
	if out.Authority == "" {
		out.Authority = "an authority that does not name itself (TSA policy " + ts.Policy.String() + ")"
	}
	return out
}

// created picks the most trustworthy creation time an artifact carries.
func created(a *Artifact, annotations map[string]string) *time.Time {
	for _, e := range a.Log {
		if e.IntegratedTime != nil {
			return e.IntegratedTime
		}
	}
	if len(a.Timestamps) > 0 {
		return &a.Timestamps[0].Time
	}
	if t, err := time.Parse(time.RFC3339, annotations[oci.AnnotationCreated]); err == nil {
		t = t.UTC()
		return &t
	}
	return nil
}

// detached reads a detached-predicate statement's predicate: the
// attestation is of the document's type, stored in the artifact it names
// (which the subject's listing then folds into it, see foldDetached).
func detached(out *Artifact, pred []byte) {
	p, err := attest.ParseDetachedPredicate(pred)
	if err != nil {
		out.Unreadable = "detached predicate: " + err.Error()
		return
	}
	out.PredicateType = p.PredicateType
	out.Detached = &Detached{MediaType: p.MediaType, Digest: p.Digest, Size: p.Size, Artifact: p.Artifact}
	out.Summary = fmt.Sprintf("detached %s document, %d bytes, in artifact %s (not found among the referrers)", p.MediaType, p.Size, shortDigest(p.Artifact))
}

// foldDetached shows a detached predicate's artifact as part of the
// attestation whose signed statement names it, not as a referrer of its own.
func foldDetached(as []*Artifact) []*Artifact {
	named := map[string]*Artifact{}
	for _, a := range as {
		if a.Detached != nil {
			named[a.Detached.Artifact] = a
		}
	}
	out := as[:0]
	for _, a := range as {
		if a.Format == string(oci.KindDetachedPredicate) {
			if att := named[a.Manifest]; att != nil {
				att.Detached.Found = true
				att.Summary = fmt.Sprintf("detached %s document, %d bytes, in artifact %s", att.Detached.MediaType, att.Detached.Size, shortDigest(a.Manifest))
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
