package verify

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestSameRepository(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		same bool
	}{
		{"registry.example.com/prod/app", "registry.example.com/prod/app", true},
		{"Registry.Example.COM/prod/app", "registry.example.com/prod/app", true},
		{"registry.example.com./prod/app", "registry.example.com/prod/app", true},
		{"registry.example.com:443/prod/app", "registry.example.com/prod/app", true},
		{"registry.example.com.:443/prod/app", "registry.example.com/prod/app", true},
		{"docker.io/library/ubuntu", "ubuntu", true},
		{"index.docker.io/library/ubuntu", "docker.io/ubuntu", true},
		{"registry-1.docker.io/ubuntu", "ubuntu", true},
		{"127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app", true},
		{"registry.example.com/dev/app", "registry.example.com/prod/app", false},
		{"registry.example.com:5000/prod/app", "registry.example.com/prod/app", false},
		{"registry.example.com:8443/prod/app", "registry.example.com:443/prod/app", false},
		{"other.example.com/prod/app", "registry.example.com/prod/app", false},
		{"docker.io/someone/ubuntu", "ubuntu", false},
		{"registry.example.com/prod/app/sub", "registry.example.com/prod/app", false},
	}
	for _, tc := range cases {
		t.Run(tc.a+" vs "+tc.b, func(t *testing.T) {
			a, err := name.NewRepository(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := name.NewRepository(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := sameRepository(a, b); got != tc.same {
				t.Fatalf("sameRepository(%s, %s) = %v, want %v (%s vs %s)", tc.a, tc.b, got, tc.same, canonicalRepository(a), canonicalRepository(b))
			}
		})
	}
}
