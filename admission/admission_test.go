package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

type env struct {
	reg    *registrytest.Registry
	srv    *httptest.Server
	signed string // tag reference of a signed image
	digest string
	bad    string // tag reference of an unsigned image
	hook   *admission.Webhook
}

func setup(t *testing.T, mode string) *env { return setupTB(t, mode, true) }

func setupB(b *testing.B) *env { return setupTB(b, "enforce", b.Name() != "BenchmarkWebhookCold") }

func setupTB(t testing.TB, mode string, cache bool) *env {
	t.Helper()
	e := &env{reg: registrytest.New(t, true)}
	dir := t.TempDir()
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644)
	sv, _ := keys.SignerVerifier(priv)
	s, _ := sign.New(sv, oci.New())
	d := e.reg.PushImage(t, "team/app:v1")
	if _, err := s.SignImage(context.Background(), d.String(), sign.Request{}); err != nil {
		t.Fatal(err)
	}
	e.reg.PushImage(t, "team/app:unsigned")
	e.signed, e.digest, e.bad = e.reg.Host+"/team/app:v1", d.DigestStr(), e.reg.Host+"/team/app:unsigned"
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    mode: %s\n    signers: [{name: release, key: release.pub}]\n", e.reg.Host+"/team/**", mode)
	c, err := policy.Compile([]byte(doc), dir, keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	var eopts []verify.EngineOption
	if cache {
		eopts = append(eopts, verify.WithCache(100, time.Minute, 10*time.Second))
	}
	eng, err := verify.NewEngine(oci.New(), c, eopts...)
	if err != nil {
		t.Fatal(err)
	}
	e.hook = admission.New(eng)
	e.srv = httptest.NewTLSServer(e.hook.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// apiVersions is where each kind the tests use lives (default v1).
var apiVersions = map[string]string{"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
	"DaemonSet": "apps/v1", "ControllerRevision": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}

func apiVersion(kind string) string {
	if v, ok := apiVersions[kind]; ok {
		return v
	}
	return "v1"
}

// workload returns a manifest of kind running the images.
func workload(kind string, images ...string) map[string]any {
	var cs []map[string]any
	for i, img := range images {
		cs = append(cs, map[string]any{"name": "c" + strconv.Itoa(i), "image": img})
	}
	pod := map[string]any{"containers": cs}
	tmpl := map[string]any{"spec": pod}
	obj := map[string]any{"apiVersion": apiVersion(kind), "kind": kind, "metadata": map[string]any{"name": "x"}}
	switch kind {
	case "Pod":
		obj["spec"] = pod
	case "CronJob":
		obj["spec"] = map[string]any{"schedule": "* * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl}}}
	default:
		obj["spec"] = map[string]any{"template": tmpl}
	}
	return obj
}

func review(kind string, obj map[string]any) []byte {
	raw, _ := json.Marshal(obj)
	group, version, ok := strings.Cut(apiVersion(kind), "/")
	if !ok {
		group, version = "", group
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{"uid": "u-1", "kind": map[string]string{"group": group, "version": version, "kind": kind},
			"resource": map[string]string{"resource": strings.ToLower(kind) + "s"}, "operation": "CREATE", "object": json.RawMessage(raw)}})
	return b
}

func post(t *testing.T, e *env, path string, body []byte) (*admissionv1.AdmissionResponse, int) {
	t.Helper()
	resp, err := e.srv.Client().Post(e.srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Response, resp.StatusCode
}

// applyReplace applies a JSONPatch of replace operations.
func applyReplace(t *testing.T, obj map[string]any, patch []byte) map[string]any {
	t.Helper()
	var ops []struct{ Op, Path, Value string }
	if err := json.Unmarshal(patch, &ops); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(obj)
	var doc any
	json.Unmarshal(raw, &doc)
	for _, op := range ops {
		if op.Op != "replace" {
			t.Fatalf("unexpected op %s", op.Op)
		}
		parts := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
		cur := doc
		for i, p := range parts {
			last := i == len(parts)-1
			switch c := cur.(type) {
			case map[string]any:
				if _, ok := c[p]; !ok {
					t.Fatalf("path %s: no %s", op.Path, p)
				}
				if last {
					c[p] = op.Value
				}
				cur = c[p]
			case []any:
				n, _ := strconv.Atoi(p)
				if last {
					c[n] = op.Value
				}
				cur = c[n]
			}
		}
	}
	return doc.(map[string]any)
}

func TestWorkloadKinds(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	for _, kind := range []string{"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"} {
		t.Run(kind, func(t *testing.T) {
			obj := workload(kind, e.signed, e.reg.Host+"/team/app@"+e.digest)
			resp, code := post(t, e, "/mutate", review(kind, obj))
			if code != 200 || !resp.Allowed {
				t.Fatalf("signed: %d %+v", code, resp)
			}
			patched, _ := json.Marshal(applyReplace(t, obj, resp.Patch))
			if !strings.Contains(string(patched), e.signed+"@"+e.digest) || strings.Count(string(resp.Patch), "replace") != 1 {
				t.Fatalf("patch %s did not pin the tag (only the tag): %s", resp.Patch, patched)
			}
			resp, _ = post(t, e, "/validate", review(kind, workload(kind, e.signed, e.bad)))
			if resp.Allowed || !strings.Contains(resp.Result.Message, "image "+e.bad+" denied by signet rule") || !strings.Contains(resp.Result.Message, "no signatures found") {
				t.Fatalf("unsigned: %+v", resp.Result)
			}
		})
	}
}

func TestWarnMode(t *testing.T) {
	t.Parallel()
	e := setup(t, "warn")
	resp, _ := post(t, e, "/validate", review("Pod", workload("Pod", e.bad)))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "would be denied") || len(resp.AuditAnnotations) != 1 {
		t.Fatalf("%+v", resp)
	}
	// The API server prefixes each key with the webhook's name and a slash
	// and drops a key that is then not a valid annotation key (one slash).
	for k, v := range resp.AuditAnnotations {
		if errs := validation.IsQualifiedName("validate.signet.dev/" + k); len(errs) > 0 {
			t.Errorf("audit annotation key %q is dropped by the API server: %v", k, errs)
		}
		if !strings.Contains(v, e.bad) || !strings.Contains(v, "no signatures found") {
			t.Errorf("audit annotation %s=%q does not say which image and why", k, v)
		}
	}
	// The mutating webhook runs first (and again on reinvocation): the
	// validating one alone reports, so kubectl shows each warning once.
	resp, _ = post(t, e, "/mutate", review("Pod", workload("Pod", e.bad)))
	if !resp.Allowed || len(resp.Warnings) != 0 || len(resp.AuditAnnotations) != 0 {
		t.Fatalf("the mutating webhook repeats the validating one's warnings: %q %v", resp.Warnings, resp.AuditAnnotations)
	}
}

func TestMalformedReviews(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	huge := bytes.Repeat([]byte(" "), 4<<20)
	for name, tc := range map[string]struct {
		body []byte
		code int
	}{
		"bad JSON":     {[]byte("{not json"), 400},
		"wrong kind":   {[]byte(`{"apiVersion":"v1","kind":"Pod"}`), 400},
		"no request":   {[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), 400},
		"huge body":    {huge, 413},
		"empty object": {review("Pod", map[string]any{}), 200},
	} {
		_, code := post(t, e, "/validate", tc.body)
		if code != tc.code {
			t.Errorf("%s: status %d, want %d", name, code, tc.code)
		}
	}
	// An object of a kind the webhook does not read is allowed; a garbled workload is denied.
	resp, _ := post(t, e, "/validate", review("ConfigMap", map[string]any{"data": map[string]string{"a": "b"}}))
	if !resp.Allowed {
		t.Fatalf("ConfigMap: %+v", resp)
	}
	resp, _ = post(t, e, "/validate", review("Pod", map[string]any{"spec": "garbage"}))
	if resp.Allowed || resp.Result.Code != 400 {
		t.Fatalf("garbled Pod: %+v", resp)
	}
}

// TestBudget: a registry that stalls gets a denial within the budget.
func TestBudget(t *testing.T) {
	t.Parallel()
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer stall.Close()
	host := strings.TrimPrefix(stall.URL, "http://")
	priv, _ := keys.Generate(keys.ECDSAP256)
	pub, _ := keys.PublicKeyPEM(priv.Public())
	doc := fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: Policy\nimages:\n  - pattern: %q\n    signers: [{name: r, publicKey: %q}]\n", host+"/**", string(pub))
	c, err := policy.Compile([]byte(doc), ".", keys.Loader{})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := verify.NewEngine(oci.New(), c)
	w := admission.New(eng, admission.WithBudget(500*time.Millisecond))
	var req admissionv1.AdmissionReview
	json.Unmarshal(review("Pod", workload("Pod", host+"/app:v1")), &req)
	start := time.Now()
	resp := w.Review(context.Background(), req.Request, false)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s with a 500ms budget", took)
	}
	if resp.Allowed || !strings.Contains(resp.Result.Message, "denied") {
		t.Fatalf("%+v", resp.Result)
	}
}

func TestConcurrentReviews(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img := e.signed
			if i%3 == 0 {
				img = e.bad
			}
			resp, _ := post(t, e, "/validate", review("Deployment", workload("Deployment", img)))
			if resp == nil || resp.Allowed != (img == e.signed) {
				t.Errorf("review %d: %+v", i, resp)
			}
		}()
	}
	wg.Wait()
}

func FuzzParseReview(f *testing.F) {
	f.Add(review("Pod", workload("Pod", "r/app:v1")))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := admission.ParseReview(body)
		if err == nil && r.Request == nil {
			t.Fatal("accepted a review without a request")
		}
	})
}
