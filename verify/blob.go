package verify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Blob is the artifact a bundle signs: its content, or only its digest.
type Blob struct {
	// Content reads the artifact; nil when only Digest is known.
	Content io.Reader
	// Digest is "sha256:<hex>", used when Content is nil.
	Digest string
}

// VerifyBlob verifies a Sigstore bundle (v0.1 to v0.3; a message signature
// or a DSSE envelope whose in-toto subject is the artifact) over a blob,
// with the Verifier's keys or identities and trusted root. Every log entry
// and timestamp the bundle carries is checked: log entries against the
// trusted root's logs, RFC 3161 timestamps against its TSAs, and a
// certificate's time against the signed time they give. It returns who signed.
func (v *Verifier) VerifyBlob(bundleJSON []byte, blob Blob) (string, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return "", fmt.Errorf("%w: parsing bundle: %w", ErrMalformed, err)
	}
	artifact, err := blob.policies()
	if err != nil {
		return "", err
	}
	var opts []sgverify.VerifierOption
	entries, _ := b.TlogEntries()
	if len(entries) > 0 {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	ts, _ := b.Timestamps()
	isCert := b.VerificationMaterial.GetPublicKey() == nil
	switch {
	case len(ts) > 0:
		opts = append(opts, sgverify.WithSignedTimestamps(1))
	case isCert && b.HasInclusionPromise():
		opts = append(opts, sgverify.WithIntegratedTimestamps(1))
	case isCert:
		return "", fmt.Errorf("%w: the bundle has neither an RFC 3161 timestamp nor a log entry with a signed time", ErrNoTrustedTime)
	default:
		opts = append(opts, sgverify.WithNoObserverTimestamps())
	}
	if isCert {
		if !v.trustsCertificateAuthority() {
			return "", fmt.Errorf("%w: a certificate-signed bundle needs a trusted root", ErrBadSignature)
		}
		var last error
		for _, id := range v.identities {
			tm := v.rootFor(id)
			if tm == nil {
				continue
			}
			iopts := opts
			if len(tm.CTLogs()) > 0 {
				iopts = append(slices.Clip(opts), sgverify.WithSignedCertificateTimestamps(1))
			}
			sv, err := sgverify.NewVerifier(tm, iopts...)
			if err != nil {
				return "", err
			}
			ci, err := id.policy()
			if err != nil {
				return "", err
			}
			a, err := artifact()
			if err != nil {
				return "", err
			}
			if _, err = sv.Verify(&b, sgverify.NewPolicy(a, sgverify.WithCertificateIdentity(ci))); err == nil {
				return fmt.Sprintf("verified as %s (%s)", id.Name, describeCertificate(&b)), nil
			}
			last = err
		}
		if last == nil {
			return "", fmt.Errorf("%w: signed keylessly (%s), and no identities are trusted here", ErrBadSignature, describeCertificate(&b))
		}
		return "", fmt.Errorf("%w: signed keylessly (%s), and %s", ErrBadSignature, describeCertificate(&b), certificateProblem(last))
	}
	var last error
	for _, k := range v.keys {
		var tm root.TrustedMaterial = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
		})
		if v.root != nil {
			tm = root.TrustedMaterialCollection{v.root, tm}
		}
		sv, err := sgverify.NewVerifier(tm, opts...)
		if err != nil {
			return "", err
		}
		a, err := artifact()
		if err != nil {
			return "", err
		}
		if _, err = sv.Verify(&b, sgverify.NewPolicy(a, sgverify.WithKey())); err == nil {
			// The key's window and revocations, by the bundle's trusted time.
			sig := &Signature{Key: k.name, KeyID: k.id}
			if v.root != nil {
				sig.signedAt = timeSource(&b, tm)
			}
			if v.checkKeyTime(sig); sig.err != nil {
				return "", fmt.Errorf("%w: %w", ErrNoValidSignature, sig.err)
			}
			return "verified with key " + k.name, nil
		}
		last = err
		// Is the signature good, and only its log entry or timestamp not?
		if sv, err := sgverify.NewVerifier(tm, sgverify.WithNoObserverTimestamps()); err == nil && (len(entries) > 0 || len(ts) > 0) {
			if a, err := artifact(); err == nil {
				if _, err := sv.Verify(&b, sgverify.NewPolicy(a, sgverify.WithKey())); err == nil {
					return "", logFailure(last)
				}
			}
		}
	}
	if last == nil {
		return "", fmt.Errorf("%w: signed by a key, and no keys are trusted here", ErrBadSignature)
	}
	hint := ""
	if pk := b.VerificationMaterial.GetPublicKey(); pk != nil {
		hint = pk.GetHint()
	}
	return "", v.untrustedKey(hint)
}

// policies returns a function giving, for each verification attempt, the
// artifact to check against: its digest, or its content from the start
// (each attempt reads it whole; content that cannot seek back is read into
// memory once).
func (blob Blob) policies() (func() (sgverify.ArtifactPolicyOption, error), error) {
	if blob.Content == nil {
		alg, h, ok := strings.Cut(blob.Digest, ":")
		raw, err := hex.DecodeString(h)
		if !ok || err != nil {
			return nil, fmt.Errorf("artifact digest %q is not alg:hex", blob.Digest)
		}
		return func() (sgverify.ArtifactPolicyOption, error) { return sgverify.WithArtifactDigest(alg, raw), nil }, nil
	}
	seeker, ok := blob.Content.(io.Seeker)
	if !ok {
		data, err := io.ReadAll(blob.Content)
		if err != nil {
			return nil, fmt.Errorf("reading the artifact: %w", err)
		}
		return func() (sgverify.ArtifactPolicyOption, error) {
			return sgverify.WithArtifact(bytes.NewReader(data)), nil
		}, nil
	}
	start, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("reading the artifact: %w", err)
	}
	return func() (sgverify.ArtifactPolicyOption, error) {
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return nil, fmt.Errorf("reading the artifact again: %w", err)
		}
		return sgverify.WithArtifact(blob.Content), nil
	}, nil
}

// ErrBadDigest means a sha256: argument is not a well-formed digest.
var ErrBadDigest = errors.New("not a sha256 digest")

// OpenBlob interprets a command-line artifact argument: an existing file is
// the artifact (even one named like a digest); otherwise "sha256:" followed
// by 64 hex characters is the artifact's digest; anything else is an
// error. Close the returned closer when done.
func OpenBlob(arg string) (Blob, io.Closer, error) {
	f, err := os.Open(arg)
	if err == nil {
		return Blob{Content: f}, f, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Blob{}, nil, err
	}
	if h, ok := strings.CutPrefix(arg, "sha256:"); ok {
		if _, herr := hex.DecodeString(h); herr != nil || len(h) != 64 {
			return Blob{}, nil, fmt.Errorf("%w: %q (want sha256: and 64 hex characters, or an existing file)", ErrBadDigest, arg)
		}
		return Blob{Digest: "sha256:" + strings.ToLower(h)}, io.NopCloser(nil), nil
	}
	return Blob{}, nil, fmt.Errorf("reading artifact: %w", err)
}
