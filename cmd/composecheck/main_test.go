package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepositoryComposeFileIsValid(t *testing.T) {
	wd, _ := os.Getwd()
	t.Chdir(filepath.Join(wd, "..", ".."))
	if errs := check("docker-compose.yml"); len(errs) > 0 {
		t.Fatalf("docker-compose.yml: %v", errs)
	}
}

func TestBrokenComposeFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yml")
	os.WriteFile(p, []byte("services:\n  api:\n    image: x\n"), 0o600)
	errs := check(p)
	if len(errs) == 0 || !strings.Contains(strings.Join(errs, ";"), `"postgres" is missing`) {
		t.Fatalf("errors %v", errs)
	}
}

func TestComposeWithoutTheDynamicConfigIsRefused(t *testing.T) {
	wd, _ := os.Getwd()
	root := filepath.Join(wd, "..", "..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.Contains(line, "dynamicconfig.yaml:") {
			kept = append(kept, line)
		}
	}
	p := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(p, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	errs := check(p)
	if len(errs) != 1 || !strings.Contains(errs[0], "must mount ./devtemporal/dynamicconfig.yaml") {
		t.Fatalf("errors %v", errs)
	}
}
