//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/bcrypt"

	"github.com/signet-dev/signet/localregistry"
)

// password protects every key the suite makes.
const password = "e2e-password"

// registryUnderTest is one registry the matrix runs against.
type registryUnderTest struct {
	name      string
	host      string
	referrers bool
}

// server is a thing the suite starts once and shares: a registry, and later
// a log, a TSA, Fulcio. Adding one is a start function and a line in env.
type server[T any] struct {
	once sync.Once
	val  T
	err  error
}

func (s *server[T]) get(t *testing.T, start func() (T, error)) T {
	t.Helper()
	s.once.Do(func() { s.val, s.err = start() })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.val
}

var (
	distributionReg     server[*registryUnderTest]
	distributionAuthReg server[*registryUnderTest]
	ggcrReg             server[*registryUnderTest]
	material            server[*keyMaterial]
)

const authUser, authPass = "ci", "s3cret-e2e"

// startDistribution runs the distribution v3 registry (no referrers API).
// With auth it requires htpasswd credentials, which the suite's docker
// config.json carries.
func startDistribution(auth bool) (*registryUnderTest, error) {
	name := "distribution"
	if auth {
		name = "distribution-auth"
	}
	return startDistributionConfig(name, auth, "")
}

// startDistributionConfig starts a distribution registry named name with
// extra appended to its configuration (a notifications section, say).
func startDistributionConfig(name string, auth bool, extra string) (*registryUnderTest, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(stateDir, name)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s/data
  delete:
    enabled: true
http:
  addr: %s
`, root, addr) + extra
	if auth {
		hash, err := bcrypt.GenerateFromPassword([]byte(authPass), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		htpasswd := filepath.Join(root, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(authUser+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: signet-e2e\n    path: %s\n", htpasswd)
		if err := addDockerAuth(addr); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(root, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if _, err := startProcess(name, tool("registry", distributionVersion), "serve", cfgPath); err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+addr+"/v2/", 200, 401); err != nil {
		return nil, err
	}
	return &registryUnderTest{name: name, host: addr}, nil
}

// startGGCR runs go-containerregistry's registry with the referrers API, in process.
func startGGCR() (*registryUnderTest, error) {
	srv, err := localregistry.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &registryUnderTest{name: "ggcr-referrers", host: srv.Addr, referrers: true}, nil
}

// dockerConfigMu guards the suite's docker config.json.
var dockerConfigMu sync.Mutex

// addDockerAuth records credentials for host in $DOCKER_CONFIG/config.json.
func addDockerAuth(host string) error {
	dockerConfigMu.Lock()
	defer dockerConfigMu.Unlock()
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		dir = filepath.Join(stateDir, "docker")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		os.Setenv("DOCKER_CONFIG", dir)
	}
	path := filepath.Join(dir, "config.json")
	cfg := map[string]map[string]map[string]string{"auths": {}}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return err
		}
	}
	cfg["auths"][host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(authUser + ":" + authPass))}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// matrixRegistries are the registries every matrix cell runs on.
func matrixRegistries(t *testing.T) []*registryUnderTest {
	return []*registryUnderTest{
		distributionReg.get(t, func() (*registryUnderTest, error) { return startDistribution(false) }),
		ggcrReg.get(t, startGGCR),
	}
}

// keyMaterial is every key and cosign config the suite uses, made once.
type keyMaterial struct {
	signetKey, signetPub string // made by signet keys generate
	cosignKey, cosignPub string // made by cosign generate-key-pair
	otherPub             string // trusted by nobody who signed
	trustedRoot          string // cosign trusted root with no services: offline
	signingConfig        string // cosign signing config with no services
}

func keys(t *testing.T) *keyMaterial {
	return material.get(t, func() (*keyMaterial, error) {
		dir := filepath.Join(stateDir, "keys")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		k := &keyMaterial{
			signetKey: filepath.Join(dir, "signet.key"), signetPub: filepath.Join(dir, "signet.pub"),
			cosignKey: filepath.Join(dir, "cosign.key"), cosignPub: filepath.Join(dir, "cosign.pub"),
			otherPub:    filepath.Join(dir, "other.pub"),
			trustedRoot: filepath.Join(dir, "trusted_root.json"), signingConfig: filepath.Join(dir, "signing_config.json"),
		}
		steps := []struct {
			bin  string
			args []string
		}{
			{tool("signet", ""), []string{"keys", "generate", "--output-prefix", filepath.Join(dir, "signet")}},
			{tool("signet", ""), []string{"keys", "generate", "--output-prefix", filepath.Join(dir, "other")}},
			{tool("cosign", cosignV3Version), []string{"generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign")}},
			{tool("cosign", cosignV3Version), []string{"trusted-root", "create", "--no-default-fulcio", "--no-default-rekor", "--no-default-ctfe", "--no-default-tsa", "--out", k.trustedRoot}},
			{tool("cosign", cosignV3Version), []string{"signing-config", "create", "--no-default-fulcio", "--no-default-oidc", "--no-default-rekor", "--no-default-tsa", "--out", k.signingConfig}},
		}
		for _, s := range steps {
			r := runCLI(t, toolEnv("SIGNET_PASSWORD="+password, "COSIGN_PASSWORD="+password), s.bin, s.args...)
			if r.code != 0 {
				return nil, fmt.Errorf("%s %v: %s", filepath.Base(s.bin), s.args, r)
			}
		}
		return k, nil
	})
}

// --- images ----------------------------------------------------------------

func remoteOpts() []remote.Option {
	return []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

// pushImage pushes a small random image to host/repo:tag and returns its digest reference.
func pushImage(t *testing.T, host, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remoteOpts()...); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return ref.Context().Digest(h.String())
}

// pushIndex pushes a linux/amd64 + linux/arm64 index and returns the index
// digest and the two platform digests.
func pushIndex(t *testing.T, host, repoTag string) (name.Digest, []name.Digest) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var plats []v1.Hash
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		plats = append(plats, h)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.NewTag(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remoteOpts()...); err != nil {
		t.Fatal(err)
	}
	h, _ := idx.Digest()
	var out []name.Digest
	for _, p := range plats {
		out = append(out, ref.Context().Digest(p.String()))
	}
	return ref.Context().Digest(h.String()), out
}
