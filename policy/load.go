package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/glob"
	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/keys"
)

// ErrInvalid marks a policy document that does not parse or validate.
var ErrInvalid = errors.New("invalid policy")

// FieldError is a problem at one field of the document.
type FieldError struct {
	Path string // e.g. images[0].signers[1].key
	Line int    // 0 when unknown
	Msg  string

	// unknown marks a field the document may not have; meant is the field
	// suggested for it, if any.
	unknown bool
	meant   string
}

func (e *FieldError) Error() string {
	var parts []string
	if e.Line > 0 {
		parts = append(parts, "line "+strconv.Itoa(e.Line))
	}
	if e.Path != "" {
		parts = append(parts, e.Path)
	}
	return strings.Join(append(parts, e.Msg), ": ")
}

// Errors is every problem found in a document.
type Errors []*FieldError

// Error puts one problem on a line, under a heading that counts them; a
// single problem stays on the heading's line.
func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return ErrInvalid.Error()
	case 1:
		return fmt.Sprintf("%v: %s", ErrInvalid, es[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v (%d problems):", ErrInvalid, len(es))
	for _, e := range es {
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is match ErrInvalid.
func (es Errors) Unwrap() error { return ErrInvalid }

// Parse decodes a YAML or JSON policy. Unknown fields and values of the
// wrong kind are errors (Errors, every one of them, each naming its field
// and line, an unknown field with the nearest valid one).
func Parse(data []byte) (*Policy, *yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		// The cause is yaml's syntax error, which names the line.
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	err := dec.Decode(&p)
	var te *yaml.TypeError
	if errors.As(err, &te) || errors.Is(err, io.EOF) {
		// The decoder names Go types; say the same in the document's
		// terms. It has already refused alias cycles and alias bombs.
		if errs := checkShape(&root); len(errs) > 0 {
			return nil, nil, errs
		}
	}
	if te != nil {
		return nil, nil, typeErrors(te)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return &p, &root, nil
}

// typeErrors lists the decoder's own problems one per line, for any that
// checkShape does not describe itself.
func typeErrors(te *yaml.TypeError) Errors {
	var errs Errors
	for _, m := range te.Errors {
		e := &FieldError{Msg: m}
		if n, err := fmt.Sscanf(m, "line %d:", &e.Line); err == nil && n == 1 {
			_, e.Msg, _ = strings.Cut(m, ": ")
		}
		errs = append(errs, e)
	}
	return errs
}

// Load reads, validates and compiles the policy file at path. Key files are
// relative to the policy's directory; loader resolves env:// and KMS keys.
// Errors name the file.
func Load(path string, loader keys.Loader) (*Compiled, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	c, err := Compile(data, filepath.Dir(path), loader)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Compile parses, validates and compiles a policy document.
func Compile(data []byte, baseDir string, loader keys.Loader) (*Compiled, error) {
	p, root, err := Parse(data)
	if err != nil {
		return nil, withTheRest(err, data, baseDir, loader)
	}
	c := &compiler{root: root, baseDir: baseDir, loader: loader}
	out := c.compile(p)
	if len(c.errs) > 0 {
		return nil, byLine(c.errs)
	}
	if out.Hash, err = digest(data, out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	out.Source = p
	return out, nil
}

// withTheRest adds to err, a document's unknown fields, the problems of the
// rest of it, so that one run lists every problem: the document without
// those fields still decodes, and is checked as a whole. Any other parse
// error is returned as it is. Either way the policy is refused.
func withTheRest(err error, data []byte, baseDir string, loader keys.Loader) error {
	var shape Errors
	if !errors.As(err, &shape) || len(shape) == 0 {
		return err
	}
	for _, e := range shape {
		if !e.unknown {
			return err
		}
	}
	var root yaml.Node
	var p Policy
	if yaml.Unmarshal(data, &root) != nil || yaml.Unmarshal(data, &p) != nil {
		return err
	}
	c := &compiler{root: &root, baseDir: baseDir, loader: loader}
	c.compile(&p)
	all := slices.Clone(shape)
	for _, e := range c.errs {
		if !besideUnknown(e, shape) {
			all = append(all, e)
		}
	}
	return byLine(all)
}

// besideUnknown says whether e is at the object that has one of the unknown
// fields, or at the field suggested for it: most likely the misspelt
// field's own absence ("key" missing where "keyy" was written), already
// said by the suggestion. Problems anywhere else are kept.
func besideUnknown(e *FieldError, unknown Errors) bool {
	for _, u := range unknown {
		if e.Path == u.Path {
			return true
		}
		if u.meant == "" {
			continue
		}
		field := u.meant
		if u.Path != "" {
			field = u.Path + "." + u.meant
		}
		if e.Path == field {
			return true
		}
	}
	return false
}

// byLine orders problems by their line in the document, those without one
// last, keeping the order found among equals.
func byLine(errs Errors) Errors {
	slices.SortStableFunc(errs, func(a, b *FieldError) int {
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return a.Line - b.Line
	})
	return errs
}

type compiler struct {
	root    *yaml.Node
	baseDir string
	loader  keys.Loader
	errs    Errors
}

// fail records an error at path (elements are keys or indexes).
func (c *compiler) fail(path []any, format string, a ...any) {
	c.errs = append(c.errs, &FieldError{Path: pathString(path), Line: lineOf(c.root, path), Msg: fmt.Sprintf(format, a...)})
}

func (c *compiler) compile(p *Policy) *Compiled {
	if p.APIVersion != APIVersion {
		c.fail([]any{"apiVersion"}, "must be %q, not %q", APIVersion, p.APIVersion)
	}
	if p.Kind != Kind {
		c.fail([]any{"kind"}, "must be %q, not %q", Kind, p.Kind)
	}
	out := &Compiled{DefaultAllow: p.DefaultAction == "allow"}
	if p.DefaultAction != "" && p.DefaultAction != "allow" && p.DefaultAction != "deny" {
		c.fail([]any{"defaultAction"}, "must be deny or allow, not %q", p.DefaultAction)
	}
	if len(p.Images) == 0 {
		c.fail([]any{"images"}, "at least one image rule is required")
	}
	seen := map[string]*Rule{}
	for i := range p.Images {
		if r := c.rule(i, &p.Images[i]); r != nil {
			if first, ok := seen[r.Normalized]; ok {
				c.fail([]any{"images", i, "pattern"}, "%q is the same pattern as images[%d] %q once registries are spelled one way (%s), so this rule would never apply; merge the two rules", r.Pattern, first.Index, first.Pattern, r.Normalized)
			} else {
				seen[r.Normalized] = r
			}
			out.Rules = append(out.Rules, r)
		}
	}
	if p.Receipts != nil {
		out.Receipts = c.receipts(p.Receipts)
	}
	if p.Recalls != "" {
		out.Recalls = c.recalls(p.Recalls)
	}
	out.Mirrors = c.mirrors(p.Mirrors)
	return out
}

// recalls reads the recall list the policy names.
func (c *compiler) recalls(file string) *Recalls {
	if !filepath.IsAbs(file) {
		file = filepath.Join(c.baseDir, file)
	}
	r, err := LoadRecalls(file)
	if err != nil {
		c.fail([]any{"recalls"}, "%v", err)
		return nil
	}
	return r
}

func (c *compiler) receipts(r *Receipts) *CompiledReceipts {
	at := func(rest ...any) []any { return append([]any{"receipts"}, rest...) }
	out := &CompiledReceipts{MaxAge: 24 * time.Hour}
	if len(r.Gates) == 0 {
		c.fail(at("gates"), "name at least one gate key whose receipts count")
	}
	names := map[string]bool{}
	var idx []int
	for i := range r.Gates {
		c.name(at("gates", i, "name"), "gate", r.Gates[i].Name, names)
		if s := c.signer(at("gates", i), &r.Gates[i]); s != nil {
			out.Gates = append(out.Gates, s)
			idx = append(idx, i)
		}
	}
	c.distinct(func(i int) []any { return at("gates", i) }, out.Gates, idx)
	if r.MaxAge != "" {
		d, err := time.ParseDuration(r.MaxAge)
		if err != nil || d <= 0 {
			c.fail(at("maxAge"), "%q is not a positive duration like 24h", r.MaxAge)
		}
		out.MaxAge = d
	}
	out.VerifierID = r.VerifierID
	for i, d := range r.PolicyDigests {
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(d) {
			c.fail(at("policyDigests", i), "%q is not a SHA-256 digest in hex (signet policy validate prints a policy's digest)", d)
		}
		out.PolicyDigests = append(out.PolicyDigests, d)
	}
	return out
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (c *compiler) rule(i int, r *ImageRule) *Rule {
	at := func(rest ...any) []any { return append([]any{"images", i}, rest...) }
	out := &Rule{Index: i, Pattern: r.Pattern, Mode: r.Mode, Threshold: 1, TransparencyLog: r.TransparencyLog}
	if r.Threshold != nil {
		out.Threshold = *r.Threshold
	}
	out.Normalized, out.glob = c.pattern(at("pattern"), r.Pattern)
	out.specificity = specificity(out.Normalized)
	if out.Mode == "" {
		out.Mode = "enforce"
	}
	if !oneOf(out.Mode, "enforce", "warn", "audit") {
		c.fail(at("mode"), "must be enforce, warn or audit, not %q", r.Mode)
	}
	if out.TransparencyLog == "" {
		out.TransparencyLog = "optional"
	}
	if !oneOf(out.TransparencyLog, "required", "optional", "skip") {
		c.fail(at("transparencyLog"), "must be required, optional or skip, not %q", r.TransparencyLog)
	}
	names := map[string]bool{}
	var idx []int
	for j := range r.Signers {
		c.name(at("signers", j, "name"), "signer", r.Signers[j].Name, names)
		if s := c.signer(at("signers", j), &r.Signers[j]); s != nil {
			out.Signers = append(out.Signers, s)
			idx = append(idx, j)
		}
	}
	c.distinct(func(j int) []any { return at("signers", j) }, out.Signers, idx)
	if len(r.Signers) == 0 && len(r.Attestations) > 0 {
		c.fail(at("signers"), "attestations need signers to trust")
	}
	switch {
	case len(r.Signers) == 0 && r.Threshold != nil:
		c.fail(at("threshold"), "the rule has no signers to count; give signers, or leave threshold out")
	case len(r.Signers) > 0 && (out.Threshold < 0 || out.Threshold > len(r.Signers)):
		c.fail(at("threshold"), "must be between 0 (attestations only) and %d, the number of signers listed", len(r.Signers))
	case len(r.Signers) > 0 && out.Threshold == 0 && len(r.Attestations) == 0:
		c.fail(at("threshold"), "0 requires no image signature, and the rule requires no attestation either: it would admit any image; "+
			"require an attestation, or a threshold of at least 1")
	}
	for j := range r.Attestations {
		if a := c.attestation(at("attestations", j), &r.Attestations[j], names); a != nil {
			out.Attestations = append(out.Attestations, a)
		}
	}
	if r.Tags != nil {
		out.Tags = c.tags(at("tags"), r.Tags)
	}
	out.Platforms, out.PlatformFilter = c.platforms(at, r)
	return out
}

// pattern compiles a rule's pattern after normalising its registry.
func (c *compiler) pattern(path []any, p string) (string, glob.Glob) {
	norm, err := normalizePattern(p)
	var never *unmatchableError
	switch {
	case errors.As(err, &never):
		c.fail(path, "%v", err)
		return p, nil
	case err != nil:
		c.fail(path, "%v; write the registry as a host name or IP address, with a port only if it is not 443", err)
		return p, nil
	}
	if p == "" {
		c.fail(path, "a glob over the image reference is required (e.g. registry.example.com/team/**)")
		return p, nil
	}
	g, err := glob.Compile(norm, '/')
	if err != nil {
		c.fail(path, "is not a glob over the image reference (e.g. registry.example.com/team/**): %v", err)
	}
	return norm, g
}

// name records a signer's name in names, refusing a second signer of the
// same name. A signer is named even when its key fails to load: that is
// reported once, at the key, and not again wherever the name is used.
func (c *compiler) name(path []any, what, name string, names map[string]bool) {
	if name == "" {
		return
	}
	if names[name] {
		c.fail(path, "%s %q is defined twice", what, name)
	}
	names[name] = true
}

func (c *compiler) signer(path []any, s *Signer) *CompiledSigner {
	at := func(rest ...any) []any { return append(append([]any{}, path...), rest...) }
	if s.Name == "" {
		c.fail(at("name"), "a signer needs a name")
	}
	set := 0
	for _, v := range []bool{s.Key != "", s.PublicKey != "", s.Keyless != nil, s.Notation != nil, s.GitHub != nil} {
		if v {
			set++
		}
	}
	if set != 1 {
		c.fail(path, "give exactly one of key, publicKey, keyless, notation or github")
		return nil
	}
	out := &CompiledSigner{Name: s.Name}
	c.window(path, s, out)
	switch {
	case s.Notation != nil:
		if out.Notation = c.notation(at("notation"), s.Notation); out.Notation == nil {
			return nil
		}
	case s.GitHub != nil:
		if out.Keyless = c.github(at("github"), s.GitHub); out.Keyless == nil {
			return nil
		}
		out.GitHub = s.GitHub
		c.trustedRoot(at("github", "trustedRoot"), s.GitHub.TrustedRoot, out)
	case s.Keyless != nil:
		out.Keyless = s.Keyless
		if (s.Keyless.Subject == "") == (s.Keyless.SubjectRegExp == "") || (s.Keyless.Issuer == "") == (s.Keyless.IssuerRegExp == "") {
			c.fail(at("keyless"), "give one of subject or subjectRegExp, and one of issuer or issuerRegExp")
		}
		for _, re := range []string{s.Keyless.IssuerRegExp, s.Keyless.SubjectRegExp} {
			if _, err := regexp.Compile(re); err != nil {
				c.fail(at("keyless"), "bad regexp %q: %v", re, err)
			}
		}
		c.checkGitHubClaims(at("keyless", "github"), s.Keyless.GitHub)
		c.trustedRoot(at("keyless", "trustedRoot"), s.Keyless.TrustedRoot, out)
	case s.PublicKey != "":
		pub, err := keys.ParsePublicKey([]byte(s.PublicKey))
		if err != nil {
			c.fail(at("publicKey"), "%v", err)
			return nil
		}
		out.PublicKey = pub
	default:
		ref := s.Key
		if !strings.Contains(ref, "://") && !filepath.IsAbs(ref) {
			ref = filepath.Join(c.baseDir, ref)
		}
		_, pub, err := c.loader.LoadVerifier(context.Background(), ref)
		if err != nil {
			c.fail(at("key"), "%v", err)
			return nil
		}
		out.PublicKey = pub
	}
	return out
}

// window reads a signer's validFrom and validUntil.
func (c *compiler) window(path []any, s *Signer, out *CompiledSigner) {
	at := func(rest ...any) []any { return append(append([]any{}, path...), rest...) }
	parse := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			c.fail(at(field), "%q is not an RFC 3339 time like 2026-01-31T00:00:00Z", v)
		}
		return t
	}
	out.ValidFrom, out.ValidUntil = parse("validFrom", s.ValidFrom), parse("validUntil", s.ValidUntil)
	if s.Keyless != nil && (s.ValidFrom != "" || s.ValidUntil != "") {
		c.fail(path, "validFrom and validUntil bound a key; a keyless identity's certificate carries its own validity (pin the identity more narrowly instead)")
	}
	if (s.Notation != nil || s.GitHub != nil) && (s.ValidFrom != "" || s.ValidUntil != "") {
		c.fail(path, "validFrom and validUntil bound a key; a notation or github signer's certificates carry their own validity (pin the identity more narrowly instead)")
	}
	if !out.ValidFrom.IsZero() && !out.ValidUntil.IsZero() && !out.ValidFrom.Before(out.ValidUntil) {
		c.fail(at("validUntil"), "%s is not after validFrom %s: no signature could ever count", s.ValidUntil, s.ValidFrom)
	}
}

func (c *compiler) attestation(path []any, a *AttestationRule, signers map[string]bool) *CompiledAttestation {
	at := func(rest ...any) []any { return append(append([]any{}, path...), rest...) }
	out := &CompiledAttestation{Name: a.Name, Signers: a.Signers, Condition: a.Condition}
	pt, err := resolvePredicateType(a.PredicateType)
	if err != nil {
		c.fail(at("predicateType"), "%v", err)
	}
	out.PredicateType = pt
	if out.Name == "" {
		out.Name = a.PredicateType
	}
	for k, s := range a.Signers {
		if !signers[s] {
			c.fail(at("signers", k), "no signer named %q in this rule", s)
		}
	}
	if a.Condition != "" {
		cond, err := CompileConditionFor(pt, a.Condition)
		if err != nil {
			c.fail(at("condition"), "%v", err)
		}
		out.Cond = cond
	}
	if a.MaxAge != "" {
		d, err := time.ParseDuration(a.MaxAge)
		if err != nil || d <= 0 {
			c.fail(at("maxAge"), "%q is not a positive duration like 168h", a.MaxAge)
		}
		out.MaxAge = d
	}
	return out
}

func (c *compiler) tags(path []any, t *TagRules) *CompiledTags {
	at := func(rest ...any) []any { return append(append([]any{}, path...), rest...) }
	out := &CompiledTags{DigestRequired: t.DigestRequired}
	for i, p := range t.AllowedTags {
		g, err := glob.Compile(p)
		if err != nil {
			c.fail(at("allowedTags", i), "bad pattern %q: %v", p, err)
			continue
		}
		out.allowed = append(out.allowed, g)
		out.AllowedTags = append(out.AllowedTags, p)
	}
	if t.Lock != "" {
		p := t.Lock
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.baseDir, p)
		}
		lf, err := ReadLock(p)
		if err != nil {
			c.fail(at("lock"), "%v", err)
		}
		out.Lock, out.LockPath = lf, p
	}
	if sh := t.SignedHeads; sh != nil && sh.Required {
		out.SignedHeads = &CompiledSignedHeads{}
		switch {
		case strings.HasPrefix(sh.Root, "sha256:"):
			d := strings.TrimPrefix(sh.Root, "sha256:")
			if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(d) {
				c.fail(at("signedHeads", "root"), "%q is not sha256:<64 hex>", sh.Root)
			}
			out.SignedHeads.RootDigest = d
		case sh.Root == "":
			c.fail(at("signedHeads", "root"), "the trusted TUF root is required: a root.json file or sha256:<hex> of 1.root.json")
		default:
			p := sh.Root
			if !filepath.IsAbs(p) {
				p = filepath.Join(c.baseDir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				c.fail(at("signedHeads", "root"), "%v", err)
			}
			out.SignedHeads.RootJSON = b
		}
	}
	return out
}

// specificity ranks patterns: more literal characters is more specific, a
// ** counts less than a *.
func specificity(p string) int {
	literal := 0
	for _, r := range p {
		if !strings.ContainsRune("*?[]{}", r) {
			literal++
		}
	}
	return literal*4 - strings.Count(p, "**")*2 - strings.Count(p, "*")
}

func pathString(path []any) string {
	var b strings.Builder
	for _, e := range path {
		switch v := e.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// lineOf finds the line of path in the document, or the nearest parent's.
func lineOf(root *yaml.Node, path []any) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, e := range path {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch v := e.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for k := 0; k+1 < len(n.Content); k += 2 {
					if n.Content[k].Value == v {
						next = n.Content[k+1]
						line = n.Content[k].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && v < len(n.Content) {
				next = n.Content[v]
				line = next.Line
			}
		}
		n = next
	}
	return line
}
