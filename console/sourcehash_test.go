package console

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sourceInputs are the build's inputs; keep in step with
// scripts/source-hash.mjs.
var sourceInputs = []string{"index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "src", "public"}

// sourceHash computes what scripts/source-hash.mjs computes.
func sourceHash(root string) (string, error) {
	var files []string
	for _, in := range sourceInputs {
		p := filepath.Join(root, in)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			return "", err
		}
	}
	sort.Strings(files) // JS sorts UTF-16 code units; the names here are ASCII
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", err
		}
		fh := sha256.Sum256(b)
		fmt.Fprintf(h, "%s\x00%s\n", f, hex.EncodeToString(fh[:]))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestBuildIsFresh fails when a source of the console changed and dist/
// was not rebuilt (npm run build records the sources' hash in
// dist/source-hash.txt). CI also rebuilds and compares every file
// (check-build.sh); this test catches it without Node.
func TestBuildIsFresh(t *testing.T) {
	want, err := sourceHash(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(Assets(), "source-hash.txt")
	if err != nil {
		t.Fatalf("the embedded build has no source-hash.txt: run npm run build in console/ (%v)", err)
	}
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("console/dist was built from other sources (%s) than the ones here (%s): run 'npm ci && npm run build' in console/ and commit dist/",
			strings.TrimSpace(string(got)), want)
	}
	if _, err := fs.ReadFile(Assets(), "index.html"); err != nil {
		t.Fatalf("the embedded build has no index.html: %v", err)
	}
}

func TestSourceHashSeesEveryChange(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package-lock.json", "{}")
	write("src/main.tsx", "a")
	h1, _ := sourceHash(dir)
	write("src/main.tsx", "b")
	h2, _ := sourceHash(dir)
	write("src/pages/New.tsx", "")
	h3, _ := sourceHash(dir)
	write("package-lock.json", "{ }")
	h4, _ := sourceHash(dir)
	write("README.txt", "not an input")
	h5, _ := sourceHash(dir)
	if h1 == h2 || h2 == h3 || h3 == h4 || h4 != h5 {
		t.Fatalf("hashes %s %s %s %s %s", h1, h2, h3, h4, h5)
	}
}
