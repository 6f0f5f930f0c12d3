package trustbundle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/oci"
)

func sampleInputs(recalls string) []Input {
	return []Input{
		{Name: "trusted_root.json", Role: RoleTrustedRoot, Data: []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)},
		{Name: "policy.yaml", Role: RolePolicy, Data: []byte("apiVersion: signet.dev/v1alpha1\n")},
		{Name: "release.pub", Role: RoleKey, Data: []byte("-----BEGIN PUBLIC KEY-----\n")},
		{Name: "recalls.yaml", Role: RoleRecalls, Data: []byte(recalls)},
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t, true)
	client := oci.New()
	b, err := New(3, time.Now(), sampleInputs("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(reg.Host + "/trust/bundle:prod")
	d, err := Push(context.Background(), client, tag, b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Pull(context.Background(), client, tag.String())
	if err != nil {
		t.Fatal(err)
	}
	if p.Digest != d.String() || p.Contents.Version != 3 || len(p.Files) != 4 {
		t.Fatalf("pulled %s v%d with %d files, pushed %s v3 with 4", p.Digest, p.Contents.Version, len(p.Files), d)
	}
	if f, ok := p.File(RoleRecalls); !ok || string(f.Data) != "version: 1\n" || f.MediaType != RecallsType {
		t.Fatalf("recalls: %+v %v", f.Entry, ok)
	}
	dir := t.TempDir()
	if err := p.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDir(dir)
	if err != nil || back.Contents.Version != 3 || len(back.All(RoleKey)) != 1 {
		t.Fatalf("%+v %v", back, err)
	}
}

func TestTampered(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t, true)
	client := oci.New()
	b, err := New(1, time.Now(), sampleInputs("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("layer", func(t *testing.T) {
		bad := *b
		bad.Files = append([]File(nil), b.Files...)
		bad.Files[0].Data = []byte("changed")
		// The layer's own descriptor now names the changed data; contents.json does not.
		tag, _ := name.NewTag(reg.Host + "/trust/bundle:tampered")
		if _, err := Push(context.Background(), client, tag, &bad); err != nil {
			t.Fatal(err)
		}
		_, err := Pull(context.Background(), client, tag.String())
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
	})
	t.Run("extra layer", func(t *testing.T) {
		tag, _ := name.NewTag(reg.Host + "/trust/bundle:extra")
		contents, _ := b.Contents.Marshal()
		files := []oci.File{{Name: ContentsFile, Data: contents, MediaType: ContentsType}, {Name: "more.pub", Data: []byte("x"), MediaType: KeyType}}
		for _, f := range b.Files {
			files = append(files, oci.File{Name: f.Name, Data: f.Data, MediaType: f.MediaType})
		}
		if _, err := client.PutFiles(context.Background(), tag, ArtifactType, ContentsType, files); err != nil {
			t.Fatal(err)
		}
		if _, err := Pull(context.Background(), client, tag.String()); !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
	})
	t.Run("dir", func(t *testing.T) {
		dir := t.TempDir()
		if err := b.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "release.pub"), []byte("another key"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadDir(dir); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "release.pub") {
			t.Fatalf("got %v, want ErrInvalid naming release.pub", err)
		}
	})
}

func TestParseContents(t *testing.T) {
	t.Parallel()
	d := "sha256:" + strings.Repeat("a", 64)
	entry := func(name, role, mt string) string {
		return `{"name":"` + name + `","role":"` + role + `","mediaType":"` + mt + `","digest":"` + d + `","size":1}`
	}
	doc := func(version string, files ...string) string {
		return `{"apiVersion":"signet.dev/v1alpha1","kind":"TrustBundle","version":` + version + `,"files":[` + strings.Join(files, ",") + `]}`
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"ok", doc("2", entry("a.pub", "key", KeyType), entry("b.pub", "key", KeyType)), ""},
		{"version 0", doc("0"), "version is 0"},
		{"unknown field", `{"apiVersion":"signet.dev/v1alpha1","kind":"TrustBundle","version":1,"files":[],"x":1}`, "unknown field"},
		{"wrong kind", `{"apiVersion":"signet.dev/v1alpha1","kind":"Other","version":1,"files":[]}`, "apiVersion/kind"},
		{"path name", doc("1", entry("../a.pub", "key", KeyType)), "not a plain file name"},
		{"contents name", doc("1", entry("contents.json", "key", KeyType)), "not a plain file name"},
		{"unknown role", doc("1", entry("a", "secret", KeyType)), "unknown role"},
		{"media type", doc("1", entry("a", "key", PolicyType)), "media type"},
		{"twice", doc("1", entry("a", "key", KeyType), entry("a", "key", KeyType)), "listed twice"},
		{"twice but for case", doc("1", entry("a.pub", "key", KeyType), entry("A.pub", "key", KeyType)), "listed twice"},
		{"contents name in capitals", doc("1", entry("Contents.json", "key", KeyType)), "not a plain file name"},
		{"two roots", doc("1", entry("a", "trusted-root", TrustedRootType), entry("b", "trusted-root", TrustedRootType)), "the second"},
		{"trailing", doc("1") + "{}", "after its JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseContents([]byte(tc.in))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func FuzzParseContents(f *testing.F) {
	b, _ := New(1, time.Unix(0, 0), sampleInputs("version: 1\n"))
	seed, _ := b.Contents.Marshal()
	f.Add(seed)
	f.Add([]byte(`{"apiVersion":"signet.dev/v1alpha1","kind":"TrustBundle","version":1,"files":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseContents(data)
		if err != nil {
			return
		}
		// What parses must survive its own round trip.
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseContents(out)
		if err != nil || again.Version != c.Version || len(again.Files) != len(c.Files) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
