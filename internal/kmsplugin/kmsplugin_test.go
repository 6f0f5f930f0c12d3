package kmsplugin

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"
)

// pluginEnv makes the test binary act as the plugin program
// sigstore-kms-testkms, whose provider reads ECDSA keys from PEM files.
const pluginEnv = "SIGNET_KMSPLUGIN_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(pluginEnv) == "1" {
		kms.AddProvider("testkms://", fileKMS)
		os.Exit(Main("testkms://"))
	}
	os.Exit(m.Run())
}

type fileSV struct {
	*signature.ECDSASignerVerifier
}

func (fileSV) CreateKey(context.Context, string) (crypto.PublicKey, error) {
	return nil, errors.New("not supported")
}
func (f fileSV) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return nil, nil, errors.New("not supported")
}
func (fileSV) SupportedAlgorithms() []string { return []string{"ecdsa-p256-sha256"} }
func (fileSV) DefaultAlgorithm() string      { return "ecdsa-p256-sha256" }

func fileKMS(_ context.Context, ref string, h crypto.Hash, _ ...signature.RPCOption) (kms.SignerVerifier, error) {
	data, err := os.ReadFile(strings.TrimPrefix(ref, "testkms://"))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	priv, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, h)
	return fileSV{sv}, err
}

// plugin puts the test binary on PATH as sigstore-kms-testkms and writes a
// key file; it returns the key and its testkms:// reference.
func plugin(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "sigstore-kms-testkms")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv(pluginEnv, "1")
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(priv)
	path := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return priv, "testkms://" + path
}

// TestRoundTrip signs and verifies through the plugin program, as signet
// does for awskms:// and the other KMS keys.
func TestRoundTrip(t *testing.T) {
	priv, ref := plugin(t)
	ctx := context.Background()
	sv, err := cliplugin.LoadSignerVerifier(ctx, ref, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		t.Fatalf("public key through the plugin: %v", err)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Fatal("the plugin answered with another public key")
	}
	msg := []byte("payload")
	sig, err := sv.SignMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("signing through the plugin: %v", err)
	}
	local, _ := signature.LoadECDSAVerifier(&priv.PublicKey, crypto.SHA256)
	if err := local.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
		t.Fatalf("the plugin's signature does not verify with the key: %v", err)
	}
	if err := sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
		t.Fatalf("the plugin refused its own signature: %v", err)
	}
	if err := sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader([]byte("other"))); err == nil {
		t.Fatal("the plugin accepted a signature over another message")
	}
	// Notation signs a digest through crypto.Signer.
	cs, _, err := sv.CryptoSigner(ctx, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(msg)
	dsig, err := cs.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("signing a digest through the plugin: %v", err)
	}
	if !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], dsig) {
		t.Fatal("the plugin's signature over a digest does not verify with the key")
	}
	missing, err := cliplugin.LoadSignerVerifier(ctx, ref+".missing", crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.PublicKey(); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("a missing key: got %v, want the provider's error passed back", err)
	}
}

// TestRefusals checks the requests a plugin program refuses without
// calling a provider.
func TestRefusals(t *testing.T) {
	kms.AddProvider("testkms://", fileKMS)
	good, _ := json.Marshal(common.PluginArgs{
		InitOptions: &common.InitOptions{ProtocolVersion: common.ProtocolVersion, KeyResourceID: "/nonexistent", HashFunc: crypto.SHA256},
		MethodArgs:  &common.MethodArgs{MethodName: common.DefaultAlgorithmMethodName, DefaultAlgorithm: &common.DefaultAlgorithmArgs{}},
	})
	oldInit, _ := json.Marshal(common.PluginArgs{
		InitOptions: &common.InitOptions{ProtocolVersion: "0", KeyResourceID: "/nonexistent"},
		MethodArgs:  &common.MethodArgs{MethodName: common.DefaultAlgorithmMethodName},
	})
	tests := []struct {
		name, scheme string
		args         []string
		status       int
		want         string
	}{
		{"provider not linked", "otherkms://", []string{"p", common.ProtocolVersion, string(good)}, 1, "built without the otherkms:// provider"},
		{"run by hand", "testkms://", []string{"p"}, 1, "not by hand"},
		{"other protocol", "testkms://", []string{"p", "0", string(good)}, 1, "protocol \"0\""},
		{"other protocol in the request", "testkms://", []string{"p", common.ProtocolVersion, string(oldInit)}, 1, "protocol \"0\""},
		{"not JSON", "testkms://", []string{"p", common.ProtocolVersion, "{"}, 1, "reading the KMS plugin request"},
		{"provider error", "testkms://", []string{"p", common.ProtocolVersion, string(good)}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			status := Run(tt.scheme, tt.args, strings.NewReader(""), &out)
			var resp common.PluginResp
			if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
				t.Fatalf("answer %q is not the protocol's JSON: %v", out.String(), err)
			}
			if status != tt.status || !strings.Contains(resp.ErrorMessage, tt.want) {
				t.Fatalf("status %d, error %q; want %d and %q", status, resp.ErrorMessage, tt.status, tt.want)
			}
		})
	}
}

// FuzzRun feeds arbitrary requests to a plugin program whose provider
// refuses every key: the answer is always the protocol's JSON, an error
// exits 1, and nothing panics.
func FuzzRun(f *testing.F) {
	kms.AddProvider("fuzzkms://", func(context.Context, string, crypto.Hash, ...signature.RPCOption) (kms.SignerVerifier, error) {
		return nil, errors.New("no such key")
	})
	good, _ := json.Marshal(common.PluginArgs{
		InitOptions: &common.InitOptions{ProtocolVersion: common.ProtocolVersion, KeyResourceID: "k", HashFunc: crypto.SHA256, RPCOptions: &common.RPCOptions{}},
		MethodArgs:  &common.MethodArgs{MethodName: common.PublicKeyMethodName, PublicKey: &common.PublicKeyArgs{}},
	})
	f.Add(common.ProtocolVersion, string(good), []byte("msg"))
	f.Add(common.ProtocolVersion, `{"initOptions":{"protocolVersion":"`+common.ProtocolVersion+`"},"methodName":"signMessage"}`, []byte{})
	f.Add("1", "null", []byte{})
	f.Fuzz(func(t *testing.T, version, request string, stdin []byte) {
		var out bytes.Buffer
		status := Run("fuzzkms://", []string{"p", version, request}, bytes.NewReader(stdin), &out)
		var resp common.PluginResp
		if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
			t.Fatalf("answer %q is not the protocol's JSON: %v", out.String(), err)
		}
		if status != 1 || resp.ErrorMessage == "" {
			t.Fatalf("status %d, error %q: every request must fail, the provider refuses every key", status, resp.ErrorMessage)
		}
	})
}
