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
