package catalog_test

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir returns the shared reference folder: $DBT_CRAWLER_SHARED, or
// ../shared next to the module root. It skips the test when absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("DBT_CRAWLER_SHARED"); d != "" {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Skipf("shared artifacts unavailable: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared artifacts unavailable: no go.mod above the test directory")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "dbt-artifacts")); err != nil {
		t.Skip("shared artifacts unavailable: set DBT_CRAWLER_SHARED or provide ../shared/dbt-artifacts next to the module root")
	}
	return shared
}

// artifactSet holds the files of one corpus set by role.
type artifactSet struct {
	name                                   string
	manifest, catalog, runResults, sources string
}

// corpusSets lists the corpus sets with their files by role.
func corpusSets(t testing.TB) []artifactSet {
	t.Helper()
	root := filepath.Join(sharedDir(t), "dbt-artifacts")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Skipf("shared artifacts unavailable: %v", err)
	}
	var sets []artifactSet
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '_' {
			continue
		}
		set := artifactSet{name: e.Name()}
		files, err := os.ReadDir(filepath.Join(root, e.Name()))
		if err != nil {
			t.Fatalf("read set %s: %v", e.Name(), err)
		}
		for _, f := range files {
			p := filepath.Join(root, e.Name(), f.Name())
			switch n := f.Name(); {
			case len(n) >= 8 && n[:8] == "manifest":
				set.manifest = p
			case len(n) >= 7 && n[:7] == "catalog":
				set.catalog = p
			case len(n) >= 11 && n[:11] == "run_results":
				set.runResults = p
			case len(n) >= 7 && n[:7] == "sources":
				set.sources = p
			}
		}
		sets = append(sets, set)
	}
	return sets
}
