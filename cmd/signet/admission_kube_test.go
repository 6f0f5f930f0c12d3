package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// policyAPIServer serves the few API paths the webhook's policy source uses:
// list and watch of both policy kinds, get of a Secret, and status updates,
// which it records.
type policyAPIServer struct {
	mu       sync.Mutex
	cluster  []map[string]any
	policies []map[string]any
	secrets  map[string]map[string]any // namespace/name
	statuses map[string]map[string]any // path: status written
	paths    []string
}

func (f *policyAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	list := func(kind string, items []map[string]any) {
		switch {
		case q.Get("watch") == "true" && q.Get("sendInitialEvents") == "true":
			// Not supported here: client-go falls back to list, then watch.
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 400, "reason": "BadRequest"})
		case q.Get("watch") == "true":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			f.mu.Lock()
			defer f.mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"apiVersion": "signet.dev/v1alpha1", "kind": kind + "List",
				"metadata": map[string]any{"resourceVersion": "1"}, "items": items})
		}
	}
	switch p := r.URL.Path; {
	case r.Method == http.MethodGet && p == "/apis/signet.dev/v1alpha1/signetclusterpolicies":
		list("SignetClusterPolicy", f.cluster)
	case r.Method == http.MethodGet && p == "/apis/signet.dev/v1alpha1/signetpolicies":
		list("SignetPolicy", f.policies)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/v1/namespaces/"):
		parts := strings.Split(p, "/") // "", api, v1, namespaces, NS, secrets, NAME
		s, ok := f.secrets[parts[4]+"/"+parts[6]]
		if len(parts) != 7 || parts[5] != "secrets" || !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404, "reason": "NotFound"})
			return
		}
		json.NewEncoder(w).Encode(s)
	case r.Method == http.MethodPut && strings.HasSuffix(p, "/status"):
		var obj map[string]any
		json.NewDecoder(r.Body).Decode(&obj)
		f.mu.Lock()
		f.statuses[p] = obj["status"].(map[string]any)
		f.mu.Unlock()
		json.NewEncoder(w).Encode(obj)
	default:
		http.Error(w, "not served here", http.StatusNotFound)
	}
}

func (f *policyAPIServer) status(path string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statuses[path]
}

// TestAdmissionServeKubernetes runs admission serve --policy-source
// kubernetes against a fake API server: the cluster policy (its key in a
// Secret) admits the signed image, a SignetPolicy reaching for another
// namespace's Secret is Invalid and denies in its namespace, both statuses
// are written, and /validate-policy refuses a bad policy.
func TestAdmissionServeKubernetes(t *testing.T) {
	dir, reg, good, _ := reviewFixture(t)
	pub, _ := os.ReadFile(filepath.Join(dir, "release.pub"))
	meta := func(name, ns string) map[string]any {
		m := map[string]any{"name": name, "uid": "uid-" + name, "generation": 1, "resourceVersion": "1"}
		if ns != "" {
			m["namespace"] = ns
		}
		return m
	}
	api := &policyAPIServer{statuses: map[string]map[string]any{},
		cluster: []map[string]any{{"apiVersion": "signet.dev/v1alpha1", "kind": "SignetClusterPolicy", "metadata": meta("base", ""),
			"spec": map[string]any{"images": []any{map[string]any{"pattern": reg.Host + "/team/**",
				"signers": []any{map[string]any{"name": "release", "key": "k8s://release"}}}}}}},
		policies: []map[string]any{{"apiVersion": "signet.dev/v1alpha1", "kind": "SignetPolicy", "metadata": meta("steal", "team-a"),
			"spec": map[string]any{"images": []any{map[string]any{"pattern": "**",
				"signers": []any{map[string]any{"name": "x", "key": "k8s://team-b/theirs"}}}}}}},
		secrets: map[string]map[string]any{
			"signet-system/release": {"apiVersion": "v1", "kind": "Secret", "metadata": meta("release", "signet-system"),
				"data": map[string]any{"cosign.pub": base64.StdEncoding.EncodeToString(pub)}},
			"team-b/theirs": {"apiVersion": "v1", "kind": "Secret", "metadata": meta("theirs", "team-b"),
				"data": map[string]any{"cosign.pub": base64.StdEncoding.EncodeToString(pub)}},
		}}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	cert, key := selfSigned(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"admission", "serve", "--policy-source", "kubernetes", "--kubeconfig", kubeconfig(t, dir, apiSrv.URL),
			"--namespace", "signet-system", "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key}, strings.NewReader(""), io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("serve exited %d:\n%s", code, stderr.String())
		}
	}()
	addr := regexp.MustCompile(`Admission webhook on (https://[0-9.:]+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	post := func(path string, review any) *admissionv1.AdmissionResponse {
		t.Helper()
		b, _ := json.Marshal(review)
		resp, err := client.Post(base+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		return out.Response
	}
	podIn := func(ns, image string) map[string]any {
		obj := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": ns},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": image}}}}
		return map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
			"uid": "u", "kind": map[string]any{"version": "v1", "kind": "Pod"}, "namespace": ns, "operation": "CREATE", "object": obj}}
	}
	signed := reg.Host + "/team/app:v1"
	if r := post("/mutate", podIn("team-b", signed)); !r.Allowed || !strings.Contains(string(r.Patch), signed+"@"+good.DigestStr()) {
		t.Fatalf("team-b: %+v", r)
	}
	if r := post("/validate", podIn("team-a", signed)); r.Allowed || !strings.Contains(r.Result.Message, "this policy is not in effect (Invalid)") {
		t.Fatalf("team-a: %+v", r.Result)
	}
	if r := post("/validate", podIn("team-b", reg.Host+"/team/app:v2")); r.Allowed || !strings.Contains(r.Result.Message, "(SignetClusterPolicy base)") {
		t.Fatalf("unsigned: %+v", r.Result)
	}
	bad := map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "u", "kind": map[string]any{"group": "signet.dev", "version": "v1alpha1", "kind": "SignetPolicy"}, "namespace": "team-a",
		"operation": "CREATE", "object": api.policies[0]}}
	if r := post("/validate-policy", bad); r.Allowed || !strings.Contains(r.Result.Message, "a SignetPolicy may read Secrets only in its own namespace (team-a)") {
		t.Fatalf("validate-policy: %+v", r.Result)
	}

	ready := func(path string) map[string]any {
		st := api.status(path)
		conds, _ := st["conditions"].([]any)
		if len(conds) != 1 {
			t.Fatalf("%s: status %v", path, st)
		}
		return conds[0].(map[string]any)
	}
	if c := ready("/apis/signet.dev/v1alpha1/signetclusterpolicies/base/status"); c["status"] != "True" || c["reason"] != "Compiled" {
		t.Fatalf("base: %v", c)
	}
	if c := ready("/apis/signet.dev/v1alpha1/namespaces/team-a/signetpolicies/steal/status"); c["status"] != "False" || c["reason"] != "Invalid" {
		t.Fatalf("steal: %v", c)
	}
	for _, p := range api.paths {
		if strings.Contains(p, "/namespaces/team-b/secrets") {
			t.Fatalf("the webhook read team-b's Secret for team-a's policy: %s", p)
		}
	}
}
