package attacks

import (
	"fmt"
	"time"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/verify"
)

// Policies as Kubernetes resources: someone who may write SignetPolicy
// objects (and Pods) in one namespace tries to admit there what the
// cluster's SignetClusterPolicy denies. A namespace's policy may only narrow.

const entryPolicyResources entry = "admission, policy resources"

// policySet is the webhook's decider under --policy-source kubernetes:
// cluster (a SignetClusterPolicy document, "" for none) and SignetPolicy
// documents in namespace team.
func (w *world) policySet(cluster string, team ...string) *kubepolicy.Set {
	w.t.Helper()
	var ms []kubepolicy.Member
	engine := func(doc string) admission.Decider {
		return w.engine(doc, verify.WithCache(100, time.Minute, time.Minute))
	}
	if cluster != "" {
		ms = append(ms, kubepolicy.Member{Ref: kubepolicy.Ref{Kind: kubepolicy.ClusterKind, Name: "baseline"}, Decider: engine(cluster)})
	}
	for i, doc := range team {
		ms = append(ms, kubepolicy.Member{Ref: kubepolicy.Ref{Kind: kubepolicy.NamespacedKind, Namespace: "team", Name: fmt.Sprintf("p%d", i)},
			Decider: engine(doc)})
	}
	return kubepolicy.NewSet(ms)
}

// teamPod is a Pod in namespace team running image.
func teamPod(image string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\nspec:\n  containers:\n    - {name: c, image: %q}\n", image)
}

const (
	teamAllowAll = "apiVersion: signet.dev/v1alpha1\nkind: Policy\ndefaultAction: allow\nimages:\n  - {pattern: \"elsewhere.example/**\", mode: audit}\n"
	teamAudit    = "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - {pattern: \"REG/**\", mode: audit}\n"
	teamAttacker = "apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: \"REG/**\"\n    signers: [{name: mine, key: attacker.pub}]\n"
	teamSecond   = "apiVersion: signet.dev/v1alpha1\nkind: Policy\ndefaultAction: allow\nimages:\n  - pattern: \"REG/team/**\"\n    signers: [{name: second, key: second.pub}]\n"
)

func init() {
	unsigned := func(w *world) string { w.image("team/app:evil"); return w.ref("team/app:evil") }
	register(
		row{name: "policy resources: a SignetPolicy with defaultAction allow admits nothing the cluster policy denies", entry: entryPolicyResources,
			run: func(w *world) verdict {
				return w.reviewWith(w.policySet(releasePolicy, teamAllowAll), teamPod(unsigned(w)), true)
			},
			want: refusedAs("denied", "no signatures found (SignetClusterPolicy baseline)")},
		row{name: "policy resources: a SignetPolicy audit rule for every image admits nothing the cluster policy denies", entry: entryPolicyResources,
			run: func(w *world) verdict {
				return w.reviewWith(w.policySet(releasePolicy, teamAudit), teamPod(unsigned(w)), true)
			},
			want: refusedAs("denied", "(SignetClusterPolicy baseline)")},
		row{name: "policy resources: a SignetPolicy trusting the attacker's key does not admit what the attacker signed", entry: entryPolicyResources,
			run: func(w *world) verdict {
				img := w.image("team/app:evil")
				w.sign("attacker", img.String())
				return w.reviewWith(w.policySet(releasePolicy, teamAttacker), teamPod(w.ref("team/app:evil")), true)
			},
			want: refusedAs("denied", "(SignetClusterPolicy baseline)")},
		row{name: "policy resources: with no SignetClusterPolicy, a SignetPolicy admitting everything admits nothing", entry: entryPolicyResources,
			run: func(w *world) verdict {
				return w.reviewWith(w.policySet("", teamAllowAll), teamPod(unsigned(w)), true)
			},
			want: refusedAs("denied", "no SignetClusterPolicy exists")},
		row{name: "policy resources: a SignetPolicy narrows its namespace (release alone is not enough there)", entry: entryPolicyResources,
			run: func(w *world) verdict {
				img := w.image("team/app:v1")
				w.sign("release", img.String())
				return w.reviewWith(w.policySet(releasePolicy, teamSecond), teamPod(w.ref("team/app:v1")), true)
			},
			want: refusedAs("denied", "(SignetPolicy team/p0)")},
		row{name: "policy resources: control, a release-signed image with a namespace's audit policy", entry: entryPolicyResources,
			run: func(w *world) verdict {
				img := w.image("team/app:v1")
				w.sign("release", img.String())
				return w.reviewWith(w.policySet(releasePolicy, teamAudit), teamPod(w.ref("team/app:v1")), true)
			},
			want: allowed()},
	)
}
