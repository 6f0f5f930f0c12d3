package kubepolicy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
)

// Compiler compiles policy resources. A resource cannot name the
// webhook's files: keys are inline (publicKey), in Secrets (k8s://), KMS
// URIs (cluster policies only) or keyless identities; Notation
// certificates are inline; lock files, certificate files, trusted root
// files and signed-heads root files are refused (pin a signed-heads root
// by its sha256: digest).
type Compiler struct {
	// Secrets reads k8s:// keys; nil checks only their form, with a
	// throwaway key standing in (the validating webhook).
	Secrets Secrets
	// Namespace is the webhook's own, which k8s://NAME means.
	Namespace string

	// memo, when set, keeps what compiled, by resource and document (keys
	// inlined), so a resync compiles only what changed.
	memo *memo
}

// memo is the compiled policies of one sync and the one before it.
type memo struct{ prev, cur map[memoKey]*policy.Compiled }

type memoKey struct {
	ref Ref
	doc [sha256.Size]byte
}

func newMemo() *memo {
	return &memo{prev: map[memoKey]*policy.Compiled{}, cur: map[memoKey]*policy.Compiled{}}
}

func (m *memo) get(k memoKey) (*policy.Compiled, bool) {
	if c, ok := m.cur[k]; ok {
		return c, true
	}
	c, ok := m.prev[k]
	if ok {
		m.cur[k] = c
	}
	return c, ok
}

// next forgets what the last sync did not use.
func (m *memo) next() { m.prev, m.cur = m.cur, map[memoKey]*policy.Compiled{} }

// Compiled is a policy resource in effect.
type Compiled struct {
	Ref        Ref
	Generation int64
	Policy     *policy.Compiled
}

// Compile reads and compiles a policy resource. Its errors are
// policy.Errors naming spec fields, every problem found.
func (c *Compiler) Compile(ctx context.Context, obj map[string]any) (*Compiled, error) {
	ref, p, err := Parse(obj)
	if err != nil {
		return &Compiled{Ref: ref}, err
	}
	out := &Compiled{Ref: ref, Generation: generation(obj)}
	errs := c.resolve(ctx, ref, p)
	data, err := json.Marshal(p)
	if err != nil {
		return out, fmt.Errorf("%w: %w", policy.ErrInvalid, err)
	}
	key := memoKey{ref: ref, doc: sha256.Sum256(data)}
	if len(errs) == 0 && c.memo != nil && !usesKMS(p) {
		if compiled, ok := c.memo.get(key); ok {
			out.Policy = compiled
			return out, nil
		}
	}
	// Every file the document could name has been refused or replaced
	// above; no directory is given, so nothing is read relative to the
	// webhook's working directory either.
	compiled, err := policy.Compile(data, "", keys.Loader{})
	if err != nil {
		compileErrs, ok := inSpec(err).(policy.Errors)
		if !ok {
			return out, err
		}
		errs = append(errs, compileErrs...)
	}
	if len(errs) > 0 {
		// In the order of the fields: images[2] before images[10].
		sort.SliceStable(errs, func(i, j int) bool { return pathLess(errs[i].Path, errs[j].Path) })
		return out, errs
	}
	compiled.Source.Metadata.Name = ref.String()
	out.Policy = compiled
	if c.memo != nil {
		c.memo.cur[key] = compiled
	}
	return out, nil
}

// MaxWildcards bounds the wildcards (a run of *, a ?, a {…} or […]) of a
// pattern in a policy resource. Glob matching backtracks: with a pattern
// such as *a*a*a… it takes time exponential in their number, and a
// namespace's own SignetPolicy must not be able to stall the webhook every
// namespace depends on with one Pod.
const MaxWildcards = 8

// wildcards counts the wildcards of a glob pattern.
func wildcards(p string) int {
	n := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			if i == 0 || p[i-1] != '*' {
				n++
			}
		case '?', '{', '[':
			n++
		case '\\':
			i++ // an escaped character is a literal
		}
	}
	return n
}

// usesKMS reports whether a KMS key is named: its key can change with no
// change to the document, so it is compiled (and fetched) again each time.
func usesKMS(p *policy.Policy) bool {
	var signers []policy.Signer
	for _, r := range p.Images {
		signers = append(signers, r.Signers...)
	}
	if p.Receipts != nil {
		signers = append(signers, p.Receipts.Gates...)
	}
	for _, s := range signers {
		if isKMS(s.Key) {
			return true
		}
	}
	return false
}

// resolve replaces each k8s:// key with the Secret's public key (inline,
// so the policy digest covers it) and refuses every field that would read
// a file of the webhook. A key that cannot be used is replaced by a
// throwaway one, so compiling still reports every other problem.
func (c *Compiler) resolve(ctx context.Context, ref Ref, p *policy.Policy) policy.Errors {
	var errs policy.Errors
	fail := func(path, format string, a ...any) {
		errs = append(errs, &policy.FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	// files refuses the files a signer would read from the webhook's disk
	// (certificates and trusted roots), clearing them so compiling
	// reports every other problem.
	files := func(path string, s *policy.Signer) {
		if n := s.Notation; n != nil {
			if n.TrustStore != "" {
				fail(path+".notation.trustStore", "a policy resource cannot read certificate files of the webhook: put the PEM certificates inline as certificates")
				s.Notation, s.PublicKey = nil, string(placeholderFor("invalid "+path))
				return
			}
			if n.TSA != "" {
				fail(path+".notation.tsa", "a policy resource cannot read certificate files of the webhook: put the PEM timestamp authority roots inline as tsaCertificates")
				n.TSA = ""
			}
		}
		const trustedRoot = "a policy resource cannot read a trusted root file of the webhook: leave trustedRoot out to use the webhook's trusted root, or write the policy as a file"
		if k := s.Keyless; k != nil && k.TrustedRoot != "" {
			fail(path+".keyless.trustedRoot", trustedRoot)
			k.TrustedRoot = ""
		}
		if g := s.GitHub; g != nil && g.TrustedRoot != "" {
			fail(path+".github.trustedRoot", trustedRoot)
			g.TrustedRoot = ""
		}
	}
	signer := func(path string, s *policy.Signer) {
		files(path, s)
		if s.Key == "" || s.PublicKey != "" || s.Keyless != nil || s.Notation != nil || s.GitHub != nil {
			return // none, or more than one: compiling says which
		}
		if pem, err := c.key(ctx, ref, s.Key); err != nil {
			fail(path+".key", "%v", err)
			s.Key, s.PublicKey, s.Keyless = "", string(placeholderFor("invalid "+path)), nil
		} else if pem != nil {
			s.Key, s.PublicKey = "", string(pem)
		}
	}
	for i := range p.Images {
		r := &p.Images[i]
		at := fmt.Sprintf("spec.images[%d]", i)
		for j := range r.Signers {
			signer(fmt.Sprintf("%s.signers[%d]", at, j), &r.Signers[j])
		}
		if n := wildcards(r.Pattern); n > MaxWildcards {
			fail(at+".pattern", "has %d wildcards, and a policy resource's pattern may have at most %d (the time to match an image grows steeply with each): write ** for any run of path segments", n, MaxWildcards)
			r.Pattern = "unmatched.invalid/never"
		}
		if r.Tags == nil {
			continue
		}
		for j, tag := range r.Tags.AllowedTags {
			if n := wildcards(tag); n > MaxWildcards {
				fail(fmt.Sprintf("%s.tags.allowedTags[%d]", at, j), "has %d wildcards, and a policy resource's tag pattern may have at most %d (the time to match a tag grows steeply with each)", n, MaxWildcards)
				r.Tags.AllowedTags[j] = "never"
			}
		}
		if r.Tags.Lock != "" {
			fail(at+".tags.lock", "a lock file cannot be read from a policy resource: reference images by digest, or require signed tag heads (tags.signedHeads)")
			r.Tags.Lock = ""
		}
		if sh := r.Tags.SignedHeads; sh != nil && sh.Required && sh.Root != "" && !strings.HasPrefix(sh.Root, "sha256:") {
			fail(at+".tags.signedHeads.root", "a root.json file cannot be read from a policy resource: pin the root as sha256:<hex> of the repository's 1.root.json")
			sh.Root = "sha256:" + strings.Repeat("0", 64)
		}
	}
	if p.Receipts != nil {
		for i := range p.Receipts.Gates {
			signer(fmt.Sprintf("spec.receipts.gates[%d]", i), &p.Receipts.Gates[i])
		}
	}
	return errs
}

// key is the PEM a key reference stands for, or nil for a KMS URI (which
// the policy loader fetches).
func (c *Compiler) key(ctx context.Context, ref Ref, key string) ([]byte, error) {
	s, kmsKey, err := keyRef(ref, key, c.Namespace)
	switch {
	case err != nil:
		return nil, err
	case kmsKey && c.Secrets == nil:
		return placeholderFor("kms " + key), nil // checked for form only: no KMS call from an admission request
	case kmsKey:
		return nil, nil
	}
	secrets := c.Secrets
	if secrets == nil {
		secrets = placeholderSecrets{}
	}
	pem, err := secrets.PublicKey(ctx, s.namespace, s.name)
	if err != nil {
		return nil, err
	}
	if err := checkKey(pem, s); err != nil {
		return nil, err
	}
	return pem, nil
}

func generation(obj map[string]any) int64 {
	meta, _ := obj["metadata"].(map[string]any)
	switch g := meta["generation"].(type) {
	case int64:
		return g
	case float64:
		return int64(g)
	case json.Number:
		n, _ := g.Int64()
		return n
	}
	return 0
}

// pathLess orders problems by the rule they are in (spec.images[2]
// before spec.images[10], the rules before receipts); within a rule they
// keep the order they were found in.
func pathLess(a, b string) bool {
	ka, kb := pathKey(a), pathKey(b)
	return ka[0] < kb[0] || (ka[0] == kb[0] && ka[1] < kb[1])
}

// pathKey is where a path sits: spec's own fields, a rule (by index), or
// the receipts.
func pathKey(p string) [2]int {
	if rest, ok := strings.CutPrefix(p, "spec.images["); ok {
		if i := strings.IndexByte(rest, ']'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				return [2]int{1, n}
			}
		}
		return [2]int{1, -1}
	}
	if strings.HasPrefix(p, "spec.receipts") {
		return [2]int{2, 0}
	}
	return [2]int{0, 0}
}
