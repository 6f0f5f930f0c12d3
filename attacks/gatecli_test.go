package attacks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"log/slog"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// The push gate's reach (every tagged image gets a verdict, whatever it
// carries or is tagged as), its event, status and metrics endpoints, and
// key files written next to planted symlinks.

// syncBuf collects a gate's log lines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fullGate is a push gate with a log, metrics and (if not "") a separate
// status token.
type fullGate struct {
	*gateRun
	log *syncBuf
}

func (w *world) fullGate(doc, statusToken string) *fullGate {
	w.t.Helper()
	c := w.policy(doc)
	eng, err := verify.NewEngine(w.client, c)
	if err != nil {
		w.t.Fatal(err)
	}
	log := &syncBuf{}
	g, err := gate.New(gate.Config{Registry: w.reg.Host, Client: w.client, Decider: eng, Attester: attest.New(w.signers["gate"], w.client),
		Secret: gateSecret, StatusToken: statusToken, State: w.t.TempDir(), Grace: 300 * time.Millisecond, Recheck: 100 * time.Millisecond,
		PolicyName: "rows", PolicyHash: c.Hash, Metrics: gate.NewMetrics(), Log: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	srv := httptest.NewServer(g.Handler())
	w.t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &fullGate{gateRun: &gateRun{w: w, g: g, srv: srv}, log: log}
}

// request sends method path with auth and says what came back: 200 is the
// attacker's way in (allowed), anything else a refusal by status code.
func (r *gateRun) request(method, path, auth string, body []byte) verdict {
	r.w.t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+path, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var msg bytes.Buffer
	msg.ReadFrom(resp.Body)
	return verdict{allowed: resp.StatusCode == http.StatusOK, class: fmt.Sprint(resp.StatusCode), reason: strings.TrimSpace(msg.String())}
}

// drained waits (bounded) until the gate has processed every accepted event.
func (r *gateRun) drained() {
	r.w.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if mustStatus(r.g, "").Queue == 0 {
			return
		}
	}
	r.w.t.Fatalf("the gate's queue never drained: %+v", mustStatus(r.g, ""))
}

// recordOf is the gate's record of repo@digest, if it has one.
func (r *gateRun) recordOf(repo, digest string) (gate.Record, bool) {
	for _, rec := range mustStatus(r.g, "").Records {
		if rec.Repository == repo && rec.Digest == digest {
			return rec, true
		}
	}
	return gate.Record{}, false
}

// notJudged is the verdict of a control: what was pushed (a signature, a
// summary, a fallback index) must not be judged as an image.
func (r *gateRun) notJudged(repo, digest string) verdict {
	r.drained()
	if rec, ok := r.recordOf(repo, digest); ok {
		return verdict{class: "judged-as-image", reason: fmt.Sprintf("%s@%s was judged as an image: %+v", repo, digest, rec)}
	}
	return verdict{allowed: true}
}

// reached waits (bounded) for d to reach state.
func (r *gateRun) reached(d name.Digest, state string) verdict {
	r.w.t.Helper()
	repo := strings.TrimPrefix(d.Context().Name(), r.w.reg.Host+"/")
	var last gate.Record
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rec, ok := r.recordOf(repo, d.DigestStr()); ok {
			last = rec
			if rec.State == state {
				return verdict{allowed: state == gate.StatePassed, class: rec.State, reason: rec.Reason}
			}
		}
	}
	return verdict{class: "never-" + state, reason: fmt.Sprintf("%s never reached %s (last: %+v)", d, state, last)}
}

// pushImg pushes img to repo:tag and returns its digest reference.
func (w *world) pushImg(repo, tag string, img v1.Image) name.Digest {
	w.t.Helper()
	return w.reg.Push(w.t, repo+":"+tag, img)
}

// randomImage is a small runnable image (Docker layers and config).
func (w *world) randomImage() v1.Image {
	w.t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	return img
}

// descriptorOf reads ref's descriptor from the registry.
func (w *world) descriptorOf(ref string) v1.Descriptor {
	w.t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		w.t.Fatal(err)
	}
	d, err := remote.Get(r)
	if err != nil {
		w.t.Fatal(err)
	}
	return d.Descriptor
}

// withSubject gives img a subject field naming d.
func (w *world) withSubject(img v1.Image, d name.Digest) v1.Image {
	desc := w.descriptorOf(d.String())
	return mutate.Subject(img, v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}).(v1.Image)
}

// rawIndex pushes an OCI index listing descs under repo:tag.
func (w *world) rawIndex(repo, tag string, descs ...v1.Descriptor) name.Digest {
	w.t.Helper()
	b, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs})
	ref, _ := name.NewTag(w.ref(repo + ":" + tag))
	if err := remote.Put(ref, rawManifest{b, types.OCIImageIndex}); err != nil {
		w.t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return ref.Context().Digest(h.String())
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// fallbackTagOf is the referrers fallback tag of d, without the repository.
func fallbackTagOf(d name.Digest) string { return oci.FallbackTag(d).TagStr() }

// Gate: an image is judged by what it is, not by its tag's shape or a
// subject field (issue 18 item 7).
func init() {
	// an unsigned runnable image, pushed as the attacker likes and notified.
	judged := func(push func(w *world, g *gateRun, base name.Digest) (name.Digest, string)) func(w *world) verdict {
		return func(w *world) verdict {
			g := w.gate(releasePolicy)
			base := w.image("team/app:base")
			w.sign("release", base.String())
			g.notify("team/app", base.DigestStr(), "base", "")
			d, tag := push(w, g, base)
			g.notify("team/app", d.DigestStr(), tag, string(w.descriptorOf(d.String()).MediaType))
			return g.settled(d)
		}
	}
	hex := func(d name.Digest) string { return strings.TrimPrefix(d.DigestStr(), "sha256:") }
	register(
		row{name: "gate: an unsigned image carrying a subject field, under a tag", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				return w.pushImg("team/app", "v2", w.withSubject(w.randomImage(), base)), "v2"
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: an unsigned image with a subject and the summary annotation, under a tag", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				img := mutate.Annotations(w.randomImage(), map[string]string{oci.AnnotationPredicateType: policy.VSAPredicateType}).(v1.Image)
				img = w.withSubject(img, base) // last: mutate drops a subject set before it
				return w.pushImg("team/app", "v2", img), "v2"
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: an unsigned image tagged as the fallback tag of a signed image (sha256-<hex>)", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				return w.image("team/app:" + fallbackTagOf(base)), fallbackTagOf(base)
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: an unsigned image tagged sha256-<hex>.sig", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				return w.image("team/app:sha256-" + hex(base) + ".sig"), "sha256-" + hex(base) + ".sig"
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: an unsigned image tagged sha256-<hex>.att", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				return w.image("team/app:sha256-" + hex(base) + ".att"), "sha256-" + hex(base) + ".att"
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: an unsigned image with a simple-signing layer beside its filesystem, tagged .sig", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				img, err := mutate.Append(w.randomImage(), mutate.Addendum{Layer: static.NewLayer([]byte("{}"), oci.SimpleSigningMediaType)})
				if err != nil {
					w.t.Fatal(err)
				}
				return w.pushImg("team/app", "sha256-"+hex(base)+".sig", img), "sha256-" + hex(base) + ".sig"
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: an unsigned image with an empty config (as signatures have) and a subject, under a tag", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				img := w.withSubject(mutate.ConfigMediaType(w.randomImage(), oci.EmptyMediaType), base)
				return w.pushImg("team/app", "v2", img), "v2"
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: an index of unsigned images under a sha256-<hex> tag", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				return w.reg.PushIndex(w.t, "team/app:"+fallbackTagOf(base)), fallbackTagOf(base)
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: a fallback-tag index listing a real signature and an unsigned runnable image", entry: entryGate,
			run: judged(func(w *world, _ *gateRun, base name.Digest) (name.Digest, string) {
				res, err := w.signers["release"].SignImage(w.ctx, base.String(), sign.Request{})
				if err != nil {
					w.t.Fatal(err)
				}
				sig := w.descriptorOf(base.Context().Digest(res.Signed[0].Attached[0].Digest.String()).String())
				sig.ArtifactType = oci.BundleMediaType
				evil := w.image("team/app:evil")
				ev := w.descriptorOf(evil.String())
				ev.ArtifactType = oci.BundleMediaType // claims, in the index, to be a signature
				return w.rawIndex("team/app", fallbackTagOf(base), sig, ev), fallbackTagOf(base)
			}),
			want: refusedAs(gate.StateUnverified, "no signatures found")},
	)
}

// Gate controls: signatures, summaries and fallback indexes re-check their
// image and are never judged as images themselves.
func init() {
	register(
		row{name: "control: gate, a signature in the referrers fallback index re-checks its image", entry: entryGate, fallbackOnly: true,
			run: func(w *world) verdict {
				g := w.gate(releasePolicy)
				d := g.push("team/app", "v1")
				if v := g.reached(d, gate.StateUnverified); v.class != gate.StateUnverified {
					return v
				}
				w.sign("release", d.String())
				idx := w.descriptorOf(w.ref("team/app:" + fallbackTagOf(d)))
				g.notify("team/app", idx.Digest.String(), fallbackTagOf(d), string(idx.MediaType)) // only the index
				v := g.reached(d, gate.StatePassed)
				if nj := g.notJudged("team/app", idx.Digest.String()); !nj.allowed {
					return nj
				}
				return v
			},
			want: allowed()},
		row{name: "control: gate, a legacy .sig signature re-checks its image", entry: entryGate,
			run: func(w *world) verdict {
				g := w.gate(releasePolicy)
				d := g.push("team/app", "v1")
				if v := g.reached(d, gate.StateUnverified); v.class != gate.StateUnverified {
					return v
				}
				res, err := w.signers["release"].SignImage(w.ctx, d.String(), sign.Request{Layout: sign.LayoutLegacy})
				if err != nil {
					w.t.Fatal(err)
				}
				sig := res.Signed[0].Attached[0].Digest.String()
				g.notify("team/app", sig, "sha256-"+strings.TrimPrefix(d.DigestStr(), "sha256:")+".sig", "")
				v := g.reached(d, gate.StatePassed)
				if nj := g.notJudged("team/app", sig); !nj.allowed {
					return nj
				}
				return v
			},
			want: allowed()},
		row{name: "control: gate, its own summary pushed under a tag is not judged as an image", entry: entryGate, fallbackOnly: true,
			run: func(w *world) verdict {
				g := w.gate(releasePolicy)
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				g.notify("team/app", d.DigestStr(), "v1", "")
				if v := g.settled(d); !v.allowed {
					return v
				}
				rec, _ := g.recordOf("team/app", d.DigestStr())
				idx := w.descriptorOf(w.ref("team/app:" + fallbackTagOf(d))) // lists the signature and the summary
				g.notify("team/app", rec.VSA, "summary", "")
				g.notify("team/app", idx.Digest.String(), fallbackTagOf(d), string(idx.MediaType))
				if nj := g.notJudged("team/app", rec.VSA); !nj.allowed {
					return nj
				}
				return g.notJudged("team/app", idx.Digest.String())
			},
			want: allowed()},
	)
}

// Gate endpoints: repository names, /status and /metrics (issue 18 item 9d, 9e).
func init() {
	refusedEvent := func(repo string) func(w *world) verdict {
		return func(w *world) verdict {
			g := w.fullGate(releasePolicy, "")
			d := w.image("team/app:v1")
			w.sign("release", d.String())
			g.notify(repo, d.DigestStr(), "v1", "")
			g.drained()
			if rec, ok := g.recordOf(repo, d.DigestStr()); ok {
				return verdict{allowed: true, class: rec.State, reason: "the gate acted on repository " + repo}
			}
			return verdict{class: "refused-event", reason: g.log.String()}
		}
	}
	const statusToken = "status-token"
	status := func(path, auth string) func(w *world) verdict {
		return func(w *world) verdict {
			g := w.fullGate(releasePolicy, statusToken)
			g.push("team/app", "v1")
			return g.request(http.MethodGet, path, auth, nil)
		}
	}
	register(
		row{name: "gate: a push event for repository team/../app", entry: entryGate,
			run: refusedEvent("team/../app"), want: refusedAs("refused-event", `segment \"..\"`)},
		row{name: "gate: a push event for repository ../app", entry: entryGate,
			run: refusedEvent("../app"), want: refusedAs("refused-event", `segment \"..\"`)},
		row{name: "gate: a push event for repository team/./app", entry: entryGate,
			run: refusedEvent("team/./app"), want: refusedAs("refused-event", `segment \".\"`)},
		row{name: "gate: a push event for repository team//app", entry: entryGate,
			run: refusedEvent("team//app"), want: refusedAs("refused-event", `segment \"\"`)},
		row{name: "gate: a push event for repository team/app/", entry: entryGate,
			run: refusedEvent("team/app/"), want: refusedAs("refused-event", `segment \"\"`)},
		row{name: "control: gate, a push event for repository a.b/c__d/e--f", entry: entryGate,
			run: func(w *world) verdict {
				g := w.fullGate(releasePolicy, "")
				d := w.image("a.b/c__d/e--f:v1")
				w.sign("release", d.String())
				g.notify("a.b/c__d/e--f", d.DigestStr(), "v1", "")
				return g.settled(d)
			},
			want: allowed()},

		row{name: "gate: /status read without a token", entry: entryGate,
			run: status("/status", ""), want: refusedAs("401", "missing or wrong status token")},
		row{name: "gate: /status?state=unverified read with a wrong token", entry: entryGate,
			run: status("/status?state=unverified", "Bearer wrong"), want: refusedAs("401", "missing or wrong status token")},
		row{name: "gate: /status read with the status token as Basic credentials", entry: entryGate,
			run: status("/status", "Basic "+statusToken), want: refusedAs("401", "missing or wrong status token")},
		row{name: "gate: /status read with the registry's shared secret when a status token is set", entry: entryGate,
			run: status("/status", "Bearer "+gateSecret), want: refusedAs("401", "missing or wrong status token")},
		row{name: "gate: /metrics read without a token", entry: entryGate,
			run: status("/metrics", ""), want: refusedAs("401", "missing or wrong status token")},
		row{name: "gate: the status token used to post a push event", entry: entryGate,
			run: func(w *world) verdict {
				g := w.fullGate(releasePolicy, statusToken)
				body, _ := json.Marshal(map[string]any{"events": []any{}})
				return g.request(http.MethodPost, "/events", "Bearer "+statusToken, body)
			},
			want: refusedAs("401", "missing or wrong shared secret")},
		row{name: "control: gate, /status read with the status token", entry: entryGate,
			run: status("/status", "Bearer "+statusToken), want: allowed()},
		row{name: "control: gate, /metrics read with the status token", entry: entryGate,
			run: status("/metrics", "Bearer "+statusToken), want: allowed()},
		row{name: "control: gate, /status read with the shared secret when no status token is set", entry: entryGate,
			run: func(w *world) verdict {
				return w.fullGate(releasePolicy, "").request(http.MethodGet, "/status", "Bearer "+gateSecret, nil)
			},
			want: allowed()},
		row{name: "control: gate, /healthz needs no token", entry: entryGate,
			run: status("/healthz", ""), want: allowed()},
	)
}

// Key files beside planted symlinks (issue 18 item 9c): the file a symlink
// points at is never written. A row is "allowed" when the attacker's file
// was written through.
func init() {
	const precious = "the user's file, not a key\n"
	planted := func(link string, dangling, force bool) func(w *world) verdict {
		return func(w *world) verdict {
			dir, victim := w.t.TempDir(), filepath.Join(w.t.TempDir(), "victim")
			if !dangling {
				os.WriteFile(victim, []byte(precious), 0o644)
			}
			if err := os.Symlink(victim, filepath.Join(dir, link)); err != nil {
				w.t.Fatal(err)
			}
			priv, err := keys.Generate(keys.ECDSAP256)
			if err != nil {
				w.t.Fatal(err)
			}
			_, _, err = keys.WriteKeyPair(filepath.Join(dir, "release"), priv, []byte("pw"), force)
			got, rerr := os.ReadFile(victim)
			switch {
			case dangling && rerr == nil, !dangling && string(got) != precious:
				return verdict{allowed: true, class: "written-through", reason: fmt.Sprintf("%q", got)}
			case errors.Is(err, keys.ErrExists):
				return verdict{class: "kept", reason: err.Error()}
			case err != nil:
				return verdict{class: "error", reason: err.Error()}
			}
			return verdict{class: "kept", reason: "the key went to a new file; the symlink's target is unchanged"}
		}
	}
	register(
		row{name: "keys: a symlink planted at PREFIX.key.tmp", entry: entryKeys,
			run: planted("release.key.tmp", false, false), want: refusedAs("kept", "the symlink's target is unchanged")},
		row{name: "keys: a symlink planted at PREFIX.pub.tmp", entry: entryKeys,
			run: planted("release.pub.tmp", false, false), want: refusedAs("kept", "the symlink's target is unchanged")},
		row{name: "keys: a symlink planted at PREFIX.key.tmp, with --force", entry: entryKeys,
			run: planted("release.key.tmp", false, true), want: refusedAs("kept", "the symlink's target is unchanged")},
		row{name: "keys: a dangling symlink planted at PREFIX.key", entry: entryKeys,
			run: planted("release.key", true, false), want: refusedAs("kept", "file already exists")},
		row{name: "control: keys, a key pair written into an empty directory", entry: entryKeys,
			run: func(w *world) verdict {
				priv, _ := keys.Generate(keys.ECDSAP256)
				k, _, err := keys.WriteKeyPair(filepath.Join(w.t.TempDir(), "release"), priv, []byte("pw"), false)
				if st, serr := os.Lstat(k); err != nil || serr != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
					return verdict{class: "error", reason: fmt.Sprint(err, serr)}
				}
				return verdict{allowed: true}
			},
			want: allowed()},
	)
}

// Thresholds (issue 18 item 9f): a valid signature from too few of the
// required signers is a policy denial, not "none valid".
func init() {
	register(
		row{name: "policy: threshold 2, one trusted signer only", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				return w.decide(thresholdPolicy, d.String())
			},
			want: refused(verify.ClassPolicyDenied, "1 of 2 required signers: release; the rule needs 2 different signers")},
	)
}

// A registry that still takes Docker schema 1 manifests: such a push is
// judged too — the gate used to drop the event, so the image never got a
// verdict — and its "layers" field (which a schema 1 pull ignores) cannot
// make it pass for a signature.
func init() {
	register(row{name: "gate: a Docker schema 1 push whose layers field lists only a signature layer", entry: entryGate,
		run: func(w *world) verdict {
			g := w.gate(releasePolicy)
			b := []byte(`{"schemaVersion":1,"name":"team/app","tag":"v1","architecture":"amd64",` +
				`"fsLayers":[{"blobSum":"sha256:` + strings.Repeat("c", 64) + `"}],` +
				`"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}`)
			const schema1 = types.MediaType("application/vnd.docker.distribution.manifest.v1+prettyjws")
			ref, _ := name.NewTag(w.ref("team/app:v1"))
			if err := remote.Put(ref, rawManifest{b, schema1}); err != nil {
				w.t.Fatal(err)
			}
			h, _, _ := v1.SHA256(bytes.NewReader(b))
			d := ref.Context().Digest(h.String())
			g.notify("team/app", d.DigestStr(), "v1", string(schema1))
			return g.reached(d, gate.StateUnverified)
		},
		want: refusedAs(gate.StateUnverified, "no signatures found")})
}
