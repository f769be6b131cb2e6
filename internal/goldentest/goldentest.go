// Package goldentest compares test output with golden files under
// testdata, and rewrites them when a test binary runs with -update (each
// test package registers its own flag: go test flags belong to one binary).
package goldentest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Bytes fails t unless got equals the file at path. With update it writes
// got there first (creating its directory), so an intended change is one
// `go test -update` away and shows up in the diff.
func Bytes(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after an intended change):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
