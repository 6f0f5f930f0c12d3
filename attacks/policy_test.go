package attacks

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-dev/signet/verify"
)

// The policy engine: rules, tags, locks, thresholds, modes.
func init() {
	const tags = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/team/**"
    signers: [{name: release, key: release.pub}]
    tags: {digestRequired: DIGEST, allowedTags: ["v*"]LOCK}
`
	tagPolicy := func(digestRequired bool, lock string) string {
		l := ""
		if lock != "" {
			l = ", lock: " + lock
		}
		return replaceAll(tags, "DIGEST", fmt.Sprint(digestRequired), "LOCK", l)
	}
	register(
		row{name: "control: policy, signed by the rule's signer", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				return w.decide(releasePolicy, w.ref("team/app:v1"))
			},
			want: allowed()},
		row{name: "policy: unsigned image", entry: entryPolicy,
			run: func(w *world) verdict {
				w.image("team/app:v1")
				return w.decide(releasePolicy, w.ref("team/app:v1"))
			},
			want: refused(verify.ClassNotFound, "no signatures found")},
		row{name: "policy: signed by a key the rule does not trust", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("attacker", d.String())
				return w.decide(releasePolicy, d.String())
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
		row{name: "policy: trusted signature copied from another image", entry: entryPolicy,
			run: func(w *world) verdict {
				good, evil := w.image("team/app:v1"), w.image("team/app:evil")
				w.attachBundle(evil.String(), w.bundle("release", good.Context().Name(), good.DigestStr(), nil), "https://sigstore.dev/cosign/sign/v1")
				return w.decide(releasePolicy, evil.String())
			},
			want: refused(verify.ClassInvalid, "signature is for another image digest")},
		row{name: "policy: no rule matches under defaultAction deny", entry: entryPolicy,
			run: func(w *world) verdict {
				w.image("other/app:v1")
				return w.decide(replaceAll(releasePolicy, "REG/**", "REG/team/**"), w.ref("other/app:v1"))
			},
			want: refused(verify.ClassPolicyDenied, "no rule matches")},
		row{name: "policy: tag given where a digest is required", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				return w.decide(tagPolicy(true, ""), w.ref("team/app:v1"))
			},
			want: refused(verify.ClassPolicyDenied, "a digest is required")},
		row{name: "policy: tag outside allowedTags", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:latest")
				w.sign("release", d.String())
				return w.decide(tagPolicy(false, ""), w.ref("team/app:latest"))
			},
			want: refused(verify.ClassPolicyDenied, "is not one of the allowed")},
		row{name: "policy: locked tag moved to another (signed) digest", entry: entryPolicy,
			run: func(w *world) verdict {
				old := w.image("team/app:v1")
				w.sign("release", old.String())
				lock := fmt.Sprintf(`{"apiVersion":"signet.dev/v1alpha1","kind":"Lock","images":[{"ref":%q,"digest":%q}]}`, w.ref("team/app:v1"), old.DigestStr())
				w.write("app.lock", []byte(lock))
				moved := w.image("team/app:v1")
				w.sign("release", moved.String())
				return w.decide(tagPolicy(false, "app.lock"), w.ref("team/app:v1"))
			},
			want: refused(verify.ClassPolicyDenied, "tag moved")},
		row{name: "policy: threshold 2, one trusted signer and one untrusted", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.sign("attacker", d.String())
				return w.decide(thresholdPolicy, d.String())
			},
			want: refused(verify.ClassPolicyDenied, "1 of 2 required signers")},
		row{name: "policy: threshold 2 met by one signer signing twice", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.sign("release", d.String(), map[string]string{"again": "yes"})
				return w.decide(thresholdPolicy, d.String())
			},
			want: refused(verify.ClassPolicyDenied, "1 of 2 required signers")},
		row{name: "control: threshold 2 met by two signers", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.sign("second", d.String())
				return w.decide(thresholdPolicy, d.String())
			},
			want: allowed()},
		row{name: "policy: transparency log required, signature not logged", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				return w.decide(replaceAll(releasePolicy, "    signers:", "    transparencyLog: required\n    signers:"), d.String())
			},
			want: refused(verify.ClassInvalid, "transparency log check failed")},
		row{name: "policy: cached pass for a digest does not cover a tag that moved", entry: entryPolicy,
			run: func(w *world) verdict {
				good := w.image("team/app:v1")
				w.sign("release", good.String())
				e := w.engine(releasePolicy, verify.WithCache(100, time.Hour, time.Hour))
				if d := e.Decide(w.ctx, w.ref("team/app:v1")); !d.Allowed {
					w.t.Fatalf("setup: %s", d.Reason)
				}
				w.image("team/app:v1")
				return decision(e.Decide(w.ctx, w.ref("team/app:v1")))
			},
			want: refused(verify.ClassNotFound, "no signatures found")},
		row{name: "policy: the key file is replaced after the policy was loaded", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("attacker", d.String())
				e := w.engine(releasePolicy)
				w.write("release.pub", w.pubs["attacker"]) // too late: keys are read at load
				return decision(e.Decide(w.ctx, d.String()))
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
	)
}

func replaceAll(s string, oldNew ...string) string {
	for i := 0; i+1 < len(oldNew); i += 2 {
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	return s
}
