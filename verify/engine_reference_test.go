package verify_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// everyHostIsTheTestRegistry is a client that sends every registry host to
// the test registry over plain HTTP, so references can name
// registry.example.com, docker.io and their other spellings without a network.
func everyHostIsTheTestRegistry(w *world) *oci.Client {
	var d net.Dialer
	rt := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, w.reg.Host)
	}}
	return oci.New(oci.WithTransport(rt), oci.WithInsecure(true))
}

// TestPatternsMatchEverySpellingOfTheRegistry: a rule written for one
// spelling of a registry applies to every spelling containerd pulls from
// the same place. Before, REGISTRY.EXAMPLE.COM, :443, a trailing dot and
// every Docker Hub reference fell through to defaultAction allow, and an
// unsigned image was admitted.
func TestPatternsMatchEverySpellingOfTheRegistry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.reg.PushImage(t, "prod/app:1")
	w.reg.PushImage(t, "library/nginx:1")
	w.reg.PushImage(t, "team/app:1")
	c, err := policy.Compile([]byte(`apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "registry.example.com/prod/**"
    signers: [{name: alice, key: alice.pub}]
  - pattern: "docker.io/nginx:*"
    signers: [{name: alice, key: alice.pub}]
  - pattern: "docker.io/team/**"
    signers: [{name: alice, key: alice.pub}]
`), w.dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := verify.NewEngine(everyHostIsTheTestRegistry(w), c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ image, rule string }{
		{"registry.example.com/prod/app:1", "registry.example.com/prod/**"},
		{"REGISTRY.EXAMPLE.COM/prod/app:1", "registry.example.com/prod/**"},
		{"Registry.Example.Com/prod/app:1", "registry.example.com/prod/**"},
		{"registry.example.com:443/prod/app:1", "registry.example.com/prod/**"},
		{"registry.example.com:0443/prod/app:1", "registry.example.com/prod/**"},
		{"registry.example.com./prod/app:1", "registry.example.com/prod/**"},
		{"REGISTRY.EXAMPLE.COM.:443/prod/app:1", "registry.example.com/prod/**"},
		{"nginx:1", "docker.io/nginx:*"},
		{"library/nginx:1", "docker.io/nginx:*"},
		{"docker.io/nginx:1", "docker.io/nginx:*"},
		{"docker.io/library/nginx:1", "docker.io/nginx:*"},
		{"index.docker.io/library/nginx:1", "docker.io/nginx:*"},
		{"index.docker.io/nginx:1", "docker.io/nginx:*"},
		{"registry-1.docker.io/library/nginx:1", "docker.io/nginx:*"},
		{"registry.hub.docker.com/library/nginx:1", "docker.io/nginx:*"},
		{"DOCKER.IO/library/nginx:1", "docker.io/nginx:*"},
		{"docker.io:443/library/nginx:1", "docker.io/nginx:*"},
		{"team/app:1", "docker.io/team/**"},
		{"index.docker.io/team/app:1", "docker.io/team/**"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			d := e.Decide(ctx, tc.image)
			if d.Allowed || d.Rule != tc.rule || d.Class != verify.ClassNotFound || !strings.Contains(d.Reason, "no signatures found") {
				t.Fatalf("unsigned %s: got allowed=%v rule=%q class=%q reason=%q; want denied by rule %q for want of a signature", tc.image, d.Allowed, d.Rule, d.Class, d.Reason, tc.rule)
			}
		})
	}
}

// TestReferencesThatCannotBeMatchedAreRefused: a reference whose registry
// or path has no single canonical spelling is refused whatever the default
// action says, and a different registry (another port, a longer host name)
// is not matched by a rule for registry.example.com.
func TestReferencesThatCannotBeMatchedAreRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.reg.PushImage(t, "prod/app:1")
	doc := `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: DEFAULT
images:
  - pattern: "registry.example.com/prod/*"
    signers: [{name: alice, key: alice.pub}]
`
	engine := func(def string) *verify.Engine {
		c, err := policy.Compile([]byte(strings.Replace(doc, "DEFAULT", def, 1)), w.dir, keys.Loader{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := verify.NewEngine(everyHostIsTheTestRegistry(w), c)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	allow, deny := engine("allow"), engine("deny")
	ctx := context.Background()
	for _, tc := range []struct {
		name, image string
		class       verify.Class
		reason      string
	}{
		{"dot-dot segment", "registry.example.com/prod/../evil:1", verify.ClassInvalid, `".."`},
		{"dot segment", "registry.example.com/prod/./app:1", verify.ClassInvalid, `"."`},
		{"empty segment", "registry.example.com/prod//app:1", verify.ClassInvalid, `""`},
		{"trailing slash", "registry.example.com/prod/app/:1", verify.ClassInvalid, "repository path"},
		{"leading separator", "registry.example.com/prod/-app:1", verify.ClassInvalid, `"-app"`},
		{"underscore host", "registry_example.com/prod/app:1", verify.ClassInvalid, "not a DNS name"},
		{"two trailing dots", "registry.example.com../prod/app:1", verify.ClassInvalid, "not a DNS name"},
		{"empty label", "registry..example.com/prod/app:1", verify.ClassInvalid, "not a DNS name"},
		{"non-ASCII host", "registry.examp\u217Ce.com/prod/app:1", verify.ClassInvalid, "ASCII"},
		{"Kelvin sign folds to k", "registry.example.\u212Aom/prod/app:1", verify.ClassInvalid, "ASCII"},
		{"short IPv4", "127.1:5000/prod/app:1", verify.ClassInvalid, "dotted-quad"},
		{"IPv4 with leading zeros", "127.000.0.1:5000/prod/app:1", verify.ClassInvalid, "dotted-quad"},
		{"IPv4 as a number", "2130706433:5000/prod/app:1", verify.ClassInvalid, "dotted-quad"},
		{"port out of range", "registry.example.com:99999/prod/app:1", verify.ClassInvalid, "port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, e := range []*verify.Engine{allow, deny} {
				d := e.Decide(ctx, tc.image)
				if d.Allowed || d.Class != tc.class || !strings.Contains(d.Reason, tc.reason) {
					t.Fatalf("%s: got allowed=%v class=%q reason=%q; want refused as %q, reason naming %s", tc.image, d.Allowed, d.Class, d.Reason, tc.class, tc.reason)
				}
			}
		})
	}
	for _, image := range []string{
		"registry.example.com:5000/prod/app:1",
		"registry.example.com:80/prod/app:1",
		"registry.example.com.evil.io/prod/app:1",
		"evil.com/registry.example.com/prod/app:1",
		"registry.example.com/prod/app.evil.com/x:1",
		"registry.example.com/prod/app/x:1",
		"xregistry.example.com/prod/app:1",
	} {
		t.Run("other registry "+image, func(t *testing.T) {
			d := deny.Decide(ctx, image)
			if d.Allowed || d.Rule != "" || d.Class != verify.ClassPolicyDenied || !strings.Contains(d.Reason, "no rule matches") {
				t.Fatalf("%s: got allowed=%v rule=%q class=%q reason=%q; want no rule to match and defaultAction deny", image, d.Allowed, d.Rule, d.Class, d.Reason)
			}
		})
	}
}
