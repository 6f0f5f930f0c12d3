package migrate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/signet-dev/signet/keys"
)

// pcValidate lists what makes policy-controller refuse a
// ClusterImagePolicy (its admission validation, with its default of
// refusing a policy without authorities). A refused policy never applies,
// and a policy-controller cluster denies what no policy matches, so such
// a policy must not become a rule that admits anything.
func pcValidate(s pcSpec) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if len(s.Images) == 0 {
		bad("it names no images")
	}
	for i, img := range s.Images {
		if img.Glob == "" && img.Regex == "" {
			bad("images[%d] has no glob", i)
		}
	}
	if len(s.Authorities) == 0 {
		bad("it has no authorities")
	}
	for i, a := range s.Authorities {
		for _, p := range pcAuthorityProblems(a) {
			bad("authorities[%d]: %s", i, p)
		}
	}
	if s.Policy != nil {
		for _, p := range pcPolicyProblems(s.Policy) {
			bad("policy: %s", p)
		}
	}
	return out
}

func pcAuthorityProblems(a pcAuthority) []string {
	var out []string
	set := 0
	for _, b := range []bool{a.Key != nil, a.Keyless != nil, a.Static != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return []string{"give exactly one of key, keyless or static"}
	}
	switch {
	case a.Key != nil:
		out = append(out, pcKeyProblems(a.Key)...)
	case a.Keyless != nil:
		out = append(out, pcKeylessProblems(a.Keyless)...)
	default:
		if a.Static.Action != "pass" && a.Static.Action != "fail" {
			out = append(out, fmt.Sprintf("static action %q is neither pass nor fail", a.Static.Action))
		}
		if len(a.Attestations) > 0 || a.Source.Kind != 0 || a.CTLog != nil || a.RFC3161Timestamp != nil {
			out = append(out, "a static authority takes no attestations, source, ctlog or rfc3161timestamp")
		}
	}
	if a.Source.Kind != 0 && len(a.Source.Content) > 1 {
		out = append(out, "only one source is supported")
	}
	for j, at := range a.Attestations {
		if at.Name == "" {
			out = append(out, fmt.Sprintf("attestations[%d] has no name", j))
		}
		if at.PredicateType == "" {
			out = append(out, fmt.Sprintf("attestations[%d] has no predicateType", j))
		}
		if at.Policy != nil {
			for _, p := range pcPolicyProblems(at.Policy) {
				out = append(out, fmt.Sprintf("attestations[%d].policy: %s", j, p))
			}
		}
	}
	return out
}

func pcKeyProblems(k *pcKey) []string {
	n := 0
	for _, b := range []bool{k.Data != "", k.KMS != "", k.SecretRef != nil} {
		if b {
			n++
		}
	}
	if n != 1 {
		return []string{"a key needs exactly one of data, kms or secretRef"}
	}
	if k.Data != "" {
		if _, err := keys.ParsePublicKey([]byte(k.Data)); err != nil {
			return []string{"its key data is not a PEM public key"}
		}
	}
	return nil
}

func pcKeylessProblems(k *pcKeyless) []string {
	var out []string
	if (k.URL == "") == (k.CACert.Kind == 0) {
		out = append(out, "keyless needs exactly one of url or ca-cert")
	}
	if len(k.Identities) == 0 {
		out = append(out, "keyless needs identities (an older policy-controller accepted any identity without them; name the identities you trust)")
	}
	for i, id := range k.Identities {
		if (id.Issuer == "") == (id.IssuerRegExp == "") {
			out = append(out, fmt.Sprintf("identities[%d] needs exactly one of issuer or issuerRegExp", i))
		}
		if (id.Subject == "") == (id.SubjectRegExp == "") {
			out = append(out, fmt.Sprintf("identities[%d] needs exactly one of subject or subjectRegExp", i))
		}
		for _, re := range []string{id.IssuerRegExp, id.SubjectRegExp} {
			if _, err := regexp.Compile(re); err != nil {
				out = append(out, fmt.Sprintf("identities[%d]: %q is not a regular expression", i, re))
			}
		}
	}
	return out
}

func pcPolicyProblems(p *pcPolicyRef) []string {
	var out []string
	if t := strings.ToLower(p.Type); t != "cue" && t != "rego" {
		out = append(out, fmt.Sprintf("type %q is neither cue nor rego", p.Type))
	}
	n := 0
	for _, b := range []bool{p.Data != "", p.ConfigMapRef.Kind != 0, p.Remote.Kind != 0} {
		if b {
			n++
		}
	}
	if n != 1 {
		out = append(out, "give exactly one of data, configMapRef or remote")
	}
	return out
}
