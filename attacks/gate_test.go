package attacks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/verify"
)

const gateSecret = "gate-secret"

// gateRun is a push gate on the world's registry, deciding by a policy.
type gateRun struct {
	w   *world
	g   *gate.Gate
	srv *httptest.Server
}

// gate starts a push gate judging by doc, signing summaries with the gate key.
func (w *world) gate(doc string) *gateRun {
	w.t.Helper()
	c := w.policy(doc)
	eng, err := verify.NewEngine(w.client, c)
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := gate.New(gate.Config{Registry: w.reg.Host, Client: w.client, Decider: eng, Attester: attest.New(w.signers["gate"], w.client),
		Secret: gateSecret, State: w.t.TempDir(), Grace: 300 * time.Millisecond, Recheck: 100 * time.Millisecond,
		PolicyName: "rows", PolicyHash: c.Hash})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	srv := httptest.NewServer(g.Handler())
	w.t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &gateRun{w: w, g: g, srv: srv}
}

// notify posts one push event as the registry would.
func (r *gateRun) notify(repo, digest, tag, mediaType string) {
	r.w.t.Helper()
	if mediaType == "" {
		mediaType = "application/vnd.oci.image.manifest.v1+json"
	}
	ev := map[string]any{"id": fmt.Sprintf("%s@%s:%s", repo, digest, tag), "timestamp": time.Now(), "action": "push",
		"target": map[string]any{"mediaType": mediaType, "digest": digest, "size": 100, "repository": repo, "tag": tag}}
	body, _ := json.Marshal(map[string]any{"events": []any{ev}})
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+gateSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.w.t.Fatalf("the gate answered the notification with %d", resp.StatusCode)
	}
}

// push pushes a new image to repo:tag and notifies the gate.
func (r *gateRun) push(repo, tag string) name.Digest {
	d := r.w.image(repo + ":" + tag)
	r.notify(repo, d.DigestStr(), tag, "")
	return d
}

// settled waits (bounded) for the gate's verdict on d: a state other than
// pending, with its summary attached where the state has one (allowed and
// error have none).
func (r *gateRun) settled(d name.Digest) verdict {
	r.w.t.Helper()
	repo := strings.TrimPrefix(d.Context().Name(), r.w.reg.Host+"/")
	deadline := time.Now().Add(20 * time.Second)
	var last gate.Record
	for time.Now().Before(deadline) {
		for _, rec := range mustStatus(r.g, "").Records {
			if rec.Repository != repo || rec.Digest != d.DigestStr() {
				continue
			}
			last = rec
			settled := rec.State == gate.StateError || rec.State == gate.StateAllowed || (rec.State != gate.StatePending && rec.VSAResult != "")
			if settled {
				return verdict{allowed: rec.State == gate.StatePassed, class: rec.State, reason: rec.Reason}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return verdict{class: "never-recorded", reason: fmt.Sprintf("the gate never settled a verdict for %s (last: %+v)", d, last)}
}

// Gate: every push gets a verdict, and only a full pass is PASSED.
func init() {
	register(
		row{name: "control: gate, a push signed by the release key", entry: entryGate,
			run: func(w *world) verdict {
				g := w.gate(releasePolicy)
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				g.notify("team/app", d.DigestStr(), "v1", "")
				return g.settled(d)
			},
			want: allowed()},
		row{name: "gate: an unsigned push", entry: entryGate,
			run: func(w *world) verdict {
				g := w.gate(releasePolicy)
				return g.settled(g.push("team/app", "v1"))
			},
			want: refusedAs(gate.StateUnverified, "no signatures found")},
		row{name: "gate: a push signed by an untrusted key", entry: entryGate,
			run: func(w *world) verdict {
				g := w.gate(releasePolicy)
				d := w.image("team/app:v1")
				w.sign("attacker", d.String())
				g.notify("team/app", d.DigestStr(), "v1", "")
				return g.settled(d)
			},
			want: refusedAs(gate.StateFailed, "does not verify with any trusted key")},
	)
}

// mustStatus is g's first page of records in state (all states for ""); it
// panics when the gate cannot read its state.
func mustStatus(g *gate.Gate, state string) gate.Status {
	st, err := g.Status(context.Background(), gate.Query{State: state})
	if err != nil {
		panic(fmt.Sprintf("reading the gate's status: %v", err))
	}
	return st
}
