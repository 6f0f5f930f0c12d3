package kubepolicy_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// world is a registry with images signed by key a, by keys a and b, and
// not at all, and the two public keys.
type world struct {
	host                    string
	onlyA, both, unsigned   string // tag references
	onlyADigest, bothDigest string
	pubA, pubB              string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	reg := registrytest.New(t, true)
	w := &world{host: reg.Host}
	signer := func() (*sign.Signer, string) {
		priv, err := keys.Generate(keys.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := keys.PublicKeyPEM(priv.Public())
		sv, _ := keys.SignerVerifier(priv)
		s, err := sign.New(sv, oci.New())
		if err != nil {
			t.Fatal(err)
		}
		return s, string(pub)
	}
	a, pubA := signer()
	b, pubB := signer()
	w.pubA, w.pubB = pubA, pubB
	signWith := func(repoTag string, by ...*sign.Signer) (string, string) {
		d := reg.PushImage(t, repoTag)
		for _, s := range by {
			if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		return reg.Host + "/" + repoTag, d.DigestStr()
	}
	w.onlyA, w.onlyADigest = signWith("team/app:a", a)
	w.both, w.bothDigest = signWith("team/app:ab", a, b)
	w.unsigned, _ = signWith("team/app:none")
	return w
}

// member compiles a policy resource (spec in YAML, {{reg}} is the
// registry, {{a}} key a and {{b}} key b, quoted) into a Set member with a
// real engine.
func (w *world) member(t *testing.T, kind, namespace, name, spec string) kubepolicy.Member {
	t.Helper()
	spec = strings.NewReplacer("{{reg}}", w.host, "{{a}}", quoted(w.pubA), "{{b}}", quoted(w.pubB)).Replace(spec)
	c := &kubepolicy.Compiler{Namespace: "signet-system"}
	res, err := c.Compile(context.Background(), object(t, kind, namespace, name, spec))
	if err != nil {
		return kubepolicy.Member{Ref: res.Ref, Decider: kubepolicy.Refusing(res.Ref, err.Error())}
	}
	eng, err := verify.NewEngine(oci.New(), res.Policy)
	if err != nil {
		t.Fatal(err)
	}
	return kubepolicy.Member{Ref: res.Ref, Decider: eng}
}

// podReview is the request for a Pod in namespace running image.
func podReview(namespace, image string) *admissionv1.AdmissionRequest {
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": namespace},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": image}}}}
	raw, _ := json.Marshal(pod)
	return &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: namespace,
		Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}
}

// Policies of the combination tests.
const (
	// signedByA requires key a for the team's images; everything else is denied.
	signedByA = "{images: [{pattern: '{{reg}}/team/**', signers: [{name: a, publicKey: {{a}}}]}]}"
	// elsewhere has no rule for the team's images and allows what it does not match.
	elsewhere = "{defaultAction: allow, images: [{pattern: 'other.example/**', signers: [{name: a, publicKey: {{a}}}]}]}"
	// allowAll is what an attacker with a namespace would write: admit anything.
	allowAll = "{defaultAction: allow, images: [{pattern: '**'}]}"
	// auditOnly would only warn about unsigned images.
	auditOnly = "{defaultAction: allow, images: [{pattern: '{{reg}}/**', mode: audit, signers: [{name: a, publicKey: {{a}}}]}]}"
	// bothKeys requires keys a and b.
	bothKeys = "{images: [{pattern: '{{reg}}/team/**', threshold: 2, signers: [{name: a, publicKey: {{a}}}, {name: b, publicKey: {{b}}}]}]}"
	// otherRegistryOnly denies the team's images by its default action.
	otherRegistryOnly = "{images: [{pattern: 'other.example/**'}]}"
	// warnA would warn about images not signed by a.
	warnA = "{images: [{pattern: '{{reg}}/team/**', mode: warn, signers: [{name: a, publicKey: {{a}}}]}]}"
	// warnB would warn about images not signed by b.
	warnB = "{images: [{pattern: '{{reg}}/team/**', mode: warn, signers: [{name: b, publicKey: {{b}}}]}]}"
	// invalid does not compile.
	invalid = "{images: [{pattern: '{{reg}}/team/**', signers: [{name: a, key: cosign.pub}]}]}"
)

type pol struct{ kind, namespace, name, spec string }

func cluster(name, spec string) pol        { return pol{kubepolicy.ClusterKind, "", name, spec} }
func namespaced(ns, name, spec string) pol { return pol{kubepolicy.NamespacedKind, ns, name, spec} }

// TestCombination: how several policies decide together — namespaced
// policies only narrow, and nothing widens what the cluster policies admit.
func TestCombination(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name      string
		policies  []pol
		namespace string
		image     string
		// want is "" for admitted, else a part of the denial.
		want string
		// warnings are parts of the warnings, one each.
		warnings []string
	}{
		{"cluster policy admits", []pol{cluster("base", signedByA)}, "team-a", w.onlyA, "", nil},
		{"cluster policy denies", []pol{cluster("base", signedByA)}, "team-a", w.unsigned,
			`denied by signet rule "` + w.host + `/team/**": signatures [not-found]`, nil},
		{"no cluster policy denies everything", []pol{namespaced("team-a", "open", allowAll)}, "team-a", w.onlyA,
			"no SignetClusterPolicy exists, and without one nothing is admitted", nil},
		{"attacker: defaultAction allow in a namespace widens nothing", []pol{cluster("base", signedByA), namespaced("team-a", "open", allowAll)},
			"team-a", w.unsigned, "(SignetClusterPolicy base)", nil},
		{"attacker: an audit rule in a namespace widens nothing", []pol{cluster("base", signedByA), namespaced("team-a", "audit", auditOnly)},
			"team-a", w.unsigned, "(SignetClusterPolicy base)", nil},
		{"... and its warnings come with what is admitted", []pol{cluster("elsewhere", elsewhere), namespaced("team-a", "audit", auditOnly)},
			"team-a", w.unsigned, "", []string{"signet audit mode: image " + w.unsigned + " would be denied: signatures [not-found]", "(SignetPolicy team-a/audit)"}},
		{"a namespaced policy narrows its namespace", []pol{cluster("base", signedByA), namespaced("team-a", "strict", bothKeys)},
			"team-a", w.onlyA, "signatures [policy-denied]: 1 of 2 required signers: a; the rule needs 2 different signers; no valid signature by b (SignetPolicy team-a/strict)", nil},
		{"... and admits what passes both", []pol{cluster("base", signedByA), namespaced("team-a", "strict", bothKeys)},
			"team-a", w.both, "", nil},
		{"... and not other namespaces", []pol{cluster("base", signedByA), namespaced("team-a", "strict", bothKeys)},
			"team-b", w.onlyA, "", nil},
		{"... nor cluster-scoped objects", []pol{cluster("base", signedByA), namespaced("team-a", "strict", bothKeys)},
			"", w.onlyA, "", nil},
		{"a namespaced policy's default action denies", []pol{cluster("base", signedByA), namespaced("team-a", "other", otherRegistryOnly)},
			"team-a", w.onlyA, "no rule matches " + w.host + "/team/app:a; defaultAction deny (SignetPolicy team-a/other)", nil},
		{"cluster policies abstaining admit", []pol{cluster("elsewhere", elsewhere)}, "team-a", w.unsigned, "", nil},
		{"... unless a namespaced policy denies", []pol{cluster("elsewhere", elsewhere), namespaced("team-a", "strict", bothKeys)},
			"team-a", w.onlyA, "(SignetPolicy team-a/strict)", nil},
		{"every cluster policy must admit", []pol{cluster("elsewhere", elsewhere), cluster("strict", bothKeys)}, "team-a", w.onlyA,
			"(SignetClusterPolicy strict)", nil},
		{"a policy that does not compile denies in its namespace", []pol{cluster("base", signedByA), namespaced("team-a", "broken", invalid)},
			"team-a", w.onlyA, "this policy is not in effect (Invalid): invalid policy: spec.images[0].signers[0].key: a policy resource cannot read key files", nil},
		{"... and only there", []pol{cluster("base", signedByA), namespaced("team-a", "broken", invalid)}, "team-b", w.onlyA, "", nil},
		{"a cluster policy that does not compile denies everywhere", []pol{cluster("base", signedByA), cluster("broken", invalid)},
			"team-b", w.onlyA, "(SignetClusterPolicy broken)", nil},
		{"warnings of every policy are kept", []pol{cluster("warn-a", warnA), namespaced("team-a", "warn-b", warnB)}, "team-a", w.unsigned, "",
			[]string{"(SignetClusterPolicy warn-a); signatures [not-found]", "(SignetPolicy team-a/warn-b)"}},
		{"every denial is named", []pol{cluster("base", signedByA), namespaced("team-a", "strict", bothKeys)}, "team-a", w.unsigned,
			"(SignetClusterPolicy base); signatures [not-found]", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var members []kubepolicy.Member
			for _, p := range tc.policies {
				members = append(members, w.member(t, p.kind, p.namespace, p.name, p.spec))
			}
			hook := admission.New(kubepolicy.NewSet(members))
			// As the validating webhook, which reports warnings.
			resp := hook.Review(context.Background(), podReview(tc.namespace, tc.image), false)
			switch {
			case tc.want == "" && !resp.Allowed:
				t.Fatalf("denied: %s", resp.Result.Message)
			case tc.want != "" && resp.Allowed:
				t.Fatalf("admitted; want a denial with %q", tc.want)
			case tc.want != "" && !strings.Contains(resp.Result.Message, tc.want):
				t.Fatalf("want %q in the denial:\n%s", tc.want, resp.Result.Message)
			}
			warnings := strings.Join(resp.Warnings, "\n")
			for _, want := range tc.warnings {
				if !strings.Contains(warnings, want) {
					t.Errorf("want %q in the warnings:\n%s", want, warnings)
				}
			}
			if len(tc.warnings) == 0 && len(resp.Warnings) > 0 {
				t.Errorf("unexpected warnings: %v", resp.Warnings)
			}
		})
	}
}

// TestCombinationPins: the mutating webhook pins the digest every policy
// verified.
func TestCombinationPins(t *testing.T) {
	w := newWorld(t)
	set := kubepolicy.NewSet([]kubepolicy.Member{
		w.member(t, kubepolicy.ClusterKind, "", "base", signedByA),
		w.member(t, kubepolicy.NamespacedKind, "team-a", "strict", bothKeys),
	})
	resp := admission.New(set).Review(context.Background(), podReview("team-a", w.both), true)
	if !resp.Allowed || !strings.Contains(string(resp.Patch), w.both+"@"+w.bothDigest) {
		t.Fatalf("allowed %v, patch %s", resp.Allowed, resp.Patch)
	}
}
