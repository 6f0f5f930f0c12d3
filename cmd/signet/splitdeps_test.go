package main

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestSplitBuildLinksNoServerPackages keeps the packages only the server
// roles, log serve and quickstart need out of a split build of signet (make
// build's bin/signet): their initialisation is what every other command
// would pay for them. A command that imports admission, gate, fleet,
// kubepolicy or tlog/logserver for a constant brings them all back; this
// names the package that did.
func TestSplitBuildLinksNoServerPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-tags", "signet_split", "-deps", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	heavy := []string{
		"github.com/signet-dev/signet/admission", "github.com/signet-dev/signet/gate",
		"github.com/signet-dev/signet/fleet", "github.com/signet-dev/signet/kubepolicy",
		"github.com/prometheus/", "k8s.io/apimachinery/", "k8s.io/client-go/", "k8s.io/api/",
		"github.com/jackc/pgx/", "modernc.org/sqlite",
		// signet log serve and signet quickstart run a transparency log.
		"github.com/signet-dev/signet/tlog/logserver", "github.com/signet-dev/signet/quickstart",
		"github.com/transparency-dev/tessera/storage/", "github.com/dgraph-io/badger/v4",
		"github.com/go-sql-driver/mysql",
	}
	linked := map[string]bool{}
	importers := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		linked[f[0]] = true
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(linked)) {
		for _, h := range heavy {
			if pkg == h || strings.HasSuffix(h, "/") && strings.HasPrefix(pkg, h) {
				t.Errorf("a split build of signet links %s (imported by %s); the packages of the commands signet-server serves belong there only",
					pkg, strings.Join(importers[pkg], ", "))
			}
		}
	}
}
