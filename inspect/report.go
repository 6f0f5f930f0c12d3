// Package inspect shows a person what is attached to an image: every
// signature and attestation in every storage layout (referrers API, its
// fallback tag, cosign's legacy .sig/.att tags), who made each one, where it
// sits in a transparency log, what its predicate says (SBOM, vulnerability
// scan, SLSA provenance) and, given a policy, how the policy judges it.
//
// Inspect reads; it does not verify. Signer, log and time fields are what
// the artifacts claim; only a Verdict (from a policy) says what checked out.
// Everything read is capped in size, and an artifact that cannot be read is
// reported as unreadable with the reason, never fatal.
package inspect

import "time"

// Report is everything inspect found for one image reference. Its JSON form
// is `signet inspect --output json`; docs/inspect.md describes it.
type Report struct {
	// Image is the reference as given.
	Image string `json:"image"`
	// Tag is the tag it was resolved from, if any.
	Tag string `json:"tag,omitempty"`
	// Subject is the manifest the reference resolves to.
	Subject *Subject `json:"subject"`
	// Policy names the policy the verdicts come from (with --policy).
	Policy *PolicyRef `json:"policy,omitempty"`
	// SignedHead is the tag's signed head (signet tag sign), when the
	// repository publishes them — as stored, not verified.
	SignedHead *SignedHead `json:"signedHead,omitempty"`
}

// SignedHead is what a repository's signed-tag-head metadata says of a tag.
type SignedHead struct {
	Tag            string    `json:"tag"`
	Digest         string    `json:"digest,omitempty"`
	TargetsVersion int64     `json:"targetsVersion"`
	Expires        time.Time `json:"expires"`
	// Matches is true when the registry's tag names the signed digest.
	Matches bool `json:"matches"`
}

// PolicyRef identifies a policy document.
type PolicyRef struct {
	Name string `json:"name,omitempty"`
	Hash string `json:"hash"`
}

// Subject is an image manifest or an index, with what is attached to it.
type Subject struct {
	// Reference is repository@digest.
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	// Platform is os/arch[/variant] for an entry of an index.
	Platform string `json:"platform,omitempty"`
	// Verdict is the policy's decision for this manifest (with --policy).
	Verdict *Verdict `json:"verdict,omitempty"`
	// Recalled says why a recall list recalls this manifest (the list's
	// version and the recall's reason); empty when none does.
	Recalled string `json:"recalled,omitempty"`
	// Artifacts are the signatures, attestations and other referrers.
	Artifacts []*Artifact `json:"artifacts"`
	// Platforms are an index's image manifests.
	Platforms []*Subject `json:"platforms,omitempty"`
	// Error says why the attachments could not be listed.
	Error string `json:"error,omitempty"`
}

// Artifact kinds.
const (
	KindSignature   = "signature"
	KindAttestation = "attestation"
	KindOther       = "other"
)

// Artifact is one thing attached to a subject.
type Artifact struct {
	// Kind is signature, attestation or other.
	Kind string `json:"kind"`
	// Layout is where it was found: referrers-api, fallback-tag or legacy-tag.
	Layout string `json:"layout"`
	// Manifest is the digest of the referrer (or legacy tag) manifest.
	Manifest string `json:"manifest"`
	// Format is sigstore-bundle, simple-signing, dsse-envelope, notation or other.
	Format string `json:"format"`
	// ArtifactType is the referrer's artifact type.
	ArtifactType string `json:"artifactType,omitempty"`
	// PredicateType of an attestation (from the statement when readable).
	PredicateType string `json:"predicateType,omitempty"`
	// Signer is who the artifact says signed it.
	Signer *Signer `json:"signer,omitempty"`
	// Created is when it was made: the log's integrated time, else a
	// timestamp authority's time, else the creation annotation.
	Created *time.Time `json:"created,omitempty"`
	// Log lists the transparency-log entries it carries.
	Log []LogEntry `json:"log,omitempty"`
	// Timestamps are RFC 3161 timestamps it carries.
	Timestamps []Timestamp `json:"timestamps,omitempty"`
	// Notation describes a Notation signature (format notation).
	Notation *Notation `json:"notation,omitempty"`
	// Summary is one line about the content (a predicate's gist).
	Summary string `json:"summary,omitempty"`
	// SBOM, Vulnerabilities and Provenance are the predicate's summary.
	SBOM            *SBOM       `json:"sbom,omitempty"`
	Vulnerabilities *VulnScan   `json:"vulnerabilities,omitempty"`
	Provenance      *Provenance `json:"provenance,omitempty"`
	// Detached is where a detached predicate's document is (attest
	// --detached): the attestation's artifact, folded into it.
	Detached *Detached `json:"detached,omitempty"`
	// Verdict is how the policy judged this artifact (with --policy), when
	// the policy looked at it.
	Verdict *Verdict `json:"verdict,omitempty"`
	// Unreadable says why the artifact could not be read.
	Unreadable string `json:"unreadable,omitempty"`
}

// Detached is the document a detached-predicate statement names.
type Detached struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	// Artifact is the referrer manifest holding it; Found says it is
	// among the subject's referrers (its content is not read here).
	Artifact string `json:"artifact"`
	Found    bool   `json:"found"`
}

// Signer is who an artifact claims signed it. Nothing here is verified.
type Signer struct {
	// ClaimedKeyHint is the key hint a keyed bundle carries: the signer's
	// own, unsigned claim of which key signed, not the key that did.
	ClaimedKeyHint string `json:"claimedKeyHint,omitempty"`
	// Identity and Issuer are a Fulcio certificate's subject and OIDC issuer.
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// Workflow is the GitHub workflow repository@ref, when the certificate has one.
	Workflow string `json:"workflow,omitempty"`
	// Description is the signer in words.
	Description string `json:"description"`
}

// LogEntry is a transparency-log entry an artifact carries.
type LogEntry struct {
	Index int64 `json:"index"`
	// LogID is the log's key id (hex).
	LogID string `json:"logId,omitempty"`
	// Origin is the log's name from its checkpoint (or trusted root).
	Origin         string     `json:"origin,omitempty"`
	Kind           string     `json:"kind,omitempty"`
	IntegratedTime *time.Time `json:"integratedTime,omitempty"`
	// Proof says what the entry carries: inclusion-proof, promise or both.
	Proof string `json:"proof,omitempty"`
}

// Timestamp is an RFC 3161 timestamp.
type Timestamp struct {
	Time      time.Time `json:"time"`
	Authority string    `json:"authority,omitempty"`
}

// Verdict is a policy's judgement.
type Verdict struct {
	// Outcome is allowed, denied, warned (warn/audit mode), verified,
	// refused or unused (an artifact no requirement used); a platform of
	// an index judged under platforms every or any is verified, refused,
	// or unverified (under any, where another platform verified).
	Outcome string `json:"outcome"`
	// Rule is the policy rule that applied.
	Rule string `json:"rule,omitempty"`
	// Check is the failing (or passing) check, in one line.
	Check string `json:"check,omitempty"`
	// Signer is the policy's name for a signer that verified.
	Signer string `json:"signer,omitempty"`
}

// SBOM summarises a CycloneDX or SPDX document.
type SBOM struct {
	Format      string    `json:"format"`
	SpecVersion string    `json:"specVersion,omitempty"`
	Components  int       `json:"components"`
	TopLicenses []Count   `json:"topLicenses,omitempty"`
	Table       []Package `json:"table,omitempty"`
	// Truncated is true when Table holds only the first components.
	Truncated bool `json:"truncated,omitempty"`
}

// Count is a name with how often it occurs.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Package is one component of an SBOM.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Type    string `json:"type,omitempty"`
	License string `json:"license,omitempty"`
	PURL    string `json:"purl,omitempty"`
}

// VulnScan summarises a vulnerability scan.
type VulnScan struct {
	Scanner  string     `json:"scanner,omitempty"`
	Database string     `json:"database,omitempty"`
	ScanTime *time.Time `json:"scanTime,omitempty"`
	// Age is how old the scan was at inspection time ("3d"); the
	// database was at least that old.
	Age string `json:"age,omitempty"`
	// DatabaseAge is how old the vulnerability database was, when the
	// predicate records its build time (scanner.db.version as a time).
	DatabaseAge string    `json:"databaseAge,omitempty"`
	Critical    int       `json:"critical"`
	High        int       `json:"high"`
	Medium      int       `json:"medium"`
	Low         int       `json:"low"`
	Unknown     int       `json:"unknown"`
	Fixable     int       `json:"fixable"`
	Findings    []Finding `json:"findings,omitempty"`
}

// Finding is one vulnerability.
type Finding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Package  string `json:"package,omitempty"`
	Version  string `json:"version,omitempty"`
	Fixed    string `json:"fixedVersion,omitempty"`
}

// Provenance summarises SLSA provenance.
type Provenance struct {
	SLSAVersion string `json:"slsaVersion"`
	BuilderID   string `json:"builderId,omitempty"`
	BuildType   string `json:"buildType,omitempty"`
	Source      string `json:"source,omitempty"`
	Commit      string `json:"commit,omitempty"`
	Invocation  string `json:"invocation,omitempty"`
}
