package fleet_test

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/signet-dev/signet/fleet"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// world is a registry of signed and unsigned images, two policies over it,
// and a cluster running them.
type world struct {
	reg      *registrytest.Registry
	host     string
	dir      string
	requests *requestLog
	down     atomic.Bool // every registry request fails with 503
	signers  map[string]crypto.Signer
}

// requestLog counts the registry's requests by method and path.
type requestLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[r.Method+" "+r.URL.Path]++
}

func (l *requestLog) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps(l.n)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n = map[string]int{}
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newWorld pushes team/app:v1 (signed by release), team/app:unsigned,
// team/legacy:1 (signed by other), vendor/db:1 (unsigned) and flaky/x:1
// (whose repository always answers 503), and writes the keys.
func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), requests: &requestLog{n: map[string]int{}}}
	w.reg = registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w.requests.add(r)
			if w.down.Load() || strings.HasPrefix(r.URL.Path, "/v2/flaky/") {
				http.Error(rw, "unavailable", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		})
	})
	w.host = w.reg.Host
	signers := map[string]crypto.Signer{}
	w.signers = signers
	for _, name := range []string{"release", "other"} {
		priv, err := keys.Generate(keys.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := keys.PublicKeyPEM(priv.Public())
		if err := os.WriteFile(filepath.Join(w.dir, name+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		signers[name] = priv
	}
	w.push(t, "release", "team/app:v1")
	w.push(t, "", "team/app:unsigned")
	w.push(t, "other", "team/legacy:1")
	w.push(t, "", "vendor/db:1")
	w.requests.reset()
	return w
}

// push pushes a new image to repoTag, signed by key ("": unsigned), and
// returns its digest.
func (w *world) push(t testing.TB, key, repoTag string) string {
	t.Helper()
	d := w.reg.PushImage(t, repoTag)
	if key == "" {
		return d.DigestStr()
	}
	sv, _ := keys.SignerVerifier(w.signers[key])
	s, _ := sign.New(sv, oci.New())
	if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	return d.DigestStr()
}

func (w *world) image(repoTag string) string { return w.host + "/" + repoTag }

// current admits team/** signed by release, flaky/** signed by release,
// and anything else. next also accepts other's signature on team/**, wants
// vendor/** signed by release, and denies what no rule matches.
const (
	currentPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "HOST/team/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "HOST/flaky/**"
    signers: [{name: release, key: release.pub}]
`
	nextPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: deny
images:
  - pattern: "HOST/team/**"
    signers: [{name: release, key: release.pub}, {name: other, key: other.pub}]
  - pattern: "HOST/vendor/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "HOST/flaky/**"
    mode: warn
    signers: [{name: release, key: release.pub}]
`
)

// client is a registry client for one check, as fleet check builds it
// (memo: one fetch per manifest and referrers list), without retries.
func client(memo bool) *oci.Client {
	rt := http.DefaultTransport
	if memo {
		rt = fleet.NewMemoTransport(rt)
	}
	return oci.New(oci.WithTransport(rt), oci.WithRetries(1))
}

func (w *world) engine(t testing.TB, c *oci.Client, doc string) *verify.Engine {
	t.Helper()
	compiled, err := policy.Compile([]byte(strings.ReplaceAll(doc, "HOST", w.host)), w.dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := verify.NewEngine(c, compiled, verify.WithWorkers(4))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// obj is an object of the fake cluster.
type obj struct {
	kind, ns, name, uid string
	owner               *obj
	images              []string
	labels              map[string]any
}

var apiVersions = map[string]string{"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
	"DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}

func apiVersion(kind string) string {
	if v, ok := apiVersions[kind]; ok {
		return v
	}
	return "v1"
}

// unstructured renders o as the API server would list it.
func (o obj) unstructured() *unstructured.Unstructured {
	var cs []any
	for i, img := range o.images {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img})
	}
	pod := map[string]any{"containers": cs}
	tmpl := map[string]any{"spec": pod}
	meta := map[string]any{"name": o.name, "namespace": o.ns, "uid": o.uid}
	if o.labels != nil {
		meta["labels"] = o.labels
	}
	if o.owner != nil {
		meta["ownerReferences"] = []any{map[string]any{"apiVersion": apiVersion(o.owner.kind), "kind": o.owner.kind,
			"name": o.owner.name, "uid": o.owner.uid, "controller": true}}
	}
	u := map[string]any{"apiVersion": apiVersion(o.kind), "kind": o.kind, "metadata": meta}
	switch o.kind {
	case "Pod":
		u["spec"] = pod
	case "PodTemplate":
		u["template"] = tmpl
	case "CronJob":
		u["spec"] = map[string]any{"schedule": "@daily", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl}}}
	default:
		u["spec"] = map[string]any{"template": tmpl}
	}
	return &unstructured.Unstructured{Object: u}
}

// fakeCluster serves the objects through client-go's fake dynamic client.
func fakeCluster(t *testing.T, objs []obj, opts ...fleet.ClusterOption) *fleet.Cluster {
	t.Helper()
	listKinds := map[schema.GroupVersionResource]string{}
	for _, k := range fleet.Kinds {
		listKinds[k.Resource] = k.Kind + "List"
	}
	var ros []runtime.Object
	for _, o := range objs {
		ros = append(ros, o.unstructured())
	}
	c, err := fleet.NewCluster(dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, ros...), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shop is the cluster of the tests: a Deployment with three replicas and
// an old ReplicaSet kept for rollbacks, a StatefulSet, a CronJob with its
// Job and Pod, a Pod of its own, and a DaemonSet in kube-system.
func (w *world) shop() []obj {
	app, old, legacy := w.image("team/app:v1"), w.image("team/app:unsigned"), w.image("team/legacy:1")
	web := obj{kind: "Deployment", ns: "shop", name: "web", uid: "u-web", images: []string{app}, labels: map[string]any{"app": "web"}}
	rs1 := obj{kind: "ReplicaSet", ns: "shop", name: "web-1", uid: "u-rs1", owner: &web, images: []string{app}}
	rs0 := obj{kind: "ReplicaSet", ns: "shop", name: "web-0", uid: "u-rs0", owner: &web, images: []string{old}}
	db := obj{kind: "StatefulSet", ns: "data", name: "db", uid: "u-db", images: []string{w.image("vendor/db:1")}}
	report := obj{kind: "CronJob", ns: "shop", name: "report", uid: "u-cron", images: []string{legacy}}
	job := obj{kind: "Job", ns: "shop", name: "report-1", uid: "u-job", owner: &report, images: []string{legacy}}
	objs := []obj{web, rs1, rs0, db, report, job,
		{kind: "Pod", ns: "data", name: "db-0", uid: "u-db0", owner: &db, images: []string{w.image("vendor/db:1")}},
		{kind: "Pod", ns: "shop", name: "report-1-x", uid: "u-jobpod", owner: &job, images: []string{legacy}},
		{kind: "Pod", ns: "shop", name: "debug", uid: "u-debug", images: []string{w.image("flaky/x:1")}},
		{kind: "DaemonSet", ns: "kube-system", name: "proxy", uid: "u-proxy", images: []string{app}},
	}
	for _, n := range []string{"a", "b", "c"} {
		objs = append(objs, obj{kind: "Pod", ns: "shop", name: "web-1-" + n, uid: "u-pod-" + n, owner: &rs1, images: []string{app}})
	}
	return objs
}

// row is what a test expects of one result.
type row struct {
	ns, workload, object, image string
	change                      fleet.Change
	today, next                 fleet.Verdict
}

func rows(r *fleet.Report) []row {
	var out []row
	for _, res := range r.Results {
		today := fleet.Verdict("")
		if res.Current != nil {
			today = res.Current.Verdict
		}
		out = append(out, row{res.Namespace, res.Kind + "/" + res.Name, res.Object, res.Image, res.Change, today, res.New.Verdict})
	}
	return out
}

func TestCheckAgainstCurrentPolicy(t *testing.T) {
	w := newWorld(t)
	c := client(true)
	ws, err := fakeCluster(t, w.shop(), fleet.WithoutNamespaces("kube-system")).Workloads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := fleet.Check(context.Background(), ws, w.engine(t, c, nextPolicy), fleet.WithCurrent(w.engine(t, c, currentPolicy)))
	want := []row{
		{"data", "StatefulSet/db", "", w.image("vendor/db:1"), fleet.NewlyDenied, fleet.Allowed, fleet.Denied},
		{"shop", "Pod/debug", "", w.image("flaky/x:1"), fleet.ChangeUnknown, fleet.Unknown, fleet.Unknown},
		{"shop", "Deployment/web", "ReplicaSet/web-0", w.image("team/app:unsigned"), fleet.StillDenied, fleet.Denied, fleet.Denied},
		{"shop", "CronJob/report", "", w.image("team/legacy:1"), fleet.NewlyAllowed, fleet.Denied, fleet.Allowed},
		{"shop", "Deployment/web", "", w.image("team/app:v1"), fleet.Unchanged, fleet.Allowed, fleet.Allowed},
	}
	if got := rows(r); !slices.Equal(got, want) {
		t.Errorf("results:\n got %v\nwant %v", got, want)
	}
	wantSum := fleet.Summary{Workloads: 4, Images: 5, NewlyDenied: 1, NewlyAllowed: 1, StillDenied: 1, Unchanged: 1, Unknown: 1, DeniedWorkloads: 1}
	if r.Summary != wantSum {
		t.Errorf("summary %+v, want %+v", r.Summary, wantSum)
	}
	if !r.Gate() || !r.Incomplete() {
		t.Errorf("Gate() %v, Incomplete() %v: want both (one image newly denied, one not checked)", r.Gate(), r.Incomplete())
	}
	// The headline's reason is the decision's, as signet verify prints it.
	if got := r.Results[0].New.Reason; !strings.HasPrefix(got, "signatures [not-found]: ") {
		t.Errorf("newly denied reason %q, want the signatures check's refusal", got)
	}
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("table:\n%s", table.String())
	wantLine := "4 workloads, 5 images: 1 would be newly denied (in 1 workload), 1 newly allowed, 1 still denied, 1 unchanged, 1 could not be checked (not counted as allowed)"
	if !strings.HasSuffix(table.String(), wantLine+"\n") {
		t.Errorf("summary line:\n%s\nwant it to end with %q", table.String(), wantLine)
	}
}

// A registry outage is never an allowed image: not under enforce, not
// under warn, not with a current policy that would allow it.
func TestRegistryOutageIsNeverAllowed(t *testing.T) {
	w := newWorld(t)
	w.down.Store(true)
	c := client(true)
	ws := fleet.Images([]string{w.image("team/app:v1"), w.image("flaky/x:1")})
	for _, current := range []bool{false, true} {
		t.Run(fmt.Sprintf("against=%v", current), func(t *testing.T) {
			var opts []fleet.CheckOption
			if current {
				opts = append(opts, fleet.WithCurrent(w.engine(t, c, currentPolicy)))
			}
			r := fleet.Check(context.Background(), ws, w.engine(t, c, nextPolicy), opts...)
			for _, res := range r.Results {
				if res.New.Verdict != fleet.Unknown || res.Change != fleet.ChangeUnknown || res.New.Class != "transient" {
					t.Errorf("%s: new %s (%s), change %s; want unknown, transient", res.Image, res.New.Verdict, res.New.Class, res.Change)
				}
			}
			if r.Summary.Unknown != 2 || r.Summary.Allowed+r.Summary.Unchanged+r.Summary.NewlyAllowed != 0 || !r.Incomplete() {
				t.Errorf("summary %+v: want 2 could not be checked, none allowed", r.Summary)
			}
		})
	}
}

// Each manifest and referrers list is fetched once for the whole check,
// whatever the number of workloads, references and policies.
func TestOneFetchPerDigest(t *testing.T) {
	w := newWorld(t)
	app := w.image("team/app:v1")
	digest := ""
	objs := []obj{
		{kind: "Deployment", ns: "a", name: "one", uid: "1", images: []string{app}},
		{kind: "Deployment", ns: "b", name: "two", uid: "2", images: []string{app}},
		{kind: "PodTemplate", ns: "c", name: "three", uid: "3", images: []string{app, w.image("team/app:unsigned")}},
	}
	ws, err := fakeCluster(t, objs).Workloads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	check := func(memo bool) map[string]int {
		w.requests.reset()
		c := client(memo)
		r := fleet.Check(context.Background(), ws, w.engine(t, c, nextPolicy), fleet.WithCurrent(w.engine(t, c, currentPolicy)))
		if r.Summary.Images != 2 || r.Summary.Unchanged != 1 || r.Summary.StillDenied != 1 {
			t.Fatalf("summary %+v, want 2 images: 1 unchanged, 1 still denied", r.Summary)
		}
		digest = r.Results[len(r.Results)-1].New.Digest
		return w.requests.snapshot()
	}
	got := check(true)
	for req, n := range got {
		if n > 1 && (strings.Contains(req, "/manifests/") || strings.Contains(req, "/referrers/") || strings.Contains(req, "/blobs/")) {
			t.Errorf("%s: %d requests, want 1", req, n)
		}
	}
	referrers := "GET /v2/team/app/referrers/" + digest
	if got[referrers] != 1 {
		t.Errorf("%s: %d requests, want 1 (requests: %v)", referrers, got[referrers], got)
	}
	// Without the memo the second policy asks again: the count above can fail.
	if again := check(false); again[referrers] < 2 {
		t.Errorf("without the memo, %s: %d requests; the test no longer shows what the memo saves", referrers, again[referrers])
	}
}

func TestReportJSON(t *testing.T) {
	w := newWorld(t)
	c := client(true)
	ws := fleet.Images([]string{w.image("vendor/db:1")})
	r := fleet.Check(context.Background(), ws, w.engine(t, c, nextPolicy), fleet.WithCurrent(w.engine(t, c, currentPolicy)))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Against bool           `json:"against"`
		Summary map[string]int `json:"summary"`
		Results []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	wantSummary := []string{"workloads", "images", "newlyDenied", "newlyAllowed", "stillDenied", "unchanged", "denied", "allowed", "unknown", "deniedWorkloads"}
	for _, k := range wantSummary {
		if _, ok := doc.Summary[k]; !ok {
			t.Errorf("summary has no %q: %s", k, b)
		}
	}
	if !doc.Against || len(doc.Results) != 1 || doc.Summary["newlyDenied"] != 1 {
		t.Fatalf("want one newly denied result against the current policy: %s", b)
	}
	res := doc.Results[0]
	for _, k := range []string{"kind", "image", "change", "new", "current"} {
		if _, ok := res[k]; !ok {
			t.Errorf("result has no %q: %s", k, b)
		}
	}
	var next, current map[string]string
	json.Unmarshal(res["new"], &next)
	json.Unmarshal(res["current"], &current)
	if string(res["change"]) != `"newly-denied"` || next["verdict"] != "denied" || current["verdict"] != "allowed" ||
		next["class"] != "not-found" || next["rule"] != w.host+"/vendor/**" || !strings.HasPrefix(next["reason"], "signatures [not-found]") ||
		!strings.HasPrefix(next["digest"], "sha256:") {
		t.Errorf("result %s: want change newly-denied, new {verdict denied, class not-found, rule, reason, digest}, current {verdict allowed}", b)
	}
}

// Without a current policy the report is the new policy's verdicts, and a
// denial gates.
func TestWithoutCurrentPolicy(t *testing.T) {
	w := newWorld(t)
	c := client(true)
	ws := fleet.Images([]string{w.image("team/app:v1"), w.image("vendor/db:1")})
	r := fleet.Check(context.Background(), ws, w.engine(t, c, nextPolicy))
	want := []row{
		{"", "Image/", "", w.image("vendor/db:1"), fleet.ChangeDenied, "", fleet.Denied},
		{"", "Image/", "", w.image("team/app:v1"), fleet.ChangeAllowed, "", fleet.Allowed},
	}
	if got := rows(r); !slices.Equal(got, want) {
		t.Errorf("results:\n got %v\nwant %v", got, want)
	}
	if !r.Gate() || r.Incomplete() || r.Against {
		t.Errorf("Gate() %v, Incomplete() %v, Against %v; want a gate, complete, not against", r.Gate(), r.Incomplete(), r.Against)
	}
	if got, want := r.SummaryLine(), "2 images: 1 denied under the new policy, 1 allowed"; got != want {
		t.Errorf("summary line %q, want %q", got, want)
	}
}

func TestRepositories(t *testing.T) {
	w := newWorld(t)
	c := client(true)
	d := w.reg.PushImage(t, "team/app:v2")
	// Tags naming attached artifacts are not images to judge.
	w.reg.PushImage(t, "team/app:"+strings.ReplaceAll(d.DigestStr(), ":", "-")+".sig")
	ws, skipped := fleet.Repositories(context.Background(), c, []string{w.host + "/team/app", w.host + "/flaky/x"}, 0)
	if skipped < 1 {
		t.Errorf("skipped %d tags, want the .sig tag (and the referrers fallback tags) skipped", skipped)
	}
	if len(ws) != 2 {
		t.Fatalf("%d workloads, want one per repository: %+v", len(ws), ws)
	}
	flaky, app := ws[0], ws[1]
	if !strings.Contains(flaky.Problem, "listing the tags of "+w.host+"/flaky/x") || len(flaky.Images) != 0 {
		t.Errorf("flaky/x: %+v; want a problem listing its tags", flaky)
	}
	var tags []string
	for _, im := range app.Images {
		tags = append(tags, strings.TrimPrefix(im.Ref, w.host+"/team/app:"))
	}
	if want := []string{"unsigned", "v1", "v2"}; !slices.Equal(tags, want) {
		t.Errorf("team/app tags %v, want %v", tags, want)
	}
	r := fleet.Check(context.Background(), ws, w.engine(t, c, nextPolicy))
	if r.Summary.Unknown != 1 || r.Summary.Denied != 2 || r.Summary.Allowed != 1 || !r.Incomplete() {
		t.Errorf("summary %+v; want v1 allowed, v2 and unsigned denied, flaky/x could not be listed", r.Summary)
	}
}

func TestClusterSelectsAndExcludes(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		name string
		opts []fleet.ClusterOption
		want []string
	}{
		{"everything", nil, []string{"data/StatefulSet/db", "kube-system/DaemonSet/proxy", "shop/CronJob/report", "shop/Deployment/web", "shop/Pod/debug"}},
		{"without kube-system", []fleet.ClusterOption{fleet.WithoutNamespaces("kube-system")},
			[]string{"data/StatefulSet/db", "shop/CronJob/report", "shop/Deployment/web", "shop/Pod/debug"}},
		{"namespace data", []fleet.ClusterOption{fleet.WithNamespaces("data")}, []string{"data/StatefulSet/db"}},
		// The label selects the Deployment, not its (unlabelled) ReplicaSets and Pods.
		{"label app=web", []fleet.ClusterOption{fleet.WithSelector("app=web")}, []string{"shop/Deployment/web"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := fakeCluster(t, w.shop(), tt.opts...).Workloads(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, wl := range ws {
				got = append(got, wl.Namespace+"/"+wl.Kind+"/"+wl.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("workloads %v, want %v", got, tt.want)
			}
		})
	}
}
