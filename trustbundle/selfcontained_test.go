package trustbundle

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/taghead"
)

// A signed bundle whose policy names trust outside the bundle is refused
// by the verifier (not only when made): the bundle must be all the trust.
func TestPolicySelfContained(t *testing.T) {
	t.Parallel()
	pol := func(body string) string { return "apiVersion: signet.dev/v1alpha1\nkind: Policy\n" + body }
	for _, tc := range []struct {
		name, policy, want string
	}{
		{"bundle key", pol("images:\n- pattern: '**'\n  signers: [{name: a, key: release.pub}]\n"), ""},
		{"inline key and own recalls", pol("recalls: recalls.yaml\nimages:\n- pattern: '**'\n  signers: [{name: a, publicKey: x}]\n"), ""},
		{"absolute key", pol("images:\n- pattern: '**'\n  signers: [{name: a, key: /etc/signet/cosign.pub}]\n"), `key "/etc/signet/cosign.pub"`},
		{"key outside the directory", pol("images:\n- pattern: '**'\n  signers: [{name: a, key: ../cosign.pub}]\n"), `key "../cosign.pub"`},
		{"key not listed", pol("images:\n- pattern: '**'\n  signers: [{name: a, key: extra.pub}]\n"), `key "extra.pub"`},
		{"env key", pol("images:\n- pattern: '**'\n  signers: [{name: a, key: 'env://KEY'}]\n"), `key "env://KEY"`},
		{"kms key", pol("images:\n- pattern: '**'\n  signers: [{name: a, key: 'awskms:///alias/x'}]\n"), `awskms`},
		{"gate key", pol("receipts:\n  gates: [{name: g, key: /etc/gate.pub}]\nimages: []\n"), `receipts.gates signer "g"`},
		{"external recalls", pol("recalls: /etc/signet/recalls.yaml\nimages: []\n"), `recalls "/etc/signet/recalls.yaml"`},
		{"lock file", pol("images:\n- pattern: '**'\n  tags: {lock: signet.lock}\n"), `tags.lock`},
		{"signed-heads root file", pol("images:\n- pattern: '**'\n  tags: {signedHeads: {required: true, root: root.json}}\n"), `signedHeads.root`},
		{"signed-heads root digest", pol("images:\n- pattern: '**'\n  tags: {signedHeads: {required: true, root: 'sha256:00'}}\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, nil)
			in := sampleInputs("v1")
			in[1].Data = []byte(tc.policy)
			b, err := New(1, w.now, in)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Publish(context.Background(), w.client, w.tag, b, w.keys, taghead.DefaultExpiry, w.now)
			if err != nil {
				t.Fatal(err)
			}
			w.root = p.Root
			_, err = w.verifier(t.TempDir()).Verify(context.Background(), w.tag.String())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused a self-contained policy: %v", err)
				}
				return
			}
			wantClass(t, err, ClassExternal)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func FuzzSelfContained(f *testing.F) {
	f.Add([]byte("images:\n- pattern: '**'\n  signers: [{name: a, key: release.pub}]\n"))
	f.Add([]byte("recalls: /etc/x\nreceipts: {gates: [{key: ../k}]}\nimages: [{tags: {lock: l, signedHeads: {root: r}}}]\n"))
	b, err := New(1, time.Unix(0, 0), sampleInputs("v1"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if b.selfContained(File{Entry: Entry{Name: "policy.yaml", Role: RolePolicy}, Data: data}) != nil {
			return
		}
		// Accepted: every key it names is a key file of the bundle.
		var p policyRefs
		if yaml.Unmarshal(data, &p) != nil {
			t.Fatal("accepted a policy that does not parse")
		}
		for _, r := range p.Images {
			for _, s := range r.Signers {
				if s.Key != "" && s.Key != "release.pub" {
					t.Fatalf("accepted key %q", s.Key)
				}
			}
		}
	})
}
