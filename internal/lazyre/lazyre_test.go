package lazyre

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompiledOnFirstUse(t *testing.T) {
	r := New(`^sha256-([0-9a-f]{4})$`)
	if r.re != nil {
		t.Fatal("compiled before first use")
	}
	if !r.MatchString("sha256-abcd") || r.MatchString("sha256-abc") {
		t.Fatalf("MatchString disagrees with %s", r)
	}
	if got := r.FindStringSubmatch("sha256-0a1b"); len(got) != 2 || got[1] != "0a1b" {
		t.Fatalf("FindStringSubmatch = %q, want the digest part", got)
	}
	if got := New(`[^a-z]+`).ReplaceAllString("a.B-c", "_"); got != "a_c" {
		t.Fatalf("ReplaceAllString = %q, want a_c", got)
	}
	if r.Compiled() != r.Compiled() {
		t.Fatal("compiled twice")
	}
}

func TestInvalidPanicsOnFirstUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("an invalid expression matched instead of panicking")
		}
	}()
	r.MatchString("x")
}

// TestNoPackageLevelRegexps fails when a package of signet's programs
// compiles a regular expression in a package-level variable: every command
// would pay for it at start-up. Use New instead. The bench, the e2e suite
// and tests are not part of the programs.
func TestNoPackageLevelRegexps(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "bench", "e2e", "testdata", ".git", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			ast.Inspect(g, func(n ast.Node) bool {
				if _, ok := n.(*ast.FuncLit); ok {
					return false // runs when called, not at start-up
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "regexp" && strings.HasPrefix(sel.Sel.Name, "MustCompile") {
						found = append(found, fset.Position(call.Pos()).String())
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range found {
		t.Errorf("%s: a package-level regexp is compiled at every command's start-up; use lazyre.New", at)
	}
}
