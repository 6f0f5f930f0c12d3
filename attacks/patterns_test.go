package attacks

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// Policy patterns and the spellings of a registry: a rule written for one
// spelling must meet every spelling containerd pulls from the same place,
// and a reference with no single spelling is refused, whatever
// defaultAction says.
func init() {
	// prodAllow is the lax deployment the attacks exploit: prod must be
	// signed, anything else is allowed.
	const prodAllow = `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "registry.example.com/prod/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "docker.io/nginx:*"
    signers: [{name: release, key: release.pub}]
  - pattern: "docker.io/team/**"
    signers: [{name: release, key: release.pub}]
`
	// auditAll: a catch-all in audit mode under the enforced prod rule.
	const auditAll = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "registry.example.com/prod/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "**"
    mode: audit
    signers: [{name: release, key: release.pub}]
`
	// prodOneLevel: prod/* must be signed, anything else is allowed.
	const prodOneLevel = `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "registry.example.com/prod/*"
    signers: [{name: release, key: release.pub}]
`
	prodDeny := strings.Replace(prodOneLevel, "defaultAction: allow", "defaultAction: deny", 1)
	// localAllow: the world's registry by its address must be signed.
	const localAllow = `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "REG/**"
    signers: [{name: release, key: release.pub}]
`
	unsigned := func(repoTag, doc, image string) func(w *world) verdict {
		return func(w *world) verdict {
			w.image(repoTag)
			return w.decideAnywhere(doc, image)
		}
	}
	signed := func(repoTag, doc, image string) func(w *world) verdict {
		return func(w *world) verdict {
			w.sign("release", w.image(repoTag).String())
			return w.decideAnywhere(doc, image)
		}
	}
	noSignature := refused(verify.ClassNotFound, "no signatures found")
	for _, s := range []struct{ how, image string }{
		{"in upper case", "REGISTRY.EXAMPLE.COM/prod/app:1"},
		{"in mixed case", "Registry.Example.Com/prod/app:1"},
		{"with the default port :443", "registry.example.com:443/prod/app:1"},
		{"with the default port as :0443", "registry.example.com:0443/prod/app:1"},
		{"with an empty port", "registry.example.com:/prod/app:1"},
		{"with a trailing dot", "registry.example.com./prod/app:1"},
		{"in upper case, with a trailing dot and :443", "REGISTRY.EXAMPLE.COM.:443/prod/app:1"},
	} {
		register(
			row{name: "patterns: registry written " + s.how + ", rule missed, defaultAction allow", entry: entryPolicy,
				run: unsigned("prod/app:1", prodAllow, s.image), want: noSignature},
			row{name: "patterns: registry written " + s.how + ", audit catch-all took it", entry: entryPolicy,
				run: unsigned("prod/app:1", auditAll, s.image), want: noSignature},
		)
	}
	for _, image := range []string{
		"nginx:1", "library/nginx:1", "docker.io/nginx:1", "docker.io/library/nginx:1",
		"index.docker.io/library/nginx:1", "index.docker.io/nginx:1", "registry-1.docker.io/library/nginx:1",
		"registry.hub.docker.com/library/nginx:1", "DOCKER.IO./library/nginx:1",
	} {
		register(row{name: "patterns: docker.io/nginx:* rule missed by " + image, entry: entryPolicy,
			run: unsigned("library/nginx:1", prodAllow, image), want: noSignature})
	}
	register(
		row{name: "patterns: docker.io/team/** rule missed by the short name team/app", entry: entryPolicy,
			run: unsigned("team/app:1", prodAllow, "team/app:1"), want: noSignature},
		row{name: "patterns: docker.io/team/** rule missed by index.docker.io/team/app", entry: entryPolicy,
			run: unsigned("team/app:1", prodAllow, "index.docker.io/team/app:1"), want: noSignature},
		row{name: "patterns: the world's registry as an IPv4-mapped IPv6 address", entry: entryPolicy,
			run: func(w *world) verdict {
				w.image("team/app:1")
				return w.decideAnywhere(localAllow, "[::ffff:"+strings.Replace(w.reg.Host, ":", "]:", 1)+"/team/app:1")
			},
			want: noSignature},
		row{name: "patterns: admission review of a Pod naming registry.EXAMPLE.com.:443", entry: entryReview,
			run: func(w *world) verdict {
				w.image("prod/app:1")
				// Not REGISTRY: reviewWith replaces REG in the manifest.
				return w.reviewWith(w.engineAnywhere(prodAllow), podWith("registry.EXAMPLE.com.:443/prod/app:1"), false)
			},
			want: refusedAs("denied", "no signatures found")},
	)
	// References with no single spelling: refused before any rule.
	for _, s := range []struct{ how, image, reason string }{
		{"a .. segment walks around prod/*", "registry.example.com/prod/x/../app:1", `component ".."`},
		{"a . segment", "registry.example.com/prod/./app:1", `component "."`},
		{"an empty segment", "registry.example.com/prod//app:1", `component ""`},
		{"a trailing slash", "registry.example.com/prod/app/:1", `component ""`},
		{"a non-ASCII letter in the host", "registry.examp\u217Ce.com/prod/app:1", "outside ASCII"},
		{"a Kelvin sign, which lower-cases to k", "registry.example.\u212Aom/prod/app:1", "outside ASCII"},
		{"an underscore in the host", "registry_example.com/prod/app:1", "not a DNS name"},
		{"two trailing dots", "registry.example.com../prod/app:1", "not a DNS name"},
		{"a port out of range", "registry.example.com:70000/prod/app:1", "not a number from 1 to 65535"},
	} {
		register(row{name: "patterns: reference with " + s.how + ", defaultAction allow", entry: entryPolicy,
			run: unsigned("prod/app:1", prodOneLevel, s.image), want: refused(verify.ClassInvalid, s.reason)})
	}
	for _, s := range []struct{ how, host string }{
		{"127.1", "127.1"},
		{"one number", "2130706433"},
		{"leading zeros", "127.000.000.001"},
		{"hex", "0x7f000001"},
	} {
		register(row{name: "patterns: the world's registry as IPv4 written as " + s.how, entry: entryPolicy,
			run: func(w *world) verdict {
				w.image("team/app:1")
				_, port, _ := strings.Cut(w.reg.Host, ":")
				return w.decideAnywhere(localAllow, s.host+":"+port+"/team/app:1")
			},
			want: refused(verify.ClassInvalid, "dotted-quad")})
	}
	// Anchoring (the Portieris v0.14.2 advisory): another registry or
	// another path is not matched by registry.example.com/prod/*.
	for _, image := range []string{
		"registry.example.com:5000/prod/app:1",
		"registry.example.com:80/prod/app:1",
		"registry.example.com.evil.io/prod/app:1",
		"xregistry.example.com/prod/app:1",
		"evil.com/registry.example.com/prod/app:1",
		"registry.example.com/prod/app.evil.com/x:1",
		"registry.example.com/production/app:1",
	} {
		register(row{name: "patterns: prod/* is anchored, " + image + " is another image", entry: entryPolicy,
			run:  func(w *world) verdict { return w.decideAnywhere(prodDeny, image) },
			want: refused(verify.ClassPolicyDenied, "no rule matches")})
	}
	register(
		row{name: "control: patterns, signed image under REGISTRY.EXAMPLE.COM.:443", entry: entryPolicy,
			run: signed("prod/app:1", prodAllow, "REGISTRY.EXAMPLE.COM.:443/prod/app:1"), want: allowed()},
		row{name: "control: patterns, signed nginx by its short name", entry: entryPolicy,
			run: signed("library/nginx:1", prodAllow, "nginx:1"), want: allowed()},
		row{name: "control: patterns, signed nginx by index.docker.io", entry: entryPolicy,
			run: signed("library/nginx:1", prodAllow, "index.docker.io/library/nginx:1"), want: allowed()},
		row{name: "control: patterns, another port is another registry (defaultAction allow)", entry: entryPolicy,
			run: unsigned("prod/app:1", prodAllow, "registry.example.com:5000/prod/app:1"), want: allowed()},
		row{name: "control: patterns, signed image by tag and digest", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("prod/app:1")
				w.sign("release", d.String())
				return w.decideAnywhere(prodAllow, "Registry.Example.Com/prod/app:1@"+d.DigestStr())
			},
			want: allowed()},
	)
}

// clientAnywhere is a client for which every registry host is the world's
// registry, over plain HTTP: rows can name registry.example.com, docker.io
// and their other spellings without a network.
func (w *world) clientAnywhere() *oci.Client {
	var d net.Dialer
	rt := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, w.reg.Host)
	}}
	return oci.New(oci.WithTransport(rt), oci.WithInsecure(true), oci.WithRetries(1))
}

// engineAnywhere is an engine for doc on clientAnywhere.
func (w *world) engineAnywhere(doc string) *verify.Engine {
	w.t.Helper()
	e, err := verify.NewEngine(w.clientAnywhere(), w.policy(doc))
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// decideAnywhere asks a fresh engineAnywhere for doc about image.
func (w *world) decideAnywhere(doc, image string) verdict {
	w.t.Helper()
	return decision(w.engineAnywhere(doc).Decide(w.ctx, image))
}
