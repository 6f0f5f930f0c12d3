package gate

import (
	"encoding/json"
	"fmt"
	"time"

	vsa "github.com/in-toto/attestation/go/predicates/vsa/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Summary builds the in-toto statement of a SLSA verification summary
// (https://slsa.dev/verification_summary/v1) for a verdict: the gate as
// verifier, the policy by digest and the rule it was decided under
// (policy.uri signet-policy:NAME#/images/INDEX), the time, the result, the
// image as the resource (and the subject, by repository and digest), and
// the signatures and attestations the verdict relied on.
func Summary(cfg Config, rec Record, d *verify.Decision, result string, now time.Time) ([]byte, error) {
	ref := cfg.Registry + "/" + rec.Repository
	uri, hash := "signet-policy:"+cfg.PolicyName, cfg.PolicyHash
	if d != nil && d.PolicyHash != "" {
		hash = d.PolicyHash
	}
	if d != nil && d.Rule != "" && d.RuleIndex >= 0 {
		uri += fmt.Sprintf("#/images/%d", d.RuleIndex)
	}
	p := &vsa.VerificationSummary{
		Verifier:           &vsa.VerificationSummary_Verifier{Id: cfg.VerifierID},
		TimeVerified:       timestamppb.New(now.UTC()),
		ResourceUri:        "oci://" + ref + "@" + rec.Digest,
		Policy:             &vsa.VerificationSummary_Policy{Uri: uri, Digest: map[string]string{"sha256": hash}},
		VerificationResult: result,
		VerifiedLevels:     []string{},
	}
	if d != nil {
		seen := map[string]bool{}
		for _, c := range d.Checks {
			for _, ev := range c.Evidence {
				if ev.Refused != "" || ev.Manifest == "" || seen[ev.Manifest] {
					continue
				}
				seen[ev.Manifest] = true
				alg, hex := splitDigest(ev.Manifest)
				p.InputAttestations = append(p.InputAttestations, &vsa.VerificationSummary_InputAttestation{
					Uri: "oci://" + ref + "@" + ev.Manifest, Digest: map[string]string{alg: hex}})
			}
		}
	}
	raw, err := protojson.Marshal(p)
	if err != nil {
		return nil, err
	}
	st, err := attest.NewStatement(ref, rec.Digest, policy.VSAPredicateType, raw)
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

func splitDigest(d string) (string, string) {
	for i := range d {
		if d[i] == ':' {
			return d[:i], d[i+1:]
		}
	}
	return "sha256", d
}
