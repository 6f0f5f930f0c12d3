package attacks

import (
	"strings"
	"time"

	"github.com/signet-dev/signet/trustbundle"
	"github.com/signet-dev/signet/verify"
)

// Trust bundles at verify-attestation, which applies no policy: the keys it
// trusts are the bundle's only when the bundle carries none.
func init() {
	approved := []byte(`{"reviewer":"alice","approved":true}`)
	cond, _ := verify.CompileCondition("predicate.approved == true")
	req := verify.AttestationRequest{PredicateType: reviewType, Condition: cond}
	// The bundle's policy trusts release for team/ and second for other/.
	const scoped = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "REG/other/**"
    signers: [{name: second, key: second.pub}]
`
	// asVerifyAttestation is verify-attestation --trust-bundle with the
	// bundle's key files: refused when they may not be trusted alone,
	// else each of them trusted.
	asVerifyAttestation := func(w *world, policyDoc string, image string) verdict {
		in := []trustbundle.Input{
			{Name: "release.pub", Role: trustbundle.RoleKey, Data: w.pubs["release"]},
			{Name: "second.pub", Role: trustbundle.RoleKey, Data: w.pubs["second"]},
		}
		if policyDoc != "" {
			in = append(in, trustbundle.Input{Name: "policy.yaml", Role: trustbundle.RolePolicy, Data: []byte(strings.ReplaceAll(policyDoc, "REG", w.reg.Host))})
		}
		b, err := trustbundle.New(1, time.Now(), in)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := b.KeysAlone(); err != nil {
			return verdict{class: "policy-bound", reason: err.Error()}
		}
		var trusted []string
		for _, f := range b.All(trustbundle.RoleKey) {
			trusted = append(trusted, strings.TrimSuffix(f.Name, ".pub"))
		}
		return w.verifyAttestation(image, req, trusted...)
	}
	register(
		row{name: "trust bundle: verify-attestation with a bundle whose policy keeps a key to other images", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.attest("second", d.String(), reviewType, approved) // second counts only for other/
				return asVerifyAttestation(w, scoped, d.String())
			},
			want: refusedAs("policy-bound", "carries the policy policy.yaml: a policy says which of its keys count for which images")},
		row{name: "control: trust bundle without a policy, verify-attestation trusts its keys", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.attest("second", d.String(), reviewType, approved)
				return asVerifyAttestation(w, "", d.String())
			},
			want: allowed()},
	)
}
