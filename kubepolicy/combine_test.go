package kubepolicy_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/kubepolicy"
	"github.com/signet-dev/signet/verify"
)

// fixed decides every image the same way; Fallback answers fallback.
type fixed struct {
	d        verify.Decision
	fallback *verify.Decision
}

func (f fixed) DecideAll(_ context.Context, images []string) []*verify.Decision {
	out := make([]*verify.Decision, len(images))
	for i, img := range images {
		d := f.d
		d.Image = img
		out[i] = &d
	}
	return out
}

func (f fixed) Fallback(image, reason string, _, _ bool) *verify.Decision {
	if f.fallback != nil {
		d := *f.fallback
		d.Image = image
		return &d
	}
	return &verify.Decision{Image: image, Mode: "enforce", Class: verify.ClassTransient, Reason: "verify [transient]: " + reason}
}

func admitted(digest string) fixed {
	return fixed{d: verify.Decision{Allowed: true, Mode: "enforce", Digest: digest, Rule: "r"}}
}

func denied(class verify.Class, reason string) fixed {
	return fixed{d: verify.Decision{Mode: "enforce", Class: class, Reason: reason, Rule: "r"}}
}

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func TestCombine(t *testing.T) {
	ref := func(name string) kubepolicy.Ref { return kubepolicy.Ref{Kind: kubepolicy.ClusterKind, Name: name} }
	cases := []struct {
		name    string
		members []admission.Decider
		image   string
		allowed bool
		class   verify.Class
		reason  string
		digest  string
	}{
		{"same digest", []admission.Decider{admitted(d1), admitted(d1)}, "r.example/app:v1", true, "", "", d1},
		{"one abstains", []admission.Decider{admitted(""), admitted(d1)}, "r.example/app:v1", true, "", "", d1},
		{"the tag moved between two checks", []admission.Decider{admitted(d1), admitted(d2)}, "r.example/app:v1", false, verify.ClassTransient,
			"the image resolved to " + d1 + " for SignetClusterPolicy p0 but to " + d2 + " for SignetClusterPolicy p1 (the tag moved while it was checked)", ""},
		{"a definitive denial decides before a registry failure", []admission.Decider{denied(verify.ClassTransient, "resolve [transient]: timeout"),
			denied(verify.ClassNotFound, "signatures [not-found]: none")}, "r.example/app:v1", false, verify.ClassNotFound,
			"signatures [not-found]: none (SignetClusterPolicy p1); resolve [transient]: timeout (SignetClusterPolicy p0)", ""},
		{"only registry failures", []admission.Decider{admitted(d1), denied(verify.ClassTransient, "resolve [transient]: timeout")},
			"r.example/app:v1", false, verify.ClassTransient, "resolve [transient]: timeout (SignetClusterPolicy p1)", ""},
		{"a digest reference naming another digest", []admission.Decider{admitted(d1)}, "r.example/app@" + d2, false, verify.ClassPolicyDenied,
			"cannot be made to run the verified digest", d1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ms []kubepolicy.Member
			for i, d := range tc.members {
				ms = append(ms, kubepolicy.Member{Ref: ref("p" + string(rune('0'+i))), Decider: d})
			}
			got := kubepolicy.NewSet(ms).In("ns").DecideAll(context.Background(), []string{tc.image})[0]
			if got.Allowed != tc.allowed || got.Class != tc.class || !strings.Contains(got.Reason, tc.reason) || got.Digest != tc.digest {
				t.Fatalf("got allowed %v class %q digest %q reason %q\nwant allowed %v class %q digest %q reason with %q",
					got.Allowed, got.Class, got.Digest, got.Reason, tc.allowed, tc.class, tc.digest, tc.reason)
			}
		})
	}
}

// TestCombineFallback: when verification could not finish, every policy's
// failure-mode answer is combined as its verdict would be.
func TestCombineFallback(t *testing.T) {
	receipt := &verify.Decision{Allowed: true, Mode: "enforce", Digest: d1, Cached: true}
	ms := []kubepolicy.Member{
		{Ref: kubepolicy.Ref{Kind: kubepolicy.ClusterKind, Name: "base"}, Decider: fixed{fallback: receipt}},
		{Ref: kubepolicy.Ref{Kind: kubepolicy.NamespacedKind, Namespace: "team-a", Name: "strict"}, Decider: fixed{}},
	}
	set := kubepolicy.NewSet(ms)
	if d := set.In("team-b").Fallback("r.example/app:v1", "budget spent", true, true); !d.Allowed || d.Digest != d1 {
		t.Fatalf("team-b: %+v", d)
	}
	d := set.In("team-a").Fallback("r.example/app:v1", "budget spent", true, true)
	if d.Allowed || !strings.Contains(d.Reason, "verify [transient]: budget spent (SignetPolicy team-a/strict)") {
		t.Fatalf("team-a: %+v", d)
	}
}

// TestUnloaded: before the policies are read, nothing is admitted.
func TestUnloaded(t *testing.T) {
	hook := admission.New(kubepolicy.Unloaded())
	resp := hook.Review(context.Background(), podReview("team-a", "r.example/app:v1"), true)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "the webhook has not read the policy resources yet") {
		t.Fatalf("%+v", resp.Result)
	}
	if d := kubepolicy.Unloaded().Fallback("r.example/app:v1", "x", true, true); d.Allowed {
		t.Fatal("fallback admitted")
	}
}

// counting admits every image and counts the images it was asked about.
type counting struct{ n *atomic.Int64 }

func (c counting) DecideAll(_ context.Context, images []string) []*verify.Decision {
	c.n.Add(int64(len(images)))
	return admitted(d1).DecideAll(context.Background(), images)
}

func (c counting) Fallback(image, reason string, r, p bool) *verify.Decision {
	c.n.Add(1)
	return admitted(d1).Fallback(image, reason, r, p)
}

// TestTooManyNamespacedPolicies: attack: whoever may create SignetPolicy
// objects in one namespace creates hundreds; each verifies every image of
// every review there on its own, and the webhook's registry capacity,
// shared by every namespace, runs out. Past the bound the namespace is
// denied everything, without a verification, and other namespaces are not
// affected.
func TestTooManyNamespacedPolicies(t *testing.T) {
	var calls atomic.Int64
	ms := []kubepolicy.Member{{Ref: kubepolicy.Ref{Kind: kubepolicy.ClusterKind, Name: "base"}, Decider: admitted(d1)}}
	for i := range kubepolicy.MaxNamespacedPolicies + 1 {
		ms = append(ms, kubepolicy.Member{Ref: kubepolicy.Ref{Kind: kubepolicy.NamespacedKind, Namespace: "team-a", Name: fmt.Sprint("p", i)},
			Decider: counting{&calls}})
	}
	set := kubepolicy.NewSet(ms)
	d := set.In("team-a").DecideAll(context.Background(), []string{"r.example/app:v1"})[0]
	if d.Allowed || !strings.Contains(d.Reason, "namespace team-a has 17 SignetPolicy resources, more than the 16") {
		t.Fatalf("team-a: allowed %v reason %q; want a denial saying there are too many policies", d.Allowed, d.Reason)
	}
	if f := set.In("team-a").Fallback("r.example/app:v1", "x", true, true); f.Allowed {
		t.Fatalf("team-a fallback admitted: %+v", f)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the namespace's policies were asked %d times; want none", n)
	}
	if d := set.In("team-b").DecideAll(context.Background(), []string{"r.example/app:v1"})[0]; !d.Allowed {
		t.Errorf("team-b is denied: %s", d.Reason)
	}
}
