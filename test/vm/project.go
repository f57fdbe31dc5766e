package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/build/constraint"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kernelTag is the build tag that marks tests needing a real kernel.
const kernelTag = "kernel"

// goPackage is what the runner needs to know about one Go package.
type goPackage struct {
	importPath string
	dir        string // absolute
	testFiles  []string
}

// moduleRoot is the directory holding the project's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// listPackages runs go list with the kernel tag so tagged test files show up.
// -e keeps going past packages others are still writing.
func listPackages(root string, patterns []string) ([]goPackage, error) {
	args := []string{"list", "-e", "-tags", kernelTag, "-f",
		"{{.ImportPath}}\t{{.Dir}}\t{{join .TestGoFiles \",\"}},{{join .XTestGoFiles \",\"}}"}
	cmd := exec.Command("go", append(args, patterns...)...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", strings.Join(patterns, " "), err)
	}
	var pkgs []goPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			continue
		}
		pkgs = append(pkgs, goPackage{importPath: f[0], dir: f[1], testFiles: splitNonEmpty(f[2], ",")})
	}
	return pkgs, sc.Err()
}

func splitNonEmpty(s, sep string) []string {
	var out []string
	for _, x := range strings.Split(s, sep) {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// kernelTestPackages are the packages with at least one test file whose
// build constraint names the kernel tag.
func kernelTestPackages(root string, patterns []string) ([]goPackage, error) {
	pkgs, err := listPackages(root, patterns)
	if err != nil {
		return nil, err
	}
	var out []goPackage
	for _, p := range pkgs {
		if hasKernelTest(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func hasKernelTest(p goPackage) bool {
	for _, f := range p.testFiles {
		if fileNamesTag(filepath.Join(p.dir, f), kernelTag) {
			return true
		}
	}
	return false
}

// fileNamesTag reports whether the file's //go:build line mentions tag.
func fileNamesTag(path, tag string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "package ") {
			return false
		}
		if !constraint.IsGoBuild(line) {
			continue
		}
		expr, err := constraint.Parse(line)
		if err != nil {
			return false
		}
		found := false
		// Eval visits every tag, so this sees tag wherever it appears.
		expr.Eval(func(t string) bool { found = found || t == tag; return true })
		return found
	}
	return false
}

// binaryName turns a package directory into a file name unique in the module.
func binaryName(root, dir string) string {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		rel = filepath.Base(dir)
	}
	return strings.ReplaceAll(rel, string(filepath.Separator), "_")
}

// relDir is dir relative to the module root, for the guest's copy of it.
func relDir(root, dir string) string {
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return "."
	}
	return rel
}

// hasGoFiles reports whether dir holds a non-test Go file, so a main
// package that others have not started yet is not an error.
func hasGoFiles(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, m := range matches {
		if !strings.HasSuffix(m, "_test.go") {
			return true
		}
	}
	return false
}

// projectFiles lists the module's tracked and untracked-but-not-ignored
// files, so the guest gets a copy of the source tree (testdata, examples)
// without caches and build output.
func projectFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" || strings.HasSuffix(f, ".test") {
			continue
		}
		if st, err := os.Lstat(filepath.Join(root, f)); err == nil && st.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	return files, nil
}
