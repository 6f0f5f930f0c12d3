package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/signet-dev/signet/oci"
)

// rekorV1Body is the part of a Rekor v1 entry body a legacy signature or
// attestation is matched against.
type rekorV1Body struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		// hashedrekord 0.0.1
		Data *struct {
			Hash rekorHash `json:"hash"`
		} `json:"data"`
		Signature *struct {
			Content   []byte `json:"content"`
			PublicKey struct {
				Content []byte `json:"content"`
			} `json:"publicKey"`
		} `json:"signature"`
		// intoto 0.0.1
		Content *struct {
			Hash        rekorHash  `json:"hash"`
			PayloadHash *rekorHash `json:"payloadHash"`
		} `json:"content"`
		PublicKey []byte `json:"publicKey"`
		// dsse 0.0.1
		PayloadHash *rekorHash `json:"payloadHash"`
		Signatures  []struct {
			Signature string `json:"signature"`
			Verifier  []byte `json:"verifier"`
		} `json:"signatures"`
	} `json:"spec"`
}

type rekorHash struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// is reports whether h is the SHA-256 of data.
func (h rekorHash) is(data []byte) bool {
	sum := sha256.Sum256(data)
	return h.Algorithm == "sha256" && h.Value == hex.EncodeToString(sum[:])
}

// legacySigned is what a legacy layer's log entry must record: the signed
// bytes (the simple-signing payload, or the DSSE envelope and its payload),
// the signature and the key that verified it.
type legacySigned struct {
	content   []byte // simple-signing payload, or the DSSE envelope as stored
	payload   []byte // DSSE payload (attestations only)
	signature []byte
	key       crypto.PublicKey
}

// publicKey returns the key k verifies with (nil if it cannot say).
func (k trustedKey) publicKey() crypto.PublicKey {
	pub, err := k.verifier.PublicKey()
	if err != nil {
		return nil
	}
	return pub
}

// acceptedSignature returns the DSSE signature the verifier accepted (the
// first), decoded, or nil.
func acceptedSignature(accepted []ssldsse.AcceptedKey) []byte {
	if len(accepted) == 0 {
		return nil
	}
	sig, err := base64.StdEncoding.DecodeString(accepted[0].Sig.Sig)
	if err != nil {
		return nil
	}
	return sig
}

// checkLegacyTlog applies the transparency-log mode to a legacy layer whose
// signature verified: the entry in its dev.sigstore.cosign/bundle
// annotation must be from a trusted log, carry a signed entry timestamp
// that verifies with that log's key, and record this signature, key and
// payload. It records the outcome on sig and reports whether sig may pass.
func (v *Verifier) checkLegacyTlog(sig *Signature, a *oci.Artifact, mode TlogMode, signed legacySigned) bool {
	if mode == TlogSkip {
		sig.check("tlog", Skip, "transparency log not checked (skip)")
		return true
	}
	raw := a.Annotations[oci.AnnotationLegacyBundle]
	var lb *oci.LegacyLogBundle
	if raw != "" {
		lb = &oci.LegacyLogBundle{}
		if err := json.Unmarshal([]byte(raw), lb); err != nil || len(lb.Payload.Body) == 0 || len(lb.SignedEntryTimestamp) == 0 {
			sig.fail("tlog", fmt.Errorf("%w: the layer's log annotation (%s) is not a Rekor entry with a signed entry timestamp", ErrMalformed, oci.AnnotationLegacyBundle))
			return false
		}
	}
	var trusted bool
	if lb != nil {
		entry := LogEntry{Index: lb.Payload.LogIndex, Kind: entryKind(lb.Payload.Body)}
		if v.root != nil {
			if l, ok := v.root.RekorLogs()[lb.Payload.LogID]; ok {
				entry.URL, trusted = l.BaseURL, true
			}
		}
		sig.Log = append(sig.Log, entry)
	}
	switch {
	case mode == TlogRequired && v.root == nil:
		sig.fail("tlog", fmt.Errorf("%w: a log entry is required but no trusted root lists any log", ErrTransparencyLog))
		return false
	case mode == TlogRequired && lb == nil:
		sig.fail("tlog", fmt.Errorf("%w: a log entry is required and this legacy-layout signature carries none (no %s annotation)", ErrTransparencyLog, oci.AnnotationLegacyBundle))
		return false
	case mode == TlogRequired && !trusted:
		sig.fail("tlog", fmt.Errorf("%w: a log entry is required and the layer's entry is not from a trusted log", ErrTransparencyLog))
		return false
	case lb == nil:
		sig.check("tlog", Skip, "no log entry in the legacy layer (optional)")
		return true
	case !trusted:
		sig.check("tlog", Skip, "1 log entry, not from a trusted log: not checked (optional)")
		return true
	}
	if err := v.verifyLegacyEntry(lb, signed); err != nil {
		sig.fail("tlog", fmt.Errorf("%w: %w", ErrTransparencyLog, err))
		return false
	}
	e := &sig.Log[len(sig.Log)-1]
	e.Verified, e.SETOnly = true, true
	// The signed entry timestamp verified with a trusted log's key over an
	// entry recording this very signature: its integrated time is trusted.
	logged := trustedTime{at: time.Unix(lb.Payload.IntegratedTime, 0), by: byLog}
	sig.signedAt = func() (trustedTime, bool) { return logged, true }
	sig.check("tlog", Pass, fmt.Sprintf("entry %d in %s (%s): signed entry timestamp verified offline", e.Index, e.URL, e.Kind))
	return true
}

// entryKind returns "kind/apiVersion" of a Rekor v1 entry body, or "unknown".
func entryKind(body []byte) string {
	var b rekorV1Body
	if json.Unmarshal(body, &b) != nil || b.Kind == "" {
		return "unknown"
	}
	return b.Kind + "/" + b.APIVersion
}

// verifyLegacyEntry checks the signed entry timestamp with the trusted
// log's key (valid at the entry's integrated time), then that the entry
// records signed. It accepts what sigstore-go's tlog.VerifySET accepts for
// a bundle's Rekor v1 entry, no more: an ECDSA log key (SHA-256) with a
// start of validity.
func (v *Verifier) verifyLegacyEntry(lb *oci.LegacyLogBundle, signed legacySigned) error {
	l := v.root.RekorLogs()[lb.Payload.LogID]
	pub, ok := l.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return errors.New("the trusted log's key is not an ECDSA key, and only a Rekor v1 log's ECDSA key signs entry timestamps (an Ed25519 log key is a Rekor v2 log's, which signs checkpoints only): list the Rekor v1 log's own key in the trusted root")
	}
	if l.ValidityPeriodStart.IsZero() {
		return errors.New("the trusted root gives the log's key no start of validity, so no entry time can be checked against it: give the log a validFor.start in the trusted root")
	}
	at := time.Unix(lb.Payload.IntegratedTime, 0)
	if at.Before(l.ValidityPeriodStart) || (!l.ValidityPeriodEnd.IsZero() && at.After(l.ValidityPeriodEnd)) {
		return fmt.Errorf("the entry's integrated time %s is outside the trusted log key's validity", at.UTC().Format(time.RFC3339))
	}
	set, err := json.Marshal(map[string]any{
		"body":           base64.StdEncoding.EncodeToString(lb.Payload.Body),
		"integratedTime": lb.Payload.IntegratedTime,
		"logIndex":       lb.Payload.LogIndex,
		"logID":          lb.Payload.LogID,
	})
	if err == nil {
		set, err = jsoncanonicalizer.Transform(set)
	}
	if err != nil {
		return fmt.Errorf("canonicalizing the entry: %w", err)
	}
	sum := sha256.Sum256(set)
	if !ecdsa.VerifyASN1(pub, sum[:], lb.SignedEntryTimestamp) {
		return errors.New("the signed entry timestamp does not verify with the trusted log's key (the entry was altered, or another log signed it)")
	}
	return matchLegacyEntry(lb.Payload.Body, signed)
}

// matchLegacyEntry checks that a Rekor v1 entry body records this signature,
// key and payload: hashedrekord 0.0.1 for a simple-signing signature, intoto
// 0.0.1 or dsse 0.0.1 for a DSSE attestation.
func matchLegacyEntry(body []byte, signed legacySigned) error {
	var b rekorV1Body
	if err := json.Unmarshal(body, &b); err != nil {
		return fmt.Errorf("the log entry is not a Rekor entry: %s", jsonProblem(err))
	}
	mismatch := func(what string) error {
		return fmt.Errorf("the %s/%s log entry records another %s than this signature's (it was made for another signature and copied here)", b.Kind, b.APIVersion, what)
	}
	s := b.Spec
	switch kind := b.Kind + "/" + b.APIVersion; {
	case kind == "hashedrekord/0.0.1" && signed.payload == nil:
		if s.Data == nil || s.Signature == nil {
			return fmt.Errorf("the %s log entry lacks its hash or signature", kind)
		}
		if !s.Data.Hash.is(signed.content) {
			return mismatch("payload")
		}
		if !bytes.Equal(s.Signature.Content, signed.signature) {
			return mismatch("signature")
		}
		if !sameKey(s.Signature.PublicKey.Content, signed.key) {
			return mismatch("key")
		}
	case kind == "intoto/0.0.1" && signed.payload != nil:
		if s.Content == nil || !s.Content.Hash.is(signed.content) {
			return mismatch("envelope")
		}
		if s.Content.PayloadHash != nil && !s.Content.PayloadHash.is(signed.payload) {
			return mismatch("payload")
		}
		if !sameKey(s.PublicKey, signed.key) {
			return mismatch("key")
		}
	case kind == "dsse/0.0.1" && signed.payload != nil:
		if s.PayloadHash == nil || !s.PayloadHash.is(signed.payload) {
			return mismatch("payload")
		}
		found := false
		for _, es := range s.Signatures {
			got, err := base64.StdEncoding.DecodeString(es.Signature)
			if err == nil && bytes.Equal(got, signed.signature) && sameKey(es.Verifier, signed.key) {
				found = true
				break
			}
		}
		if !found {
			return mismatch("signature or key")
		}
	default:
		what := "a simple-signing signature (hashedrekord/0.0.1)"
		if signed.payload != nil {
			what = "an attestation (intoto/0.0.1 or dsse/0.0.1)"
		}
		return fmt.Errorf("the log entry is of kind %s, which Signet does not check for %s", kind, what)
	}
	return nil
}

// sameKey reports whether pemBytes (a public key or a certificate) holds key.
func sameKey(pemBytes []byte, key crypto.PublicKey) bool {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil || key == nil {
		return false
	}
	var got crypto.PublicKey
	if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
		got = c.PublicKey
	} else if k, err := x509.ParsePKIXPublicKey(blk.Bytes); err == nil {
		got = k
	} else {
		return false
	}
	eq, ok := got.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(key)
}
