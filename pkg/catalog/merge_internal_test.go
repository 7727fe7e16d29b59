package catalog

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requirePlansAgree checks that planColumns plans the columns of yaml and
// cat as the map-based planColumnsMapped does, counting the same
// sanitised names.
func requirePlansAgree(t *testing.T, yaml, cat []string) {
	t.Helper()
	ys := make([]stagedColumn, len(yaml))
	for i, n := range yaml {
		ys[i].Name = n
	}
	var table *stagedTable
	if cat != nil {
		table = &stagedTable{Columns: make([]CatalogColumn, len(cat))}
		for i, n := range cat {
			table.Columns[i].Name = n
		}
	}
	var want, got build
	prefix := []colPlan{{cat: 7, yaml: 7}}
	wantPlan := want.planColumnsMapped(append([]colPlan(nil), prefix...), ys, tableColumns(table))
	gotPlan := got.planColumns(append([]colPlan(nil), prefix...), ys, table)
	require.Equal(t, wantPlan, gotPlan, "yaml %q, catalog %q", yaml, cat)
	require.Equal(t, want.sanitized, got.sanitized, "sanitised names of yaml %q, catalog %q", yaml, cat)
}

func tableColumns(t *stagedTable) []CatalogColumn {
	if t == nil {
		return nil
	}
	return t.Columns
}

func TestPlanColumnsMatchesMaps(t *testing.T) {
	long := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + strings.Repeat("x", i%7) + string(rune('a'+i%26))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		yaml, cat []string
	}{
		{"no catalog table", []string{"a", "B", "", "a"}, nil},
		{"empty catalog table", []string{"a", "b"}, []string{}},
		{"no yaml", nil, []string{"a", "b", "a"}},
		{"exact before folded", []string{"ID", "id"}, []string{"id", "ID"}},
		{"first exact match wins", []string{"id", "id", "Id"}, []string{"id", "id"}},
		{"used exact falls back to first folded", []string{"Id", "id", "ID"}, []string{"Id", "ID", "iD"}},
		{"folded match already used", []string{"a"}, []string{"A", "a"}},
		{"unicode lower-casing", []string{"\u212a", "k", "Straße"}, []string{"K", "STRASSE", "straße"}},
		{"sanitised duplicates", []string{"a\x00", "a", "\xff", "\ufffd"}, []string{"a", "a\x00b", "ab", "\xfe"}},
		{"yaml names seen in the catalog", []string{"x", "y", "x", "Y"}, []string{"y"}},
		{"empty names", []string{"", "", "a"}, []string{"", "a"}},
		{"many yaml columns", long("c", 3*smallColumns), []string{"ca", "CB", "cxxc"}},
		{"many catalog columns", []string{"ca", "Cb"}, long("c", 2*smallColumns+1)},
		{"at the list limit", long("c", smallColumns), long("C", smallColumns)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requirePlansAgree(t, tc.yaml, tc.cat)
		})
	}
}

func TestPlanColumnsMatchesMapsOnRandomNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"", "a", "A", "b", "B", "id", "ID", "Id", "\u212a", "k", "K", "a\x00", "\xff", "\ufffd", "order_id", "ORDER_ID"}
	pick := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = names[rng.IntN(len(names))]
		}
		return out
	}
	for range 2000 {
		var cat []string
		if rng.IntN(5) > 0 {
			cat = pick(rng.IntN(12))
		}
		requirePlansAgree(t, pick(rng.IntN(12)), cat)
	}
}

func FuzzPlanColumns(f *testing.F) {
	f.Add("a,B,id", "ID,a,b")
	f.Add("\u212a,k", "K")
	f.Fuzz(func(t *testing.T, yaml, cat string) {
		y := strings.Split(yaml, ",")
		c := strings.Split(cat, ",")
		if len(y) > smallColumns || len(c) > smallColumns {
			return
		}
		requirePlansAgree(t, y, c)
	})
}

func TestGroupsContiguous(t *testing.T) {
	run := func(id int64, invoc string, compileOnly bool) stagedRun {
		return stagedRun{prov: Provenance{RunID: id}, meta: ArtifactMeta{InvocationID: invoc}, compileOnly: compileOnly}
	}
	for _, tc := range []struct {
		name string
		runs []stagedRun
		want bool
	}{
		{"no runs", nil, true},
		{"one group per run", []stagedRun{run(1, "a", false), run(2, "b", false), run(1, "c", false)}, true},
		{"a group's runs one after another", []stagedRun{run(1, "a", false), run(1, "a", false), run(2, "a", false)}, true},
		{"a group recurring after another", []stagedRun{run(1, "a", false), run(2, "a", false), run(1, "a", false)}, false},
		{"a compile-only run between a group's runs", []stagedRun{run(1, "a", false), run(2, "a", true), run(1, "a", false)}, true},
		{"the zero group recurring", []stagedRun{run(0, "", false), run(1, "", false), run(0, "", false)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, groupsContiguous(tc.runs))
		})
	}
}
