// Package attest builds in-toto attestations about images — SBOMs (SPDX,
// CycloneDX), vulnerability scans (Trivy, Grype) and SLSA provenance — from
// files a pipeline produces, checks those files against their formats (SPDX
// with tools-golang, CycloneDX against the specification's JSON schema),
// and signs and attaches the statements the way cosign v3 does:
// a DSSE envelope in a Sigstore bundle, stored as an OCI referrer whose
// annotations carry the predicate type.
package attest

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/signet-dev/signet/internal/suggest"
)

// Predicate types, as cosign names them.
const (
	PredicateSPDX       = "https://spdx.dev/Document"
	PredicateCycloneDX  = "https://cyclonedx.org/bom"
	PredicateVuln       = "https://cosign.sigstore.dev/attestation/vuln/v1"
	PredicateSLSA02     = "https://slsa.dev/provenance/v0.2"
	PredicateSLSA1      = "https://slsa.dev/provenance/v1"
	PredicateOpenVEX    = "https://openvex.dev/ns"
	PredicateCustom     = "https://cosign.sigstore.dev/attestation/v1"
	PredicateLink       = "https://in-toto.io/Link/v1"
	StatementTypeV1     = "https://in-toto.io/Statement/v1"
	statementTypeV01    = "https://in-toto.io/Statement/v0.1"
	inTotoPayloadType   = "application/vnd.in-toto+json"
	maxInMemoryArtifact = 64 << 20
)

// typeNames maps cosign's --type names to predicate types.
var typeNames = map[string]string{
	"spdx":             PredicateSPDX,
	"spdxjson":         PredicateSPDX,
	"cyclonedx":        PredicateCycloneDX,
	"vuln":             PredicateVuln,
	"slsaprovenance":   PredicateSLSA02,
	"slsaprovenance02": PredicateSLSA02,
	"slsaprovenance1":  PredicateSLSA1,
	"openvex":          PredicateOpenVEX,
	"custom":           PredicateCustom,
	"link":             PredicateLink,
}

// TypeNames lists the short names ResolveType accepts, for help texts.
func TypeNames() []string {
	return []string{"spdx", "spdxjson", "cyclonedx", "vuln", "slsaprovenance", "slsaprovenance02", "slsaprovenance1", "openvex", "custom", "link"}
}

// ResolveType turns a --type value (a cosign name or a predicate-type URI)
// into a predicate type URI and the name of the check applied to its input.
func ResolveType(t string) (predicateType, kind string, err error) {
	if pt, ok := typeNames[strings.ToLower(t)]; ok {
		return pt, strings.ToLower(t), nil
	}
	u, perr := url.Parse(t)
	if perr != nil || u.Scheme == "" || u.Host == "" {
		if s := suggest.Nearest(t, TypeNames()); s != "" {
			return "", "", fmt.Errorf("--type %q is neither one of %s nor a predicate-type URI; did you mean %s?", t, strings.Join(TypeNames(), ", "), s)
		}
		return "", "", fmt.Errorf("--type %q is neither one of %s nor a predicate-type URI", t, strings.Join(TypeNames(), ", "))
	}
	for name, pt := range typeNames {
		if pt == t && name != "spdx" && name != "slsaprovenance02" {
			return pt, name, nil
		}
	}
	return t, "uri", nil
}
