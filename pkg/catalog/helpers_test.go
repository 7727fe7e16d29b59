package catalog_test

import (
	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"os"
	"path/filepath"
	"testing"
)

// artifactSet holds the files of one corpus set by role.
type artifactSet struct {
	name                                   string
	manifest, catalog, runResults, sources string
}

// corpusSets lists the corpus sets with their files by role.
func corpusSets(t testing.TB) []artifactSet {
	t.Helper()
	root := sharedtest.Path(t, "dbt-artifacts")
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
