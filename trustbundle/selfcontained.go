package trustbundle

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ClassExternal: a policy of the bundle names trust material outside it (a
// key file, recall list, lock file or signed-heads root not in the bundle,
// an environment variable, a KMS key).
const ClassExternal Class = "external-reference"

// policyRefs are the fields of a policy that name files or other sources of
// trust (policy.Policy), read leniently: only what they name matters here.
type policyRefs struct {
	Recalls  string `yaml:"recalls"`
	Receipts *struct {
		Gates []refSigner `yaml:"gates"`
	} `yaml:"receipts"`
	Images []struct {
		Signers []refSigner `yaml:"signers"`
		Tags    *struct {
			Lock        string `yaml:"lock"`
			SignedHeads *struct {
				Root string `yaml:"root"`
			} `yaml:"signedHeads"`
		} `yaml:"tags"`
	} `yaml:"images"`
}

type refSigner struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

// selfContained refuses a policy naming trust outside the bundle: a
// signer's key must be a key file of the bundle (by its name), an inline
// publicKey or a keyless identity; the recall list the bundle's own; no
// lock file; a signed-heads root only by digest (sha256:…). Otherwise the
// signed bundle would draw trust from whatever the verifier's disk (or a
// directory an attacker controls), environment or KMS holds.
func (b *Bundle) selfContained(f File) error {
	var p policyRefs
	if err := yaml.Unmarshal(f.Data, &p); err != nil {
		return fmt.Errorf("reading policy %s: %w", f.Name, err)
	}
	has := func(role Role, name string) bool {
		for _, g := range b.All(role) {
			if g.Name == name {
				return true
			}
		}
		return false
	}
	var bad []string
	key := func(where string, s refSigner) {
		if s.Key != "" && !has(RoleKey, s.Key) {
			bad = append(bad, fmt.Sprintf("%s signer %q: key %q is not a key file of the bundle", where, s.Name, s.Key))
		}
	}
	if p.Recalls != "" && !has(RoleRecalls, p.Recalls) {
		bad = append(bad, fmt.Sprintf("recalls %q is not the bundle's recall list", p.Recalls))
	}
	if p.Receipts != nil {
		for _, s := range p.Receipts.Gates {
			key("receipts.gates", s)
		}
	}
	for i, r := range p.Images {
		for _, s := range r.Signers {
			key(fmt.Sprintf("images[%d]", i), s)
		}
		if r.Tags == nil {
			continue
		}
		if r.Tags.Lock != "" {
			bad = append(bad, fmt.Sprintf("images[%d].tags.lock %q: a bundle holds no lock file", i, r.Tags.Lock))
		}
		if sh := r.Tags.SignedHeads; sh != nil && sh.Root != "" && !strings.HasPrefix(sh.Root, "sha256:") {
			bad = append(bad, fmt.Sprintf("images[%d].tags.signedHeads.root %q: name the root by digest (sha256:…), a bundle holds no root file", i, sh.Root))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("policy %s names trust outside the bundle (%s): a bundle must be self-contained; put the keys in it (signet trust bundle create --key) and name them by file name",
			f.Name, strings.Join(bad, "; "))
	}
	return nil
}

// checkPolicies runs selfContained on every policy of the bundle.
func (b *Bundle) checkPolicies() error {
	for _, f := range b.All(RolePolicy) {
		if err := b.selfContained(f); err != nil {
			return err
		}
	}
	return nil
}
