package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// binaries are the commands whose messages the doc quotes.
var binaries = []string{"./cmd/bond", "./cmd/installer"}

// sourcePackage is one package the binaries link: its directory and the
// Go files of this platform's default build.
type sourcePackage struct {
	importPath, dir string
	files           []string
}

// linkedPackages lists every package the binaries link but the standard
// library, as go list sees them.
func linkedPackages(t *testing.T) []sourcePackage {
	t.Helper()
	args := append([]string{"list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}}|{{.Dir}}|{{join .GoFiles ","}}{{end}}`}, binaries...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []sourcePackage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			continue
		}
		pkgs = append(pkgs, sourcePackage{importPath: parts[0], dir: parts[1], files: strings.Split(parts[2], ",")})
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// codeFormats is every string literal of the packages the binaries link
// (golang.org/x/sys aside: its tables are megabytes, and the one thing of
// it messages carry, errno text, comes from syscall below), each a
// format, plus the kernel's errno texts, which errors end with.
func codeFormats(t *testing.T) []format {
	t.Helper()
	var out []format
	add := func(s string) {
		if f := parseFormat(s); f.hasText() {
			out = append(out, f)
		}
	}
	for _, p := range linkedPackages(t) {
		if strings.HasPrefix(p.importPath, "golang.org/x/sys/") {
			continue
		}
		for _, name := range p.files {
			for _, s := range fileLiterals(t, filepath.Join(p.dir, name)) {
				add(s)
			}
		}
	}
	for e := syscall.Errno(1); e < 134; e++ {
		add(e.Error())
	}
	return out
}

// fileLiterals returns the file's string literals. A concatenation holding
// a literal is one string, its other operands read as %v.
func fileLiterals(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	ast.Inspect(parseFile(t, path), func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			return false
		case *ast.BinaryExpr:
			if s, ok := concatenation(n); ok {
				out = append(out, s)
				return false
			}
		case *ast.BasicLit:
			if s, ok := stringLit(n); ok {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// concatenation folds a + chain holding at least one string literal.
func concatenation(e *ast.BinaryExpr) (string, bool) {
	if e.Op != token.ADD {
		return "", false
	}
	var b strings.Builder
	lits := 0
	var walk func(ast.Expr)
	walk = func(x ast.Expr) {
		switch x := x.(type) {
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				walk(x.X)
				walk(x.Y)
				return
			}
		case *ast.ParenExpr:
			walk(x.X)
			return
		case *ast.BasicLit:
			if s, ok := stringLit(x); ok {
				b.WriteString(s)
				lits++
				return
			}
		}
		b.WriteString("%v")
	}
	walk(e)
	return b.String(), lits > 0
}

func stringLit(l *ast.BasicLit) (string, bool) {
	if l.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(l.Value)
	return s, err == nil
}

// callArgs returns the arguments of every call of the function named fn
// in the directory's Go files of the default build (no _test.go, no file
// with a build tag): a string literal (or a concatenation holding one) as
// its text, any other argument as written.
func callArgs(t *testing.T, dir, fn string) [][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f := parseFile(t, path)
		if hasBuildTag(f) {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != fn {
				return true
			}
			var args []string
			for _, a := range call.Args {
				args = append(args, argText(a))
			}
			out = append(out, args)
			return true
		})
	}
	if len(out) == 0 {
		t.Fatalf("no call of %s in %s", fn, dir)
	}
	return out
}

func argText(a ast.Expr) string {
	switch a := a.(type) {
	case *ast.BasicLit:
		if s, ok := stringLit(a); ok {
			return s
		}
	case *ast.BinaryExpr:
		if s, ok := concatenation(a); ok {
			return s
		}
	}
	return types.ExprString(a)
}

// ownCodes returns cmd/bond's code constants (errors.go) by name.
func ownCodes(t *testing.T) map[string]uint {
	t.Helper()
	codes := map[string]uint{}
	ast.Inspect(parseFile(t, filepath.Join(root, "cmd/bond/errors.go")), func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || len(spec.Values) != 1 {
			return true
		}
		if lit, ok := spec.Values[0].(*ast.BasicLit); ok && lit.Kind == token.INT {
			v, err := strconv.ParseUint(lit.Value, 0, 32)
			if err != nil {
				t.Fatal(err)
			}
			codes[spec.Names[0].Name] = uint(v)
		}
		return true
	})
	if len(codes) == 0 {
		t.Fatal("no code constants in cmd/bond/errors.go")
	}
	return codes
}

func parseFile(t *testing.T, path string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func hasBuildTag(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, "//go:build") {
				return true
			}
		}
	}
	return false
}
