package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/sigstore/sigstore-go/pkg/root"
	"golang.org/x/sync/singleflight"

	"github.com/signet-dev/signet/notary"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/taghead"
)

// Class says what kind of failure decided a verdict, so a caller can tell a
// registry hiccup from a forged signature.
type Class string

// Failure classes.
const (
	// ClassTransient is a registry or network failure: retry, do not conclude.
	ClassTransient Class = "transient"
	// ClassNotFound means the image, or the signatures/attestations it needs, are missing.
	ClassNotFound Class = "not-found"
	// ClassInvalid means crypto or payload checks failed: a bad or misplaced signature.
	ClassInvalid Class = "invalid"
	// ClassPolicyDenied means the policy refuses what was found (a tag rule, a condition).
	ClassPolicyDenied Class = "policy-denied"
	// ClassRevoked means a recall list refuses the image: its digest is
	// recalled, or the signatures it needs are by a revoked key.
	ClassRevoked Class = "revoked"
)

// Errored is the outcome of a check that could not be evaluated.
const Errored Outcome = "error"

// Unverified is the outcome of a platform that did not verify under
// platforms: any, where another platform did: it does not decide, but a
// node may pull it.
const Unverified Outcome = "unverified"

// PolicyCheck is one step of a policy decision.
type PolicyCheck struct {
	Name     string     `json:"name"`
	Outcome  Outcome    `json:"outcome"`
	Class    Class      `json:"class,omitempty"`
	Message  string     `json:"message"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Digest is the platform manifest a platform check is about.
	Digest string `json:"digest,omitempty"`
	// Checks are a platform check's own checks (signatures and
	// attestations on the platform manifest's digest).
	Checks []PolicyCheck `json:"checks,omitempty"`
	// expires is when a passing check stops holding with nothing changed
	// in the registry (an attestation reaching its maxAge, a receipt its
	// receipts maxAge); zero when it holds for as long as what it read. A
	// cached verdict is not used from then on.
	expires time.Time
}

// Evidence is what a check relied on.
type Evidence struct {
	Signer string `json:"signer,omitempty"`
	// Format is the signature's format: sigstore-bundle, simple-signing,
	// dsse-envelope or notation.
	Format        string `json:"format,omitempty"`
	KeyID         string `json:"keyId,omitempty"`
	Layout        string `json:"layout,omitempty"`
	Manifest      string `json:"manifest,omitempty"`
	PredicateType string `json:"predicateType,omitempty"`
	LogIndex      *int64 `json:"logIndex,omitempty"`
	Refused       string `json:"refused,omitempty"`
}

// Decision is a policy verdict for one image, as data.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Mode    string `json:"mode"`
	Image   string `json:"image"`
	// Digest is the digest that was verified; admission pins the tag to it.
	Digest string `json:"digest,omitempty"`
	Tag    string `json:"tag,omitempty"`
	// Rule is the pattern of the rule that applied ("" for the default action).
	Rule   string        `json:"rule"`
	Checks []PolicyCheck `json:"checks"`
	// RuleIndex is the rule's place in the policy's images list (-1 for
	// the default action); a gate's receipt records it.
	RuleIndex int `json:"ruleIndex"`
	// Class is the class of the failure that decided a denial (or, in warn
	// and audit mode, that would have).
	Class Class `json:"class,omitempty"`
	// Reason is the deciding failure in one line.
	Reason string `json:"reason,omitempty"`
	// Cached is true when the digest-dependent checks came from the cache.
	Cached     bool   `json:"cached,omitempty"`
	PolicyHash string `json:"policyHash"`
}

// Failed reports whether any check failed (also in warn/audit mode).
func (d *Decision) Failed() bool { return d.Class != "" }

// Engine applies a compiled policy. It is safe for concurrent use; its cache
// is shared by all callers.
type Engine struct {
	policy  *policy.Compiled
	client  *oci.Client
	trust   root.TrustedMaterial
	rules   map[*policy.Rule]*ruleVerifiers
	gates   *Verifier                    // receipts: the trusted gates' keys; nil without receipts
	noGates bool                         // WithoutReceipts
	heads   map[string]*taghead.Verifier // by rule (and repository, for a root pinned by digest)
	headDir string
	headMu  sync.Mutex
	workers int
	now     func() time.Time
	pos     *expirable.LRU[string, []PolicyCheck]
	neg     *expirable.LRU[string, []PolicyCheck]
	tags    *expirable.LRU[string, tagMemo] // tag name -> the digest last judged for it
	flight  singleflight.Group
	stats   *EngineStats
	// prefetches are the discoveries started for digest references while
	// they are resolved (by digest verdict key, *prefetch).
	prefetches sync.Map
	// legacyRepos are the repositories (by name) where an image's signature
	// was found in cosign's legacy .sig tag after its referrers did not pass
	// a rule of one signer: their images' .sig tags are read at once, with
	// the referrers. At most maxLegacyRepos are remembered.
	legacyRepos   sync.Map
	legacyRepoCnt atomic.Int32
	// everySignature: WithEverySignature.
	everySignature bool
	// recalls are the policy's recall list and WithEngineRecalls'.
	recalls []*policy.Recalls
	// recallKey is what of the recall lists a cached verdict was made
	// under beyond the policy digest (which covers the policy's own list).
	recallKey string
	// extra: artifacts given besides the attached ones (WithEngineArtifacts).
	extra []oci.Artifact
	// extraRevocations: a list given besides the policy's revokes keys,
	// which no gate's receipt (made under the policy digest) accounts for.
	extraRevocations bool
	// maxPredicate caps detached predicates (WithEngineMaxPredicateBytes).
	maxPredicate int64
}

// tagMemo is the digest a tag reference was last judged at, recorded only
// once the reference-dependent checks (lock, signed head) passed: failure
// mode receipt pins the tag to it.
type tagMemo struct {
	digest string
	// signedHead: the digest passed the signed-head check, whose metadata
	// is valid until headExpires.
	signedHead  bool
	headExpires time.Time
}

// EngineStats counts what an engine did; pass one to several engines (as a
// policy reload replaces them) to keep the counts going. Safe for
// concurrent use.
type EngineStats struct {
	// CacheHits and CacheMisses count digest verdicts found in and missing
	// from the cache (only with WithCache).
	CacheHits, CacheMisses atomic.Int64
	// Verifications counts digest verdicts computed from the registry
	// (concurrent requests for one digest share one).
	Verifications atomic.Int64
}

type ruleVerifiers struct {
	signatures *Verifier   // nil: no signers
	attest     []*Verifier // one per attestation requirement
}

// EngineOption configures NewEngine.
type EngineOption func(*Engine)

// WithEngineTrustedRoot trusts a Sigstore trusted root's logs. Default none.
func WithEngineTrustedRoot(tr root.TrustedMaterial) EngineOption {
	return func(e *Engine) { e.trust = tr }
}

// WithCache keeps up to size digest verdicts: passes for posTTL (no longer
// than their attestations stay within maxAge, and their receipt within the
// receipts' maxAge), failures for negTTL (keep it shorter). Transient
// failures are never cached. Default: no cache.
func WithCache(size int, posTTL, negTTL time.Duration) EngineOption {
	return func(e *Engine) {
		e.pos = expirable.NewLRU[string, []PolicyCheck](size, nil, posTTL)
		e.neg = expirable.NewLRU[string, []PolicyCheck](size, nil, negTTL)
		e.tags = expirable.NewLRU[string, tagMemo](size, nil, posTTL)
	}
}

// WithTagHeadState keeps what signed-tag-head checks have trusted under dir,
// so a rollback is caught across runs. Default: a directory for the
// engine's lifetime, made on first use.
func WithTagHeadState(dir string) EngineOption { return func(e *Engine) { e.headDir = dir } }

// WithStats counts cache hits, misses and verifications into s (nil: the
// engine keeps its own).
func WithStats(s *EngineStats) EngineOption {
	return func(e *Engine) {
		if s != nil {
			e.stats = s
		}
	}
}

// WithEverySignature makes the engine read and judge every image signature
// attached, cosign's legacy .sig tag with the referrers too, whatever the
// rule needs, so that a decision's evidence accounts for each one (signet
// inspect shows why each counted or not). The verdict is the same; it costs
// a registry request per image signed in the referrers. Default: a rule of
// one signer reads the .sig tag only when the referrers do not meet it.
func WithEverySignature() EngineOption { return func(e *Engine) { e.everySignature = true } }

// WithoutReceipts makes the engine verify every image itself, ignoring the
// policy's receipts section. A push gate needs this: a verdict that rested
// on a receipt (its own, earlier) is not a verification it may sign again.
// Default: receipts count when the policy has a receipts section.
func WithoutReceipts() EngineOption { return func(e *Engine) { e.noGates = true } }

// WithEngineRecalls applies recall lists besides the one the policy names:
// a recalled digest is refused (class revoked) before any cache, receipt or
// registry is consulted, and signatures by a revoked key count only when a
// trusted time places them before the revocation. Verdicts are cached
// under the lists' digests, so a new list never meets a verdict made
// under an older one. Default: only the policy's.
func WithEngineRecalls(lists ...*policy.Recalls) EngineOption {
	return func(e *Engine) {
		for _, l := range lists {
			if l != nil {
				e.recalls = append(e.recalls, l)
				e.recallKey += "|recalls:" + l.Digest
				e.extraRevocations = e.extraRevocations || l.HasKeys()
			}
		}
	}
}

// WithEngineArtifacts considers artifacts besides those attached to each
// image (see WithExtraArtifacts): bundles read from files given with the
// engine. They are fixed for the engine's lifetime, so the verdicts it
// caches per digest stay right; an engine given other files must be a new
// engine. Receipts are not looked for among them. Default: none.
func WithEngineArtifacts(arts ...oci.Artifact) EngineOption {
	return func(e *Engine) { e.extra = append(e.extra, arts...) }
}

// WithWorkers sets how many images DecideAll verifies at once. Default 8.
func WithWorkers(n int) EngineOption { return func(e *Engine) { e.workers = max(1, n) } }

// WithEngineClock sets the clock for maxAge. Default time.Now.
func WithEngineClock(now func() time.Time) EngineOption { return func(e *Engine) { e.now = now } }

// NewEngine prepares the verifiers every rule needs.
func NewEngine(client *oci.Client, p *policy.Compiled, opts ...EngineOption) (*Engine, error) {
	e := &Engine{policy: p, client: client, rules: map[*policy.Rule]*ruleVerifiers{}, workers: 8, now: time.Now, stats: &EngineStats{}}
	for _, o := range opts {
		o(e)
	}
	if p.Recalls != nil {
		e.recalls = append([]*policy.Recalls{p.Recalls}, e.recalls...)
	}
	vopts := []Option{WithRecalls(e.recalls...), withPlatformsChecked(), WithMaxDetachedBytes(e.maxPredicate)}
	if e.trust != nil {
		vopts = append(vopts, WithTrustedRoot(e.trust))
	}
	ropts := append(slices.Clip(vopts), WithExtraArtifacts(e.extra...))
	for _, r := range p.Rules {
		rv := &ruleVerifiers{}
		var err error
		if rv.signatures, err = signersVerifier(client, r.Signers, ropts, nil); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Pattern, err)
		}
		for _, a := range r.Attestations {
			v, err := signersVerifier(client, r.Signers, ropts, a.Signers)
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.Pattern, err)
			}
			rv.attest = append(rv.attest, v)
		}
		e.rules[r] = rv
	}
	if p.Receipts != nil && !e.noGates {
		var err error
		if e.gates, err = signersVerifier(client, p.Receipts.Gates, vopts, nil); err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
	}
	return e, nil
}

// signersVerifier trusts the signers (only those named in only, when it is
// not empty); nil when none remain.
func signersVerifier(client *oci.Client, signers []*policy.CompiledSigner, vopts []Option, only []string) (*Verifier, error) {
	var ks []Key
	var ids []Identity
	var nps []notary.Principal
	for _, s := range signers {
		if len(only) > 0 && !slices.Contains(only, s.Name) {
			continue
		}
		switch {
		case s.Notation != nil:
			n := s.Notation
			nps = append(nps, notary.Principal{Name: s.Name, Certificates: n.Certificates, SigningAuthority: n.SigningAuthority,
				Subject: n.Subject, TSA: n.TSA, VerifyTimestamp: n.VerifyTimestamp, Revocation: n.Revocation})
		case s.PublicKey != nil:
			ks = append(ks, Key{Name: s.Name, PublicKey: s.PublicKey, ValidFrom: s.ValidFrom, ValidUntil: s.ValidUntil})
		case s.Keyless != nil:
			k := s.Keyless
			id := Identity{Name: s.Name, Issuer: k.Issuer, IssuerRegExp: k.IssuerRegExp, Subject: k.Subject, SubjectRegExp: k.SubjectRegExp}
			if gh := k.GitHub; gh != nil {
				id.GitHubWorkflowRepository, id.GitHubWorkflowRef, id.GitHubWorkflowTrigger = gh.WorkflowRepository, gh.WorkflowRef, gh.WorkflowTrigger
				id.GitHubWorkflowSHA, id.GitHubWorkflowName = gh.WorkflowSHA, gh.WorkflowName
				id.SourceRepositoryURI, id.SourceRepositoryOwnerURI = gh.SourceRepositoryURI, gh.SourceRepositoryOwnerURI
				id.SourceRepositoryRef, id.RunnerEnvironment = gh.SourceRepositoryRef, gh.RunnerEnvironment
			}
			if s.TrustedRoot != nil {
				// A pinned root (github or keyless trustedRoot): this
				// signer's certificates chain to it and nothing else.
				id.Root = s.TrustedRoot
			}
			ids = append(ids, id)
		}
	}
	if len(ks) == 0 && len(ids) == 0 && len(nps) == 0 {
		return nil, nil
	}
	return New(client, ks, append(vopts, WithIdentities(ids...), WithNotation(nps...))...)
}

// DecideAll decides for every image, verifying several at once; the result
// is in input order. The same image given twice is verified once, and
// references to the same digest share its signature and attestation checks,
// so one run fetches no manifest or referrers list twice.
func (e *Engine) DecideAll(ctx context.Context, images []string) []*Decision {
	out := make([]*Decision, len(images))
	first := map[string]int{}
	sem := make(chan struct{}, e.workers)
	run := &runMemo{checks: map[string][]PolicyCheck{}}
	var wg sync.WaitGroup
	for i, img := range images {
		if _, dup := first[img]; dup {
			continue
		}
		first[img] = i
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = e.decide(ctx, img, run)
		}()
	}
	wg.Wait()
	for i, img := range images {
		if out[i] == nil {
			d := *out[first[img]]
			out[i] = &d
		}
	}
	return out
}

// runMemo remembers digest checks within one DecideAll.
type runMemo struct {
	mu     sync.Mutex
	checks map[string][]PolicyCheck
}

// Decide applies the policy to one image. Failures are recorded as checks
// in the Decision, never returned as errors.
func (e *Engine) Decide(ctx context.Context, image string) *Decision {
	return e.decide(ctx, image, nil)
}

// start applies what needs no registry: the reference parses, a rule
// matches, the rule's tag restrictions hold. A nil rule means d is decided.
func (e *Engine) start(image string) (*Decision, name.Reference, *policy.Rule) {
	d := &Decision{Image: image, Mode: "enforce", PolicyHash: e.policy.Hash, RuleIndex: -1}
	ref, err := e.client.ParseReference(image)
	if err != nil {
		d.add("reference", Fail, ClassInvalid, err.Error(), nil)
		return d.finish(), nil, nil
	}
	if why := layoutUnmatchable(image, ref); why != "" {
		d.add("reference", Fail, ClassInvalid, why, nil)
		return d.finish(), nil, nil
	}
	if dg, ok := ref.(name.Digest); ok && e.recalled(d, dg.DigestStr()) {
		// Before any rule, cache or receipt: a recall stops the digest
		// whatever else would admit it.
		return d.finish(), nil, nil
	}
	// Rules see the one canonical spelling of the reference, so every
	// spelling of a registry meets its rule; the registry is asked with ref.
	canon, err := policy.NormalizeReference(ref.Name())
	var rule *policy.Rule
	if err == nil {
		if origin, ok := e.policy.OriginReference(canon); ok {
			// A mirror's image is judged as its origin's, by the origin's
			// rule only: a rule written for the mirror's name never applies.
			d.add("mirror", Pass, "", fmt.Sprintf("%s is a mirror of %s (policy mirrors): judged by the origin's rule", canon, origin), nil)
			canon = origin
		}
		rule, err = e.policy.Match(canon)
	}
	if err != nil {
		d.add("reference", Fail, ClassInvalid, err.Error(), nil)
		return d.finish(), nil, nil
	}
	if rule == nil {
		if e.policy.DefaultAllow {
			d.add("match", Pass, "", "no rule matches "+canon+"; defaultAction allow", nil)
		} else {
			d.add("match", Fail, ClassPolicyDenied, "no rule matches "+canon+"; defaultAction deny", nil)
		}
		return d.finish(), ref, nil
	}
	d.Rule, d.RuleIndex, d.Mode = rule.Pattern, rule.Index, rule.Mode
	d.add("match", Pass, "", fmt.Sprintf("rule images[%d] %q matches %s", rule.Index, rule.Pattern, canon), nil)
	if !e.tagRules(d, ref, rule) {
		d.notEvaluated(ref, rule)
		return d.finish(), nil, nil
	}
	return d, ref, rule
}

func (e *Engine) decide(ctx context.Context, image string, run *runMemo) *Decision {
	d, ref, rule := e.start(image)
	if rule == nil {
		return e.recalledTag(ctx, d, ref)
	}
	if dg, ok := ref.(name.Digest); ok {
		// A digest reference needs no resolving when its verdict is cached.
		key := layoutKey(image) + e.cacheKey(rule, dg)
		if checks, ok := e.cached(key); ok {
			d.Digest, d.Cached = dg.DigestStr(), true
			d.Checks = append(d.Checks, checks...)
			return d.finish()
		}
		defer e.startPrefetch(ctx, key, image, rule, run)()
	}
	t, err := e.client.Resolve(ctx, image)
	if err != nil {
		d.add("resolve", Errored, registryClass(err), err.Error(), nil)
		d.notEvaluated(ref, rule)
		return d.finish()
	}
	d.Digest, d.Tag = t.Digest.DigestStr(), t.Tag
	if !e.lockRule(d, ref, rule) {
		d.notEvaluated(ref, rule)
		return d.finish()
	}
	if _, isTag := ref.(name.Tag); isTag && oci.IsLayoutReference(image) && rule.Tags != nil && rule.Tags.SignedHeads != nil {
		d.add("signed-head", Fail, ClassInvalid, fmt.Sprintf("rule images[%d] requires signed tag heads, which are read from the registry, not from a layout; verify the image at the registry, or reference the layout image by digest", rule.Index), nil)
		d.notEvaluated(ref, rule)
		return d.finish()
	}
	pinned, head, ok := e.signedHeadRule(ctx, d, ref, rule)
	if !ok {
		d.notEvaluated(ref, rule)
		return d.finish()
	}
	if pinned != nil {
		t = pinned
	}
	if e.recalled(d, d.Digest) {
		return d.finish()
	}
	if !oci.IsLayoutReference(image) {
		// A layout's tag is not the registry's: receipts never use it.
		e.rememberTag(ref, d.Digest, head)
	}
	checks, cached := e.digestChecks(ctx, image, t, rule, run)
	d.Cached = cached
	d.Checks = append(d.Checks, checks...)
	return d.finish()
}

// tagRules applies the rule's tag restrictions to the reference as given.
func (e *Engine) tagRules(d *Decision, ref name.Reference, rule *policy.Rule) bool {
	if rule.Tags == nil {
		return true
	}
	tag, isTag := ref.(name.Tag)
	if rule.Tags.DigestRequired && isTag {
		d.add("tags", Fail, ClassPolicyDenied, "a digest is required; the reference names only the tag "+tag.TagStr(), nil)
		return false
	}
	if isTag && !rule.Tags.TagAllowed(tag.TagStr()) {
		d.add("tags", Fail, ClassPolicyDenied, fmt.Sprintf("tag %q is not one of the allowed %v", tag.TagStr(), rule.Tags.AllowedTags), nil)
		return false
	}
	d.add("tags", Pass, "", "reference allowed", nil)
	return true
}

// lockRule checks the resolved digest against the rule's lock file.
func (e *Engine) lockRule(d *Decision, ref name.Reference, rule *policy.Rule) bool {
	tag, isTag := ref.(name.Tag)
	if rule.Tags == nil || rule.Tags.Lock == nil || !isTag {
		return true
	}
	want, ok := rule.Tags.Lock.Digest(tag.Name())
	switch {
	case !ok:
		d.add("lock", Fail, ClassPolicyDenied, fmt.Sprintf("%s is not in the lock file %s", tag.Name(), rule.Tags.LockPath), nil)
		return false
	case want != d.Digest:
		d.add("lock", Fail, ClassPolicyDenied, fmt.Sprintf("tag moved: %s resolves to %s, the lock file pins %s", tag.Name(), d.Digest, want), nil)
		return false
	}
	d.add("lock", Pass, "", "tag still resolves to the locked digest", nil)
	return true
}

// pinKey marks a context whose caller pins tags to the digest decided.
type pinKey struct{}

// PinningTags marks ctx as coming from a caller that pins each allowed tag
// to the digest the decision names (the mutating admission webhook). A tag
// whose registry answer is not its signed head is then judged — and pinned
// — at its signed head instead of refused: moving a tag cannot change what
// runs, nor stop it from running.
func PinningTags(ctx context.Context) context.Context { return context.WithValue(ctx, pinKey{}, true) }

// signedHeadRule requires a tag to resolve to its signed head, which it
// returns (nil when the rule does not apply). For a caller that pins tags
// it also returns the signed head's target when the registry's tag points
// elsewhere: that is what is then judged.
func (e *Engine) signedHeadRule(ctx context.Context, d *Decision, ref name.Reference, rule *policy.Rule) (*oci.Target, *taghead.Head, bool) {
	tag, isTag := ref.(name.Tag)
	if rule.Tags == nil || rule.Tags.SignedHeads == nil || !isTag {
		return nil, nil, true
	}
	v, err := e.headVerifier(ctx, rule, tag.Context())
	var head *taghead.Head
	if err == nil {
		head, err = v.Check(ctx, tag.Context(), tag.TagStr(), d.Digest)
	}
	if taghead.ClassOf(err) == taghead.ClassTagMismatch && ctx.Value(pinKey{}) != nil {
		t, rerr := e.client.Resolve(ctx, tag.Context().Digest(head.Digest).String())
		if rerr == nil {
			d.add("signed-head", Pass, "", fmt.Sprintf("the registry's %s names %s; judging and pinning its signed head %s", tag, d.Digest, head.Digest), nil)
			d.Digest = head.Digest
			return t, head, true
		}
		err = rerr
	}
	if err != nil {
		class := ClassInvalid
		switch taghead.ClassOf(err) {
		case taghead.ClassUnavailable:
			class = ClassTransient
		case taghead.ClassNotSigned:
			// Also when the repository has no metadata: a rule requiring
			// signed heads refuses it; it is no registry failure for the
			// failure mode to answer.
			class = ClassNotFound
		}
		d.add("signed-head", Fail, class, err.Error(), nil)
		return nil, nil, false
	}
	d.add("signed-head", Pass, "", fmt.Sprintf("%s is the signed head of %s", d.Digest, tag), nil)
	return nil, head, true
}

// rememberTag records, for Fallback, the digest a tag reference was judged
// at. Call it only once the reference-dependent checks passed.
func (e *Engine) rememberTag(ref name.Reference, digest string, head *taghead.Head) {
	tag, ok := ref.(name.Tag)
	if !ok || e.tags == nil {
		return
	}
	m := tagMemo{digest: digest}
	if head != nil && head.Digest == digest {
		m.signedHead, m.headExpires = true, head.Expires
	}
	e.tags.Add(tag.Name(), m)
}

func (e *Engine) headVerifier(ctx context.Context, rule *policy.Rule, repo name.Repository) (*taghead.Verifier, error) {
	sh := rule.Tags.SignedHeads
	e.headMu.Lock()
	defer e.headMu.Unlock()
	if e.headDir == "" {
		dir, err := os.MkdirTemp("", "signet-tag-heads-")
		if err != nil {
			return nil, err
		}
		e.headDir = dir
	}
	key := fmt.Sprint(rule.Index)
	if sh.RootJSON == nil {
		key += "|" + repo.Name()
	}
	if v, ok := e.heads[key]; ok {
		return v, nil
	}
	var v *taghead.Verifier
	var err error
	if sh.RootJSON == nil {
		// Pinned by digest: each repository's own 1.root.json must match.
		v, err = taghead.VerifierForDigest(ctx, e.client, repo, sh.RootDigest, e.headDir)
	} else {
		v, err = taghead.NewVerifier(e.client, sh.RootJSON, e.headDir)
	}
	if err != nil {
		return nil, err
	}
	v.WithClock(e.now)
	if e.heads == nil {
		e.heads = map[string]*taghead.Verifier{}
	}
	e.heads[key] = v
	return v, nil
}

// digestChecks runs (or recalls) the checks that depend only on the digest
// and the policy: signatures and attestations.
func (e *Engine) digestChecks(ctx context.Context, image string, t *oci.Target, rule *policy.Rule, run *runMemo) ([]PolicyCheck, bool) {
	key := layoutKey(image) + e.cacheKey(rule, t.Digest)
	if c, ok := e.cached(key); ok {
		return c, true
	}
	if run != nil {
		run.mu.Lock()
		c, ok := run.checks[key]
		run.mu.Unlock()
		if ok {
			return c, false
		}
	}
	return e.memo(key, run, func() []PolicyCheck { return e.evaluate(ctx, image, t, rule, e.takePrefetch(key)) }), false
}

// memo computes checks once for concurrent callers of one key, and keeps
// them in the run's memo and in the cache (never a transient failure).
func (e *Engine) memo(key string, run *runMemo, compute func() []PolicyCheck) []PolicyCheck {
	v, _, _ := e.flight.Do(key, func() (any, error) {
		e.stats.Verifications.Add(1)
		checks := compute()
		if run != nil {
			run.mu.Lock()
			run.checks[key] = checks
			run.mu.Unlock()
		}
		if e.pos != nil {
			transient, failed := false, false
			for _, c := range checks {
				transient = transient || c.Class == ClassTransient
				failed = failed || c.Class != ""
			}
			switch {
			case transient:
			case failed:
				e.neg.Add(key, checks)
			default:
				e.pos.Add(key, checks)
			}
		}
		return checks, nil
	})
	return v.([]PolicyCheck)
}

// cacheKey identifies a digest verdict: policy, rule and digest. Checks
// that depend on how the image was referenced (tags, locks) are not part of
// a verdict and never cached.
func (e *Engine) cacheKey(rule *policy.Rule, d name.Digest) string {
	return e.policy.Hash + e.recallKey + "|" + fmt.Sprint(rule.Index) + "|" + d.String()
}

func (e *Engine) cached(key string) ([]PolicyCheck, bool) {
	if e.pos == nil {
		return nil, false
	}
	c, ok := e.pos.Get(key)
	if ok && expired(c, e.now()) {
		// Verifying again now would refuse what a time limit no longer
		// allows: the cached pass ends with it.
		e.pos.Remove(key)
		ok = false
	}
	if !ok {
		c, ok = e.neg.Get(key)
	}
	if ok {
		e.stats.CacheHits.Add(1)
	} else {
		e.stats.CacheMisses.Add(1)
	}
	return c, ok
}

// expired says whether any of the checks has reached the time it expires.
func expired(checks []PolicyCheck, now time.Time) bool {
	return slices.ContainsFunc(checks, func(c PolicyCheck) bool { return !c.expires.IsZero() && !now.Before(c.expires) })
}

// Fallback decides one image without the registry, for when verification
// could not finish (reason says why: a spent deadline, a registry outage).
// The rule's reference checks still apply. Then, with receipts, the image
// is judged by the verdict cached for its digest within the cache TTL — the
// digest it names, or, when pinTags is true (the caller will pin the tag to
// the digest it gets back), the digest its tag was last judged at, which
// passed the lock and, for a rule requiring signed heads, the signed-head
// check (whose metadata must not have expired since). Without a receipt the
// image fails with class transient; warn and audit rules still allow.
func (e *Engine) Fallback(image, reason string, receipts, pinTags bool) *Decision {
	d, ref, rule := e.start(image)
	if rule == nil {
		if _, isTag := ref.(name.Tag); isTag && d.Allowed && e.recallsDigests() {
			d.add("recall", Errored, ClassTransient, reason+"; a recall list is in force and what "+image+
				" names cannot be known without the registry (reference the image by digest)", nil)
			return d.finish()
		}
		if ref != nil && d.Allowed && e.recallsDigests() {
			d.add("recall", Errored, ClassTransient, reason+"; a recall list is in force and whether "+image+
				" is an index listing a recalled manifest cannot be known without the registry", nil)
			return d.finish()
		}
		return d
	}
	if !receipts {
		d.add("verify", Errored, ClassTransient, reason+" (failure mode closed)", nil)
		return d.finish()
	}
	var dg name.Digest
	var m tagMemo // for a tag: the digest it was last judged at
	switch r := ref.(type) {
	case name.Digest:
		dg = r
	case name.Tag:
		ok := false
		if pinTags && e.tags != nil {
			m, ok = e.tags.Get(r.Name())
		}
		if !ok {
			why := "no verified digest of this tag within the cache TTL"
			if !pinTags {
				why = "a tag reference cannot be admitted on a receipt (the node could pull another digest); pin it with the mutating webhook or reference a digest"
			}
			d.add("receipt", Errored, ClassTransient, reason+"; "+why+" (failure mode receipt)", nil)
			return d.finish()
		}
		d.Tag = r.TagStr()
		dg = r.Context().Digest(m.digest)
	}
	d.Digest = dg.DigestStr()
	if e.recalled(d, d.Digest) || !e.lockRule(d, ref, rule) || !e.rememberedHead(d, ref, rule, m, reason) {
		return d.finish()
	}
	checks, ok := e.cached(e.cacheKey(rule, dg))
	if !ok {
		d.add("receipt", Errored, ClassTransient, reason+"; no verdict for "+d.Digest+" within the cache TTL (failure mode receipt)", nil)
		return d.finish()
	}
	d.add("receipt", Pass, "", reason+"; judged by the verdict cached for "+d.Digest+" (failure mode receipt)", nil)
	d.Cached = true
	d.Checks = append(d.Checks, checks...)
	return d.finish()
}

// rememberedHead is the signed-head rule without the registry: a tag may be
// pinned only to a digest that passed the signed-head check, while the
// metadata it was checked against has not expired.
func (e *Engine) rememberedHead(d *Decision, ref name.Reference, rule *policy.Rule, m tagMemo, reason string) bool {
	tag, isTag := ref.(name.Tag)
	if rule.Tags == nil || rule.Tags.SignedHeads == nil || !isTag {
		return true
	}
	switch {
	case !m.signedHead:
		d.add("signed-head", Errored, ClassTransient, fmt.Sprintf("%s; the signed head of %s cannot be checked without the registry, "+
			"and %s did not pass the signed-head check within the cache TTL (failure mode receipt)", reason, tag, m.digest), nil)
		return false
	case !e.now().Before(m.headExpires):
		d.add("signed-head", Errored, ClassTransient, fmt.Sprintf("%s; %s was the signed head of %s, but the metadata naming it expired at %s: "+
			"it must be verified again with the registry (failure mode receipt)", reason, m.digest, tag, m.headExpires.Format(time.RFC3339)), nil)
		return false
	}
	d.add("signed-head", Pass, "", fmt.Sprintf("%s; pinning the signed head %s of %s verified within the cache TTL (metadata valid until %s)",
		reason, m.digest, tag, m.headExpires.Format(time.RFC3339)), nil)
	return true
}

func (e *Engine) evaluate(ctx context.Context, image string, t *oci.Target, rule *policy.Rule, pre *prefetch) []PolicyCheck {
	var d Decision
	arts, sigRead, err := e.discover(ctx, t, rule, pre)
	if err != nil {
		d.add("discover", Errored, registryClass(err), err.Error(), nil)
		return d.Checks
	}
	if err := readNotationAttestations(ctx, e.client, t, arts, notationAttestationTypes(rule, e.rules[rule])); err != nil {
		d.add("discover", Errored, registryClass(err), err.Error(), nil)
		return d.Checks
	}
	if !e.platformsRecalled(ctx, &d, t) {
		return d.Checks
	}
	if e.gates != nil && e.receiptsCount(&d) && e.receiptCheck(ctx, &d, image, t, arts, rule) {
		return d.Checks
	}
	if PlatformMode(rule.Platforms).perPlatform() && t.Descriptor.MediaType.IsIndex() {
		e.platformsCheck(ctx, &d, image, t, rule)
		return d.Checks
	}
	e.requirements(ctx, &d, image, t, arts, sigRead, rule)
	return d.Checks
}

// requirements checks the rule's signatures and attestations on t's digest;
// sigRead says whether arts include what cosign's legacy .sig tag holds.
func (e *Engine) requirements(ctx context.Context, d *Decision, image string, t *oci.Target, arts []oci.Artifact, sigRead bool, rule *policy.Rule) {
	rv := e.rules[rule]
	mode := TlogMode(rule.TransparencyLog)
	origin := e.originRepository(t)
	e.signatureCheck(ctx, d, image, t, arts, sigRead, rule, rv, Request{TransparencyLog: mode, SignedRepository: origin})
	for i, a := range rule.Attestations {
		e.attestationCheck(ctx, d, image, t, arts, a, rv.attest[i], mode, origin)
	}
}

// notationAttestationTypes are the predicate types of the rule's
// attestation requirements that Notation signers may meet: the Notation
// signatures of attestation artifacts are read for these only.
func notationAttestationTypes(rule *policy.Rule, rv *ruleVerifiers) []string {
	var out []string
	for i, a := range rule.Attestations {
		if v := rv.attest[i]; v != nil && v.notation != nil && !slices.Contains(out, a.PredicateType) {
			out = append(out, a.PredicateType)
		}
	}
	return out
}

// originRepository is the origin repository (normalised) of an image at a
// mirror the policy maps, or "" for any other image.
func (e *Engine) originRepository(t *oci.Target) string {
	repo, err := policy.NormalizeRepository(t.Digest.Context().Name())
	if err != nil {
		return ""
	}
	origin, _ := e.policy.Origin(repo)
	return origin
}

func (e *Engine) signatureCheck(ctx context.Context, d *Decision, image string, t *oci.Target, arts []oci.Artifact, sigRead bool, rule *policy.Rule, rv *ruleVerifiers, req Request) {
	if len(rule.Signers) == 0 {
		d.add("signatures", Skip, "", "the rule requires no signatures", nil)
		return
	}
	if rule.Threshold == 0 {
		d.add("signatures", Skip, "", "threshold 0: the rule requires no image signature; its attestations decide", nil)
		return
	}
	var verified []string
	var ev []Evidence
	var res *Result
	var m map[int]string
	if rv.signatures != nil {
		res, _ = rv.signatures.evalSignatures(ctx, image, t, arts, req)
		if !sigRead && len(matchPrincipals(res.Signatures)) < rule.Threshold {
			// The referrers do not pass it: the full check, with the
			// legacy .sig tag's signatures beside theirs.
			legacy, err := e.client.Legacy(ctx, t, true, false)
			if err != nil {
				d.add("discover", Errored, registryClass(err), err.Error(), nil)
				return
			}
			if len(legacy) > 0 {
				e.rememberLegacyRepo(t)
				res, _ = rv.signatures.evalSignatures(ctx, image, t, append(slices.Clip(arts), legacy...), req)
			}
		}
		// Distinct principals, whatever format each signed in: one
		// signature counts for one of the signers it verifies for.
		m = matchPrincipals(res.Signatures)
		for i, s := range res.Signatures {
			e := evidenceOf(s, "")
			if p, ok := m[i]; ok {
				e.Signer = p
			}
			ev = append(ev, e)
		}
		verified = countedPrincipals(res.Signatures, m)
		// In the policy's order, not the registry's (which lists
		// referrers in its own order): the same verdict reads the same.
		order := map[string]int{}
		for i, s := range rule.Signers {
			order[s.Name] = i
		}
		slices.SortStableFunc(verified, func(a, b string) int { return order[a] - order[b] })
	}
	msg := fmt.Sprintf("%d of %d required signers: %s", len(verified), rule.Threshold, listOrNone(verified))
	if len(verified) >= rule.Threshold {
		d.add("signatures", Pass, "", msg, ev)
		d.Checks[len(d.Checks)-1].expires = countedUntil(res, m)
		return
	}
	class := ClassInvalid
	switch {
	case res == nil || len(res.Signatures) == 0:
		class, msg = ClassNotFound, msg+"; no signatures found"
	case len(verified) > 0:
		// Valid signatures, too few signers: the policy's threshold refuses
		// the image, not the cryptography.
		var missing []string
		for _, s := range rule.Signers {
			if !slices.Contains(verified, s.Name) {
				missing = append(missing, s.Name)
			}
		}
		class, msg = ClassPolicyDenied, fmt.Sprintf("%s; the rule needs %d different signers; no valid signature by %s", msg, rule.Threshold, strings.Join(missing, " or "))
		if r := refusals(res); r != "" {
			msg += "; refused: " + r
		}
	default:
		class = timeClass(res, class)
		msg += "; refused: " + refusals(res)
	}
	d.add("signatures", Fail, class, msg, ev)
}

// countedUntil is when the earliest counted signature stops verifying by
// the clock (a Notation envelope or chain expiring), zero when none does:
// a cached pass ends then and is verified again.
func countedUntil(res *Result, m map[int]string) time.Time {
	var until time.Time
	for i := range m {
		if u := res.Signatures[i].validUntil; !u.IsZero() && (until.IsZero() || u.Before(until)) {
			until = u
		}
	}
	return until
}

func (e *Engine) attestationCheck(ctx context.Context, d *Decision, image string, t *oci.Target, arts []oci.Artifact, a *policy.CompiledAttestation, v *Verifier, mode TlogMode, origin string) {
	name := "attestation " + a.Name
	if v == nil {
		d.add(name, Errored, ClassInvalid, "the requirement names no signer of this rule", nil)
		return
	}
	res, err := v.evalAttestations(ctx, image, t, arts, AttestationRequest{PredicateType: a.PredicateType, Condition: a.Cond,
		TransparencyLog: mode, MaxAge: a.MaxAge, Clock: e.now, SignedRepository: origin})
	var ev []Evidence
	for _, s := range res.Signatures {
		ev = append(ev, evidenceOf(s, a.PredicateType))
	}
	if err == nil {
		signer := ""
		var until time.Time // the latest a passing statement stays within maxAge
		for _, s := range res.Signatures {
			if s.Verified && signer == "" {
				signer = s.Key
			}
			if s.Verified && s.validUntil.After(until) {
				until = s.validUntil
			}
		}
		d.add(name, Pass, "", fmt.Sprintf("%s signed by %s", a.PredicateType, signer), ev)
		d.Checks[len(d.Checks)-1].expires = until
		return
	}
	class := ClassInvalid
	switch {
	case errors.Is(err, ErrNoSignatures):
		class = ClassNotFound
	case errors.Is(err, ErrConditionFalse), errors.Is(err, ErrTooOld), errors.Is(err, ErrFutureTime):
		class = ClassPolicyDenied
	default:
		class = timeClass(res, class)
	}
	msg := "no valid attestation: " + refusals(res)
	if class == ClassNotFound {
		msg = "no " + a.PredicateType + " attestation found"
	}
	d.add(name, Fail, class, msg, ev)
}

func evidenceOf(s Signature, pt string) Evidence {
	ev := Evidence{Signer: s.Key, Format: string(s.Format), KeyID: s.KeyID, Layout: string(s.Layout), Manifest: s.Manifest, PredicateType: pt}
	for _, l := range s.Log {
		if l.Verified {
			idx := l.Index
			ev.LogIndex = &idx
		}
	}
	if !s.Verified {
		ev.Refused = s.Error
	}
	return ev
}

func refusals(res *Result) string {
	type refusal struct{ err, where string }
	var rs []refusal
	for _, s := range res.Signatures {
		if !s.Verified {
			r := refusal{s.Error, fmt.Sprintf("%s %s", s.Layout, short12(s.Manifest))}
			if !slices.Contains(rs, r) {
				rs = append(rs, r)
			}
		}
	}
	// By reason, so the message does not depend on the registry's order.
	slices.SortFunc(rs, func(a, b refusal) int { return strings.Compare(a.err+a.where, b.err+b.where) })
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.where + ": " + r.err
	}
	return strings.Join(parts, "; ")
}

// short12 is a digest's first 12 hex digits; anything else (a bundle
// file's name and line) is returned whole.
func short12(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && (alg == "sha256" || alg == "sha512") && len(hex) > 12 {
		return hex[:12]
	}
	return d
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func registryClass(err error) Class {
	switch {
	case errors.Is(err, oci.ErrNotFound):
		return ClassNotFound
	case errors.Is(err, oci.ErrCorrupt), errors.Is(err, oci.ErrNotLayout), errors.Is(err, oci.ErrInvalidReference):
		// A layout on disk: reading it again gives the same answer.
		return ClassInvalid
	}
	return ClassTransient
}

// notEvaluated records, once a failure has ended the decision early, every
// other check the rule has as skipped and why, so an explanation lists them
// all. A skipped check never changes the verdict.
func (d *Decision) notEvaluated(ref name.Reference, rule *policy.Rule) {
	failed := ""
	done := map[string]bool{}
	for _, c := range d.Checks {
		done[c.Name] = true
		if failed == "" && (c.Outcome == Fail || c.Outcome == Errored) {
			failed = c.Name
		}
	}
	if failed == "" {
		return
	}
	var names []string
	if _, isTag := ref.(name.Tag); isTag && rule.Tags != nil {
		names = append(names, "tags")
		if rule.Tags.Lock != nil {
			names = append(names, "lock")
		}
		if rule.Tags.SignedHeads != nil {
			names = append(names, "signed-head")
		}
	}
	if len(rule.Signers) > 0 {
		names = append(names, "signatures")
	}
	for _, a := range rule.Attestations {
		names = append(names, "attestation "+a.Name)
	}
	for _, n := range names {
		if !done[n] {
			d.add(n, Skip, "", "not evaluated: the "+failed+" check failed first", nil)
		}
	}
}

func (d *Decision) add(name string, o Outcome, c Class, msg string, ev []Evidence) {
	d.Checks = append(d.Checks, PolicyCheck{Name: name, Outcome: o, Class: c, Message: msg, Evidence: ev})
}

// finish decides from the checks: the first failure decides; warn and audit
// modes allow anyway.
func (d *Decision) finish() *Decision {
	d.Allowed = true
	for _, c := range d.Checks {
		if c.Outcome == Fail || c.Outcome == Errored {
			d.Class = c.Class
			d.Reason = c.Name + " [" + string(c.Class) + "]: " + c.Message
			// A recalled digest is refused in every mode: a recall is a stop.
			d.Allowed = (d.Mode == "warn" || d.Mode == "audit") && c.Name != "recall"
			break
		}
	}
	return d
}

// PolicyHash identifies the engine's policy document.
func (e *Engine) PolicyHash() string { return e.policy.Hash }

// PolicyName is the policy's metadata.name ("" when unnamed).
func (e *Engine) PolicyName() string {
	if e.policy.Source == nil {
		return ""
	}
	return e.policy.Source.Metadata.Name
}

// layoutUnmatchable says why an image in an OCI layout cannot be matched
// against the policy's rules: it was given no repository (the layout's
// pseudo-repository in LayoutRegistry), so any rule it matched — a
// catch-all, say — could be laxer than the one its registry image meets.
func layoutUnmatchable(image string, ref name.Reference) string {
	if !oci.IsLayoutReference(image) || ref.Context().RegistryStr() != oci.LayoutRegistry {
		return ""
	}
	return "an image in an OCI layout has no registry or repository for the policy's images: patterns; " +
		"name the repository it is a copy of with --layout-repository REGISTRY/REPOSITORY, and the rule for that repository judges it"
}

// layoutKey keeps the verdicts of layout images apart from those of the
// registry images they copy, and of other layouts.
func layoutKey(image string) string {
	lr, err := oci.ParseLayoutReference(image)
	if err != nil {
		return ""
	}
	return "layout:" + lr.Dir + "|"
}
