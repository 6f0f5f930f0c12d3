package trust_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/signet-dev/signet/trust"
)

// repo is a TUF repository written to a directory and served over HTTP,
// with one key per role and consistent snapshots, as Sigstore publishes.
type repo struct {
	dir     string
	keys    map[string]ed25519.PrivateKey
	root    *metadata.Metadata[metadata.RootType]
	version map[string]int64
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{dir: t.TempDir(), keys: map[string]ed25519.PrivateKey{}, version: map[string]int64{}}
	os.MkdirAll(filepath.Join(r.dir, "targets"), 0o755)
	r.root = metadata.Root(time.Now().Add(365 * 24 * time.Hour))
	r.root.Signed.ConsistentSnapshot = true
	for _, role := range []string{"root", "targets", "snapshot", "timestamp"} {
		r.setKey(t, role)
	}
	r.writeRoot(t, "root")
	return r
}

func (r *repo) setKey(t *testing.T, role string) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	r.root.Signed.Roles[role].KeyIDs = nil
	if err := r.root.Signed.AddKey(k, role); err != nil {
		t.Fatal(err)
	}
	r.keys[role] = priv
}

func signer(t *testing.T, k ed25519.PrivateKey) signature.Signer {
	s, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeRoot signs the root with the given keys' roles and writes N.root.json.
func (r *repo) writeRoot(t *testing.T, signers ...string) {
	r.root.Signatures = nil
	for _, role := range signers {
		if _, err := r.root.Sign(signer(t, r.keys[role])); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.root.ToFile(filepath.Join(r.dir, fmt.Sprintf("%d.root.json", r.root.Signed.Version)), true); err != nil {
		t.Fatal(err)
	}
}

// publish writes a target and new targets, snapshot and timestamp metadata;
// timestampExpires sets the timestamp's expiry and tsVersion (0: next) its version.
func (r *repo) publish(t *testing.T, content string, timestampExpires time.Time, tsVersion int64) {
	t.Helper()
	data := []byte(content)
	sum := sha256.Sum256(data)
	if err := os.WriteFile(filepath.Join(r.dir, "targets", hex.EncodeToString(sum[:])+".trusted_root.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	year := time.Now().Add(365 * 24 * time.Hour)
	tg := metadata.Targets(year)
	r.version["targets"]++
	tg.Signed.Version = r.version["targets"]
	tf, err := metadata.TargetFile().FromBytes("trusted_root.json", data, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	tg.Signed.Targets["trusted_root.json"] = tf
	tg.Sign(signer(t, r.keys["targets"]))
	tg.ToFile(filepath.Join(r.dir, fmt.Sprintf("%d.targets.json", tg.Signed.Version)), true)
	sn := metadata.Snapshot(year)
	r.version["snapshot"]++
	sn.Signed.Version = r.version["snapshot"]
	sn.Signed.Meta["targets.json"] = metadata.MetaFile(tg.Signed.Version)
	sn.Sign(signer(t, r.keys["snapshot"]))
	sn.ToFile(filepath.Join(r.dir, fmt.Sprintf("%d.snapshot.json", sn.Signed.Version)), true)
	ts := metadata.Timestamp(timestampExpires)
	r.version["timestamp"]++
	ts.Signed.Version = r.version["timestamp"]
	if tsVersion > 0 {
		ts.Signed.Version = tsVersion
	}
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(sn.Signed.Version)
	ts.Sign(signer(t, r.keys["timestamp"]))
	ts.ToFile(filepath.Join(r.dir, "timestamp.json"), true)
}

func (r *repo) serve(t *testing.T) string {
	srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFetchRotationRollbackExpiry(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	url := r.serve(t)
	initial, _ := os.ReadFile(filepath.Join(r.dir, "1.root.json"))
	cache := t.TempDir()
	opts := trust.Options{Mirror: url, Root: initial, CacheDir: cache}
	year := time.Now().Add(365 * 24 * time.Hour)

	r.publish(t, `{"v":1}`, year, 0)
	m, err := trust.Fetch(opts)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.TrustedRoot) != `{"v":1}` {
		t.Fatalf("initial fetch: %s", m.TrustedRoot)
	}

	// Root rotation: version 2 replaces every key, signed by old and new root keys.
	oldRootKey := r.keys["root"]
	r.root.Signed.Version = 2
	for _, role := range []string{"root", "targets", "snapshot", "timestamp"} {
		r.setKey(t, role)
	}
	r.root.Signatures = nil
	r.root.Sign(signer(t, oldRootKey))
	r.root.Sign(signer(t, r.keys["root"]))
	r.root.ToFile(filepath.Join(r.dir, "2.root.json"), true)
	r.publish(t, `{"v":2}`, year, 0)
	if m, err = trust.Fetch(opts); err != nil || string(m.TrustedRoot) != `{"v":2}` {
		t.Fatalf("after root rotation: %s, %v", m.TrustedRoot, err)
	}

	// Rollback: a timestamp older than the one already seen is refused.
	r.publish(t, `{"v":"rolled back"}`, year, 1)
	if _, err := trust.Fetch(opts); err == nil || !strings.Contains(strings.ToLower(err.Error()), "version") {
		t.Fatalf("rolled-back timestamp: got %v", err)
	}

	// Expired timestamp metadata is refused (freeze attack).
	r.version["timestamp"] = 10
	r.publish(t, `{"v":"frozen"}`, time.Now().Add(-time.Hour), 0)
	if _, err := trust.Fetch(opts); err == nil || !strings.Contains(strings.ToLower(err.Error()), "expired") {
		t.Fatalf("expired timestamp: got %v", err)
	}
}
