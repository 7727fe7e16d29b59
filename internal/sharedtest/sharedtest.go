// Package sharedtest finds the shared reference material (dbt's API specs,
// recorded responses and real artifacts) for tests: the directory named by
// DBT_CRAWLER_SHARED, else ../shared beside the module root. Tests that need
// it skip, with a message saying how to provide it, when it is absent.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the shared directory, skipping the test when it, or the
// entry probe inside it, does not exist.
func Root(t testing.TB, probe ...string) string {
	t.Helper()
	root := os.Getenv("DBT_CRAWLER_SHARED")
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Skipf("shared reference material unavailable: %v", err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Skip("shared reference material unavailable: no go.mod above the test directory; set DBT_CRAWLER_SHARED")
			}
			dir = parent
		}
		root = filepath.Join(dir, "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(append([]string{root}, probe...)...)); err != nil {
		t.Skipf("shared reference material not found at %s: set DBT_CRAWLER_SHARED or place it at ../shared beside the module root", filepath.Join(append([]string{root}, probe...)...))
	}
	return root
}

// Path returns root/parts..., skipping the test when it does not exist.
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Root(t, parts...)}, parts...)...)
}
