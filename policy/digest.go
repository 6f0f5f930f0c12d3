package policy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// digest identifies a compiled policy: SHA-256 over the document's bytes
// and every piece of key material the document names without containing
// it — public keys loaded from key files, env:// and KMS, keyless
// identities and the trusted roots they pin, Notation trust stores and
// TSA roots, gate keys, lock files, signed-heads roots, the recall list. Replacing
// keys/release.pub next to an unchanged policy file so changes the digest,
// and with it the cache keys and which gate receipts count. Each part is
// framed with its place in the document and its length, so no two
// different sets of material hash alike.
func digest(data []byte, c *Compiled) (string, error) {
	h := sha256.New()
	part := func(label string, b []byte) {
		fmt.Fprintf(h, "%s %d\n", label, len(b))
		h.Write(b)
	}
	part("signet policy digest v1: document", data)
	signers := func(at string, ss []*CompiledSigner) error {
		for i, s := range ss {
			m, err := signerMaterial(s)
			if err != nil {
				return fmt.Errorf("%s[%d] (%s): %w", at, i, s.Name, err)
			}
			part(fmt.Sprintf("%s[%d] %q", at, i, s.Name), m)
		}
		return nil
	}
	for _, r := range c.Rules {
		if err := signers(fmt.Sprintf("images[%d].signers", r.Index), r.Signers); err != nil {
			return "", err
		}
		if r.Tags == nil {
			continue
		}
		if r.Tags.Lock != nil {
			b, err := json.Marshal(r.Tags.Lock)
			if err != nil {
				return "", fmt.Errorf("images[%d].tags.lock: %w", r.Index, err)
			}
			part(fmt.Sprintf("images[%d].tags.lock", r.Index), b)
		}
		if sh := r.Tags.SignedHeads; sh != nil {
			// A root pinned by digest is in the document already.
			part(fmt.Sprintf("images[%d].tags.signedHeads.root", r.Index), sh.RootJSON)
		}
	}
	if c.Receipts != nil {
		if err := signers("receipts.gates", c.Receipts.Gates); err != nil {
			return "", err
		}
	}
	if c.Recalls != nil {
		part("recalls", c.Recalls.Raw)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// signerMaterial is what a signer trusts: its public key (DER), its
// Notation trust store, TSA roots and trust policy, or its keyless
// identity (a github signer's compiled one) with the trusted root it pins.
func signerMaterial(s *CompiledSigner) ([]byte, error) {
	if s.PublicKey != nil {
		der, err := x509.MarshalPKIXPublicKey(s.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("fingerprinting the public key for the policy digest: %w", err)
		}
		return append([]byte("key "), der...), nil
	}
	if n := s.Notation; n != nil {
		raw := func(cs []*x509.Certificate) [][]byte {
			out := make([][]byte, len(cs))
			for i, c := range cs {
				out[i] = c.Raw
			}
			return out
		}
		b, err := json.Marshal(struct {
			Certificates, TSA                    [][]byte
			SigningAuthority                     bool
			Subject, VerifyTimestamp, Revocation string
		}{raw(n.Certificates), raw(n.TSA), n.SigningAuthority, n.Subject, n.VerifyTimestamp, n.Revocation})
		if err != nil {
			return nil, err
		}
		return append([]byte("notation "), b...), nil
	}
	b, err := json.Marshal(s.Keyless)
	if err != nil {
		return nil, err
	}
	if s.TrustedRootJSON == nil {
		return append([]byte("keyless "), b...), nil
	}
	tr := fmt.Sprintf("keyless %d\n%s\ntrusted root %d\n", len(b), b, len(s.TrustedRootJSON))
	return append([]byte(tr), s.TrustedRootJSON...), nil
}

// BindTrustedRoot folds into the digest the trusted root (CAs, logs,
// TSAs) the policy is used with, when that root is versioned with the
// policy — a trust bundle's. The digest names the decision's trust, so a
// gate receipt made under one trusted root does not stand in under
// another (a bundle that drops a compromised CA voids the receipts made
// while it was trusted), and cached verdicts are keyed by it too.
func (c *Compiled) BindTrustedRoot(trustedRoot []byte) {
	h := sha256.New()
	part := func(label string, b []byte) {
		fmt.Fprintf(h, "%s %d\n", label, len(b))
		h.Write(b)
	}
	part("signet policy digest v1 with trusted root: policy", []byte(c.Hash))
	part("trusted root", trustedRoot)
	c.Hash = hex.EncodeToString(h.Sum(nil))
}
