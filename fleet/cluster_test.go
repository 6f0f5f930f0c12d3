package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/signet-dev/signet/fleet"
)

// apiServer answers list requests as kube-apiserver does, by path, page
// by page (limit and continue): pods holds the Pods of namespace shop.
type apiServer struct {
	mu        sync.Mutex
	requests  []string
	pods      []obj
	forbidden string // a resource answered 403
	expire    int    // continue tokens answered 410 Gone (expired), before the rest are honoured
}

func (a *apiServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.URL.Path+"?"+r.URL.RawQuery)
	expired := r.URL.Query().Get("continue") != "" && a.expire > 0
	if expired {
		a.expire--
	}
	a.mu.Unlock()
	resource := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	if resource == a.forbidden {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(rw, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,`+
			`"message":"%s is forbidden: User \"dev\" cannot list resource \"%s\" at the cluster scope"}`, resource, resource)
		return
	}
	if expired {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusGone)
		fmt.Fprint(rw, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"The provided continue parameter is too old"}`)
		return
	}
	var items []any
	if resource == "pods" && (strings.Contains(r.URL.Path, "/namespaces/shop/") || !strings.Contains(r.URL.Path, "/namespaces/")) {
		for _, p := range a.pods {
			items = append(items, p.unstructured().Object)
		}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	end, next := len(items), ""
	if limit > 0 && start+limit < len(items) {
		end, next = start+limit, strconv.Itoa(start+limit)
	}
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(map[string]any{"kind": "List", "apiVersion": "v1",
		"metadata": map[string]any{"resourceVersion": "7", "continue": next}, "items": items[min(start, end):end]})
}

func (a *apiServer) client(t *testing.T) dynamic.Interface {
	t.Helper()
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	d, err := dynamic.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Against an API server over HTTP: the paths of every kind, in all
// namespaces or the ones named, every page read.
func TestClusterListsEveryKindAndPage(t *testing.T) {
	var pods []obj
	for i := range 5 {
		pods = append(pods, obj{kind: "Pod", ns: "shop", name: fmt.Sprintf("p%d", i), uid: fmt.Sprintf("u%d", i), images: []string{fmt.Sprintf("app:%d", i)}})
	}
	for _, tt := range []struct {
		name       string
		namespaces []string
		prefix     string
	}{
		{"all namespaces", nil, ""},
		{"one namespace", []string{"shop"}, "/namespaces/shop"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &apiServer{pods: pods}
			c, err := fleet.NewCluster(a.client(t), fleet.WithNamespaces(tt.namespaces...), fleet.WithPageSize(2), fleet.WithSelector("app=web"))
			if err != nil {
				t.Fatal(err)
			}
			ws, err := c.Workloads(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != 5 {
				t.Errorf("%d workloads, want the 5 Pods, read in 3 pages: %+v", len(ws), ws)
			}
			want := []string{
				"/api/v1" + tt.prefix + "/pods?labelSelector=app%3Dweb&limit=2",
				"/api/v1" + tt.prefix + "/pods?continue=2&labelSelector=app%3Dweb&limit=2",
				"/api/v1" + tt.prefix + "/pods?continue=4&labelSelector=app%3Dweb&limit=2",
				"/api/v1" + tt.prefix + "/replicationcontrollers?labelSelector=app%3Dweb&limit=2",
				"/api/v1" + tt.prefix + "/podtemplates?labelSelector=app%3Dweb&limit=2",
				"/apis/apps/v1" + tt.prefix + "/deployments?labelSelector=app%3Dweb&limit=2",
				"/apis/apps/v1" + tt.prefix + "/replicasets?labelSelector=app%3Dweb&limit=2",
				"/apis/apps/v1" + tt.prefix + "/statefulsets?labelSelector=app%3Dweb&limit=2",
				"/apis/apps/v1" + tt.prefix + "/daemonsets?labelSelector=app%3Dweb&limit=2",
				"/apis/batch/v1" + tt.prefix + "/jobs?labelSelector=app%3Dweb&limit=2",
				"/apis/batch/v1" + tt.prefix + "/cronjobs?labelSelector=app%3Dweb&limit=2",
			}
			if !slices.Equal(a.requests, want) {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(a.requests, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// A kind the user may not list fails the whole listing: a partial fleet
// would under-report what a policy denies.
func TestClusterForbiddenKindFails(t *testing.T) {
	a := &apiServer{forbidden: "daemonsets"}
	c, err := fleet.NewCluster(a.client(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Workloads(context.Background())
	if !errors.IsForbidden(err) || !strings.Contains(err.Error(), "listing daemonsets.apps in all namespaces") {
		t.Errorf("error %v; want a forbidden error naming daemonsets.apps", err)
	}
}

func TestClusterOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  fleet.ClusterOption
		want string
	}{
		{"bad selector", fleet.WithSelector("app in (web"), `reading the label selector "app in (web"`},
		{"page size", fleet.WithPageSize(0), "page size 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := fleet.NewCluster(nil, tt.opt); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// A continue token that expires between pages starts the list again, once;
// twice is an error, never a partial list.
func TestClusterContinueExpired(t *testing.T) {
	var pods []obj
	for i := range 3 {
		pods = append(pods, obj{kind: "Pod", ns: "shop", name: fmt.Sprintf("p%d", i), uid: fmt.Sprintf("u%d", i), images: []string{fmt.Sprintf("app:%d", i)}})
	}
	for _, tt := range []struct {
		expire int
		want   int
	}{{1, 3}, {2, -1}} {
		t.Run(fmt.Sprintf("expired %d times", tt.expire), func(t *testing.T) {
			a := &apiServer{pods: pods, expire: tt.expire}
			c, err := fleet.NewCluster(a.client(t), fleet.WithPageSize(2))
			if err != nil {
				t.Fatal(err)
			}
			ws, err := c.Workloads(context.Background())
			switch {
			case tt.want < 0 && !errors.IsResourceExpired(err):
				t.Errorf("error %v, want the expiry", err)
			case tt.want >= 0 && (err != nil || len(ws) != tt.want):
				t.Errorf("%d workloads, %v; want %d", len(ws), err, tt.want)
			}
		})
	}
}
