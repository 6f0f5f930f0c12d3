// Package policy is Signet's policy document: which images must be signed
// by whom, which attestations they must carry and what those must say, and
// how tags may be used. It parses and validates the document (errors name
// the field and line), compiles patterns and CEL conditions at load time,
// and picks the rule for an image. Package verify's Engine applies it.
package policy

// APIVersion and Kind identify a policy document.
const (
	APIVersion = "signet.dev/v1alpha1"
	Kind       = "Policy"
)

// Policy is the document.
type Policy struct {
	// APIVersion must be signet.dev/v1alpha1.
	APIVersion string `json:"apiVersion" yaml:"apiVersion" jsonschema:"enum=signet.dev/v1alpha1"`
	// Kind must be Policy.
	Kind string `json:"kind" yaml:"kind" jsonschema:"enum=Policy"`
	// Metadata names the policy.
	Metadata Metadata `json:"metadata,omitempty" yaml:"metadata,omitempty"`
	// DefaultAction applies to images no rule matches: deny (default) or allow.
	DefaultAction string `json:"defaultAction,omitempty" yaml:"defaultAction,omitempty" jsonschema:"enum=deny,enum=allow"`
	// Images are the rules; for an image the most specific matching pattern wins.
	Images []ImageRule `json:"images" yaml:"images"`
	// Receipts let a trusted push gate's signed verdict (a SLSA verification
	// summary) stand in for verifying signatures and attestations again —
	// only for the same decision: PASSED by a gate running this very policy
	// (same digest, same rule) for this repository and digest, the newest
	// summary from that gate, and recent enough.
	Receipts *Receipts `json:"receipts,omitempty" yaml:"receipts,omitempty"`
	// Recalls is a recall list file (relative to the policy): recalled
	// digests are refused with class revoked, and signatures by keys it
	// revokes count only when a trusted time places them before the
	// revocation. Its content is part of the policy digest.
	Recalls string `json:"recalls,omitempty" yaml:"recalls,omitempty"`
	// Mirrors map a mirror's registry or repository prefix to the origin it
	// copies (signet copy): an image at the mirror is judged as its origin
	// image — by the origin's rule, never by a rule written for the mirror's
	// name — and its signatures and attestations must name the origin
	// repository where they name one.
	Mirrors []Mirror `json:"mirrors,omitempty" yaml:"mirrors,omitempty"`
}

// Mirror maps a mirror prefix to its origin prefix: with mirror
// mirror.internal/acme and origin registry.example.com/acme, the image
// mirror.internal/acme/app:v1 is judged as registry.example.com/acme/app:v1.
// Prefixes end at a path boundary (mirror.internal/acme does not cover
// mirror.internal/acme-evil).
type Mirror struct {
	// Mirror is a registry (mirror.internal) or registry/repository prefix.
	Mirror string `json:"mirror" yaml:"mirror"`
	// Origin is the registry or registry/repository prefix it copies.
	Origin string `json:"origin" yaml:"origin"`
}

// Receipts says whose verification summaries count, and for how long. A
// summary counts only when it is the newest from its gate for this image
// (a newer FAILED revokes an older PASSED), says PASSED, names this
// repository and digest (resourceUri and subject), was decided under this
// policy's digest and the rule that applies here, is no older than MaxAge
// and not dated in the future. The policy digest covers the document and
// the key material it names (key files, env and KMS keys, keyless
// identities, gate keys, lock files, signed-heads roots, the recall
// list): the gate must
// run the same policy with the same keys, or be listed in PolicyDigests.
// A rule whose attestations have a MaxAge takes no receipt: a summary says
// when the gate verified, not when the attestations grow too old.
type Receipts struct {
	// Gates are the push gates' keys (signers; keyless identities work too).
	Gates []Signer `json:"gates" yaml:"gates"`
	// MaxAge bounds the age of a receipt's timeVerified (default 24h).
	MaxAge string `json:"maxAge,omitempty" yaml:"maxAge,omitempty"`
	// VerifierID, when set, must equal the receipt's verifier.id.
	VerifierID string `json:"verifierId,omitempty" yaml:"verifierId,omitempty"`
	// PolicyDigests are other policies (SHA-256, hex, as `signet policy
	// validate` prints them) whose gate verdicts count in addition to this
	// policy's own, for any rule: list a gate policy here only when it is at
	// least as strict as this one for every image it passes. Without it,
	// only receipts decided under this very policy count.
	PolicyDigests []string `json:"policyDigests,omitempty" yaml:"policyDigests,omitempty"`
}

// Metadata names a policy.
type Metadata struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
}

// ImageRule says what images matching Pattern need.
type ImageRule struct {
	// Pattern is a glob over the full image reference, e.g.
	// registry.example.com/team/** (** crosses path segments, * does not),
	// matched whole against the reference as NormalizeReference spells it.
	// Its registry is spelled the same way when the policy is loaded
	// (REGISTRY.EXAMPLE.COM:443/team/** is registry.example.com/team/**,
	// nginx:* is docker.io/library/nginx:*); a pattern that starts with a
	// wildcard is matched as written.
	Pattern string `json:"pattern" yaml:"pattern"`
	// Mode is enforce (default: failures deny), warn (allow, with warnings) or
	// audit (allow, recorded).
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty" jsonschema:"enum=enforce,enum=warn,enum=audit"`
	// Signers are the trusted signers for this rule.
	Signers []Signer `json:"signers,omitempty" yaml:"signers,omitempty"`
	// Threshold is how many distinct signers must have signed the image
	// (default 1). 0 requires no image signature: the rule's attestations,
	// signed by its signers, decide alone (GitHub's attest action, say,
	// makes an attestation and no image signature); it needs attestations.
	Threshold *int `json:"threshold,omitempty" yaml:"threshold,omitempty" jsonschema:"minimum=0"`
	// Attestations are the attestations the image must carry.
	Attestations []AttestationRule `json:"attestations,omitempty" yaml:"attestations,omitempty"`
	// TransparencyLog is required, optional (default) or skip.
	TransparencyLog string `json:"transparencyLog,omitempty" yaml:"transparencyLog,omitempty" jsonschema:"enum=required,enum=optional,enum=skip"`
	// Tags restricts how the image may be referenced.
	Tags *TagRules `json:"tags,omitempty" yaml:"tags,omitempty"`
	// Platforms says what a multi-platform image (an index) must carry:
	// index (default) — the rule's signatures and attestations on the
	// index's digest, which covers every platform manifest's digest, so
	// one signature binds them all (what cosign sign makes without
	// --recursive); every — on each platform manifest the index lists
	// (after PlatformFilter), on its own digest (an SBOM per platform),
	// and the index is denied when one fails, as a node pulls one platform
	// and admission cannot know which; any — on at least one, which lets a
	// node pull an unverified platform: for audit and warn rules. An image
	// that is not an index ignores it.
	Platforms string `json:"platforms,omitempty" yaml:"platforms,omitempty" jsonschema:"enum=index,enum=every,enum=any"`
	// PlatformFilter limits every and any to these platforms, written
	// os/arch or os/arch/variant (linux/amd64, linux/arm/v7) and matched
	// exactly, no globs; os/arch matches every variant of it. A manifest
	// the index lists without a platform is always checked.
	PlatformFilter []string `json:"platformFilter,omitempty" yaml:"platformFilter,omitempty"`
}

// Signer is a named key, keyless identity, Notation principal or GitHub
// workflow: exactly one of Key, PublicKey, Keyless, Notation or GitHub.
type Signer struct {
	// Name identifies the signer in thresholds, attestation rules and verdicts.
	Name string `json:"name" yaml:"name"`
	// Key is a public key file (relative to the policy file), env://VAR, or a KMS URI.
	Key string `json:"key,omitempty" yaml:"key,omitempty"`
	// PublicKey is an inline PEM public key.
	PublicKey string `json:"publicKey,omitempty" yaml:"publicKey,omitempty"`
	// Keyless is a certificate identity (Fulcio), checked against the
	// certificate authorities of the verifier's trusted root.
	Keyless *Keyless `json:"keyless,omitempty" yaml:"keyless,omitempty"`
	// Notation is a Notation (notaryproject.dev) principal: signatures in
	// Notation's JWS or COSE envelopes whose certificate chain a trust
	// store certifies, with Notation's trust policy semantics.
	Notation *NotationSigner `json:"notation,omitempty" yaml:"notation,omitempty"`
	// GitHub is a GitHub Actions workflow identity: GitHub artifact
	// attestations and keyless signatures made in Actions by this
	// workflow. It is a keyless identity written in GitHub's terms.
	GitHub *GitHubWorkflow `json:"github,omitempty" yaml:"github,omitempty"`
	// ValidFrom (RFC 3339) is when the key starts to count: a signature
	// counts only when a trusted time (a verified transparency-log
	// integrated time, or an RFC 3161 timestamp from a trusted authority)
	// places it at or after this. Keys only, not certificate identities
	// (keyless, notation, github).
	ValidFrom string `json:"validFrom,omitempty" yaml:"validFrom,omitempty" jsonschema:"format=date-time"`
	// ValidUntil (RFC 3339) is when the key stops counting (retired): a
	// signature counts only when a trusted time places it before this, so
	// signatures made earlier stay valid and new ones are refused. A
	// signature without a trusted time never counts for a key with a window.
	ValidUntil string `json:"validUntil,omitempty" yaml:"validUntil,omitempty" jsonschema:"format=date-time"`
}

// Keyless is an OIDC identity in a Fulcio certificate.
type Keyless struct {
	// Issuer is the OIDC issuer the certificate must name, exactly.
	Issuer string `json:"issuer,omitempty" yaml:"issuer,omitempty"`
	// IssuerRegExp is a regular expression the issuer must match (anchor it).
	IssuerRegExp string `json:"issuerRegExp,omitempty" yaml:"issuerRegExp,omitempty"`
	// Subject is the certificate's identity (email or URI), exactly.
	Subject string `json:"subject,omitempty" yaml:"subject,omitempty"`
	// SubjectRegExp is a regular expression the identity must match (anchor it).
	SubjectRegExp string `json:"subjectRegExp,omitempty" yaml:"subjectRegExp,omitempty"`
	// GitHub pins the GitHub Actions claims Fulcio records in the certificate.
	GitHub *GitHubClaims `json:"github,omitempty" yaml:"github,omitempty"`
	// TrustedRoot is a Sigstore trusted root JSON file (relative to the
	// policy): when set, this identity's certificates must chain to its
	// certificate authorities (and its logs and timestamp authorities),
	// not to the verifier's default trusted root. Its content is part of
	// the policy digest.
	TrustedRoot string `json:"trustedRoot,omitempty" yaml:"trustedRoot,omitempty"`
}

// GitHubClaims are Fulcio's GitHub workflow certificate extensions. Each
// set field must equal the certificate's claim exactly.
type GitHubClaims struct {
	// WorkflowRepository is the repository the workflow ran in (OWNER/REPO).
	WorkflowRepository string `json:"workflowRepository,omitempty" yaml:"workflowRepository,omitempty"`
	// WorkflowRef is the ref the workflow ran for (refs/heads/main).
	WorkflowRef string `json:"workflowRef,omitempty" yaml:"workflowRef,omitempty"`
	// WorkflowTrigger is the event that started the workflow (push, release, ...).
	WorkflowTrigger string `json:"workflowTrigger,omitempty" yaml:"workflowTrigger,omitempty"`
	// WorkflowSHA is the commit the workflow ran for.
	WorkflowSHA string `json:"workflowSHA,omitempty" yaml:"workflowSHA,omitempty"`
	// WorkflowName is the workflow's name.
	WorkflowName string `json:"workflowName,omitempty" yaml:"workflowName,omitempty"`
	// SourceRepositoryURI is the source repository the build ran from
	// (https://github.com/OWNER/REPO).
	SourceRepositoryURI string `json:"sourceRepositoryURI,omitempty" yaml:"sourceRepositoryURI,omitempty"`
	// SourceRepositoryOwnerURI is the owner of that repository
	// (https://github.com/OWNER).
	SourceRepositoryOwnerURI string `json:"sourceRepositoryOwnerURI,omitempty" yaml:"sourceRepositoryOwnerURI,omitempty"`
	// SourceRepositoryRef is the source ref the build ran for (refs/heads/main, refs/tags/v1).
	SourceRepositoryRef string `json:"sourceRepositoryRef,omitempty" yaml:"sourceRepositoryRef,omitempty"`
	// RunnerEnvironment is github-hosted or self-hosted.
	RunnerEnvironment string `json:"runnerEnvironment,omitempty" yaml:"runnerEnvironment,omitempty" jsonschema:"enum=github-hosted,enum=self-hosted"`
}

// NotationSigner is a Notation principal: a trust store (CA certificates,
// or the signing certificate itself) and the trust policy that applies.
type NotationSigner struct {
	// TrustStore is a PEM file of certificates (relative to the policy):
	// the CA certificates a signature's chain must end in, or the signing
	// (leaf) certificate itself. Give it or Certificates.
	TrustStore string `json:"trustStore,omitempty" yaml:"trustStore,omitempty"`
	// Certificates is the same as TrustStore, inline PEM.
	Certificates string `json:"certificates,omitempty" yaml:"certificates,omitempty"`
	// SigningAuthority makes the trust store of type signingAuthority
	// (signing scheme notary.x509.signingAuthority); default type ca
	// (notary.x509).
	SigningAuthority bool `json:"signingAuthority,omitempty" yaml:"signingAuthority,omitempty"`
	// Subject is the trusted identity: the signing certificate's subject
	// DN must hold these attributes ("CN=Security,O=Acme,C=US"). Default:
	// any certificate the trust store certifies.
	Subject string `json:"subject,omitempty" yaml:"subject,omitempty"`
	// TSA is a PEM file (relative to the policy) of RFC 3161 timestamp
	// authority root certificates. Give it or TSACertificates.
	TSA string `json:"tsa,omitempty" yaml:"tsa,omitempty"`
	// TSACertificates is the same as TSA, inline PEM.
	TSACertificates string `json:"tsaCertificates,omitempty" yaml:"tsaCertificates,omitempty"`
	// VerifyTimestamp is always (default: a timestamp is verified whenever
	// present) or afterCertExpiry (only once the signing certificate has
	// expired), as in Notation's trust policy.
	VerifyTimestamp string `json:"verifyTimestamp,omitempty" yaml:"verifyTimestamp,omitempty" jsonschema:"enum=always,enum=afterCertExpiry"`
	// Revocation is enforce (default: a revoked certificate, or a status
	// that cannot be learned, refuses the signature), log (refuse revoked,
	// log an unknown status) or skip (no revocation check).
	Revocation string `json:"revocation,omitempty" yaml:"revocation,omitempty" jsonschema:"enum=enforce,enum=log,enum=skip"`
}

// GitHubWorkflow is a GitHub Actions workflow identity. It compiles to a
// keyless identity: the certificate's subject must be
// https://HOST/OWNER/REPO/PATH@REF for this workflow, its issuer GitHub
// Actions', and its claims must match the fields set here.
type GitHubWorkflow struct {
	// Workflow is OWNER/REPO/.github/workflows/FILE.yml, optionally with
	// @REF (refs/heads/main, refs/tags/v1.2.3); without @REF any ref.
	Workflow string `json:"workflow" yaml:"workflow"`
	// Repository is the source repository (OWNER/REPO) the build must have
	// run from; default the workflow's repository. Give it or Owner.
	Repository string `json:"repository,omitempty" yaml:"repository,omitempty"`
	// Owner accepts a build from any repository of this owner (a reusable
	// workflow called from across an organisation).
	Owner string `json:"owner,omitempty" yaml:"owner,omitempty"`
	// Ref is the source ref the build must have run for (refs/heads/main).
	Ref string `json:"ref,omitempty" yaml:"ref,omitempty"`
	// RunnerEnvironment is github-hosted or self-hosted.
	RunnerEnvironment string `json:"runnerEnvironment,omitempty" yaml:"runnerEnvironment,omitempty" jsonschema:"enum=github-hosted,enum=self-hosted"`
	// Host is the GitHub host (default github.com; GitHub Enterprise
	// Cloud with data residency: acme.ghe.com).
	Host string `json:"host,omitempty" yaml:"host,omitempty"`
	// Issuer is the OIDC issuer (default
	// https://token.actions.githubusercontent.com).
	Issuer string `json:"issuer,omitempty" yaml:"issuer,omitempty"`
	// TrustedRoot is a Sigstore trusted root JSON file (relative to the
	// policy) the certificate must chain to, e.g. GitHub's own for
	// attestations of private repositories (gh attestation
	// trusted-root). Default: the verifier's trusted root.
	TrustedRoot string `json:"trustedRoot,omitempty" yaml:"trustedRoot,omitempty"`
}

// AttestationRule is an attestation an image must carry.
type AttestationRule struct {
	// Name identifies the requirement in verdicts (default: the type).
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// PredicateType is a cosign --type name (cyclonedx, vuln, ...) or a URI.
	PredicateType string `json:"predicateType" yaml:"predicateType"`
	// Signers names which of the rule's signers may sign it (default: any).
	Signers []string `json:"signers,omitempty" yaml:"signers,omitempty"`
	// Condition is a CEL expression over predicate, predicateType, subject, statement.
	Condition string `json:"condition,omitempty" yaml:"condition,omitempty"`
	// MaxAge bounds the attestation's age (e.g. 168h), measured from a time
	// the verifier trusts when the bundle carries one (a Rekor v1 entry's
	// signed integrated time, an RFC 3161 timestamp), or from the
	// predicate's own time (scan finish, SBOM creation, build finish) when
	// that is earlier or there is none; a time in the future is refused.
	// A trusted time says only that a signature existed by then: a
	// key-signed statement with no time of its own (nor a Notation signing
	// time) cannot show its age — an old one can be logged or timestamped
	// again today — and is refused; a keyless certificate's short validity
	// bounds it.
	MaxAge string `json:"maxAge,omitempty" yaml:"maxAge,omitempty"`
}

// TagRules restrict tag references.
type TagRules struct {
	// DigestRequired refuses references without a digest.
	DigestRequired bool `json:"digestRequired,omitempty" yaml:"digestRequired,omitempty"`
	// AllowedTags are glob patterns a tag must match.
	AllowedTags []string `json:"allowedTags,omitempty" yaml:"allowedTags,omitempty"`
	// Lock is a lock file (signet lock) the tag must still resolve as.
	Lock string `json:"lock,omitempty" yaml:"lock,omitempty"`
	// SignedHeads requires a tag to resolve to its signed head (signet tag
	// sign): the TUF metadata in the registry must name the same digest.
	SignedHeads *SignedHeads `json:"signedHeads,omitempty" yaml:"signedHeads,omitempty"`
}

// SignedHeads configures signed tag heads.
type SignedHeads struct {
	// Required turns the check on.
	Required bool `json:"required" yaml:"required"`
	// Root is the trusted TUF root: a root.json file (relative to the
	// policy), or sha256:<hex> of the repository's 1.root.json.
	Root string `json:"root" yaml:"root"`
}
