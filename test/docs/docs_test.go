package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the module's directory, from this package's.
const root = "../.."

// docs are the documents whose claims the tests back.
func docs(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range append(files, filepath.Join(root, "README.md")) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(f, root+"/")] = string(data)
	}
	return out
}

// testFuncs lists every Test, Fuzz and Benchmark function in the
// repository's _test.go files, by name.
func testFuncs(t *testing.T) map[string]bool {
	t.Helper()
	funcs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil {
				funcs[fn.Name.Name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}

// testName is a test, fuzz target or benchmark named in code spans or
// prose; a -run pattern (in quotes after -run) is not a name.
var testName = regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9]*\b`)

// TestNamedTestsExist: a doc that backs a claim with a test's name names
// a test that is there.
func TestNamedTestsExist(t *testing.T) {
	funcs := testFuncs(t)
	for file, text := range docs(t) {
		text = regexp.MustCompile(`-run '[^']*'`).ReplaceAllString(text, "")
		for _, name := range testName.FindAllString(text, -1) {
			if !funcs[name] {
				t.Errorf("%s names %s, which no _test.go file defines", file, name)
			}
		}
	}
}

// docCounts are counts the docs give of what a test does, and the
// constant in the test that sets it.
var docCounts = []struct {
	doc, phrase   string // the doc, and the phrase with the count as %s
	file, constID string // the test file and its constant
}{
	{"README.md", "%s pods at once", "test/e2e/concurrency_test.go", "podsAtOnce"},
	{"docs/monitoring.md", "**%s bonds on the node**", "test/agent/scale_test.go", "scalePods"},
	{"docs/monitoring.md", "`TestAgentAt50Bonds`: %s pods", "test/agent/scale_test.go", "scalePods"},
}

// TestCountsMatchTheTests: each count above is the test's constant.
func TestCountsMatchTheTests(t *testing.T) {
	all := docs(t)
	for _, c := range docCounts {
		n := constValue(t, filepath.Join(root, c.file), c.constID)
		phrase := strings.Replace(c.phrase, "%s", n, 1)
		if !strings.Contains(strings.Join(strings.Fields(all[c.doc]), " "), phrase) {
			t.Errorf("%s does not say %q (%s in %s is %s)", c.doc, phrase, c.constID, c.file, n)
		}
	}
}

// constValue is the literal value of a constant in a Go file.
func constValue(t *testing.T, path, name string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			for i, id := range v.Names {
				if id.Name == name && i < len(v.Values) {
					if lit, ok := v.Values[i].(*ast.BasicLit); ok {
						return lit.Value
					}
				}
			}
		}
	}
	t.Fatalf("%s: no constant %s with a literal value", path, name)
	return ""
}

// TestNativeRunNamesControlChannelTests: README lists the tests that skip
// on a native run for want of the QEMU control channel; each Test whose
// body uses the channel (package vmctl, or the sriov tests'
// requireControl) is in that list, and the list names nothing else.
func TestNativeRunNamesControlChannelTests(t *testing.T) {
	readme := strings.Join(strings.Fields(docs(t)["README.md"]), " ")
	start := strings.Index(readme, "through the QEMU control channel")
	end := strings.Index(readme, "Those tests skip")
	if start < 0 || end < start {
		t.Fatal("README.md has no list of the tests that need the QEMU control channel")
	}
	listed := map[string]bool{}
	for _, name := range testName.FindAllString(readme[start:end], -1) {
		listed[name] = true
	}
	for _, name := range controlChannelTests(t) {
		if !listed[name] {
			t.Errorf("%s uses the QEMU control channel; README.md's native-run paragraph does not name it", name)
		}
		delete(listed, name)
	}
	for name := range listed {
		t.Errorf("README.md says %s needs the QEMU control channel; its body does not use it", name)
	}
}

// controlChannelTests are the Test functions under test/ whose bodies
// call into package vmctl or requireControl.
func controlChannelTests(t *testing.T) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(filepath.Join(root, "test"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") || strings.Contains(path, "/vmctl/") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			if usesControlChannel(fn.Body) {
				names = append(names, fn.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func usesControlChannel(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Name == "vmctl" {
				found = true
			}
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "requireControl" {
				found = true
			}
		}
		return !found
	})
	return found
}
