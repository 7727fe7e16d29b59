package catalog_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// The tests in this file decode the whole file into map[string]any to
// compute expected counts independently of the streaming decoders.

func readJSONMap(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

var assetResourceTypes = map[string]bool{
	"model": true, "source": true, "seed": true, "snapshot": true, "test": true, "unit_test": true,
	"exposure": true, "metric": true, "semantic_model": true, "saved_query": true, "analysis": true,
}

// expectedManifest computes, from the raw JSON, the asset nodes by id.
func expectedManifest(m map[string]any) (entries int, assets map[string]map[string]any) {
	assets = map[string]map[string]any{}
	for _, section := range []string{"nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests", "groups"} {
		for id, v := range obj(m[section]) {
			entries++
			n := obj(v)
			rt := str(n["resource_type"])
			if rt == "" {
				rt = map[string]string{"sources": "source", "exposures": "exposure", "metrics": "metric",
					"semantic_models": "semantic_model", "saved_queries": "saved_query", "unit_tests": "unit_test"}[section]
			}
			if assetResourceTypes[rt] {
				assets[id] = n
			}
		}
	}
	addDisabled := func(n map[string]any, key string) {
		entries++
		id := str(n["unique_id"])
		if id == "" {
			id = key
		}
		if _, ok := assets[id]; ok || !assetResourceTypes[str(n["resource_type"])] {
			return
		}
		n["__disabled"] = true
		assets[id] = n
	}
	switch d := m["disabled"].(type) {
	case []any:
		for _, v := range d {
			addDisabled(obj(v), "")
		}
	case map[string]any:
		for k, v := range d {
			list, _ := v.([]any)
			for _, e := range list {
				addDisabled(obj(e), k)
			}
		}
	}
	return entries, assets
}

func TestCorpus(t *testing.T) {
	for _, set := range corpusSets(t) {
		t.Run(set.name, func(t *testing.T) {
			b := catalog.NewBuilder(catalog.CoreScope("corpus", set.name), catalog.BuildOptions{})
			var rawM, rawC map[string]any
			var wantAssets map[string]map[string]any
			if set.manifest != "" {
				rawM = readJSONMap(t, set.manifest)
				var wantEntries int
				wantEntries, wantAssets = expectedManifest(rawM)
				f, err := os.Open(set.manifest)
				require.NoError(t, err)
				defer f.Close()
				got := 0
				meta, err := catalog.DecodeManifest(f, catalog.DecodeOptions{}, func(catalog.ManifestNode) error { got++; return nil })
				require.NoError(t, err)
				require.Equal(t, wantEntries, got)
				require.Equal(t, str(obj(rawM["metadata"])["dbt_schema_version"]), meta.SchemaVersion)
				_, err = f.Seek(0, 0)
				require.NoError(t, err)
				require.NoError(t, b.AddManifest(f, catalog.Provenance{}))
			}
			if set.catalog != "" {
				rawC = readJSONMap(t, set.catalog)
				f, err := os.Open(set.catalog)
				require.NoError(t, err)
				defer f.Close()
				got, cols := 0, 0
				_, err = catalog.DecodeCatalog(f, catalog.DecodeOptions{}, func(ct catalog.CatalogTable) error {
					got++
					cols += len(ct.Columns)
					return nil
				})
				require.NoError(t, err)
				wantTables, wantCols := 0, 0
				for _, sec := range []string{"nodes", "sources"} {
					for _, v := range obj(rawC[sec]) {
						wantTables++
						wantCols += len(obj(obj(v)["columns"]))
					}
				}
				require.Equal(t, wantTables, got)
				require.Equal(t, wantCols, cols)
				_, err = f.Seek(0, 0)
				require.NoError(t, err)
				require.NoError(t, b.AddCatalog(f))
			}
			wantTestResults := 0
			if set.runResults != "" {
				raw := readJSONMap(t, set.runResults)
				results, _ := raw["results"].([]any)
				f, err := os.Open(set.runResults)
				require.NoError(t, err)
				defer f.Close()
				got := 0
				meta, err := catalog.DecodeRunResults(f, catalog.DecodeOptions{}, func(catalog.RunResult) error { got++; return nil })
				require.NoError(t, err)
				require.Equal(t, len(results), got)
				which := str(obj(raw["args"])["which"])
				require.Equal(t, which, meta.Command)
				if which != "generate" && which != "compile" {
					for _, r := range results {
						id := str(obj(r)["unique_id"])
						if n, ok := wantAssets[id]; ok && (str(n["resource_type"]) == "test" || str(n["resource_type"]) == "unit_test") {
							wantTestResults++
						}
					}
				}
				_, err = f.Seek(0, 0)
				require.NoError(t, err)
				require.NoError(t, b.AddRunResults(f, catalog.Provenance{RunID: 1, JobID: 1}))
			}
			wantFreshness := 0
			if set.sources != "" {
				raw := readJSONMap(t, set.sources)
				results, _ := raw["results"].([]any)
				for _, r := range results {
					if n, ok := wantAssets[str(obj(r)["unique_id"])]; ok && str(n["resource_type"]) == "source" {
						wantFreshness++
					}
				}
				f, err := os.Open(set.sources)
				require.NoError(t, err)
				defer f.Close()
				require.NoError(t, b.AddSources(f, catalog.Provenance{RunID: 2, JobID: 1}))
			}

			snap := b.Build()
			require.Len(t, snap.Assets, len(wantAssets))
			require.Equal(t, expectedEdges(wantAssets), len(snap.Edges))
			require.Len(t, snap.TestResults, wantTestResults)
			require.Len(t, snap.Freshness, wantFreshness)
			require.Equal(t, expectedRelations(rawC), len(snap.Relations))

			wantMatches := 0
			for _, n := range wantAssets {
				switch str(n["resource_type"]) {
				case "model", "seed", "snapshot", "source":
					wantMatches++
				}
			}
			require.Len(t, snap.Matches, wantMatches)
			require.Equal(t, expectedColumns(wantAssets, rawC), len(snap.Columns))

			stats := map[catalog.MatchStatus]int{}
			rules := map[string]int{}
			for _, m := range snap.Matches {
				stats[m.Status]++
				rules[m.Rule]++
			}
			t.Logf("adapter=%s assets=%d columns=%d edges=%d results=%d freshness=%d relations=%d matches=%v rules=%v warnings=%d",
				snap.AdapterType, len(snap.Assets), len(snap.Columns), len(snap.Edges), len(snap.TestResults),
				len(snap.Freshness), len(snap.Relations), stats, rules, len(snap.Warnings))
			for _, w := range snap.Warnings {
				if w.Code != catalog.WarnDanglingRef {
					t.Logf("warning %s x%d: %s", w.Code, w.Count, w.Message)
				}
			}
			if rawC != nil {
				// Every enabled, materialised node the catalog lists under
				// its own unique_id must be matched.
				byID := map[string]catalog.Match{}
				for _, m := range snap.Matches {
					byID[m.UniqueID] = m
				}
				for _, sec := range []string{"nodes", "sources"} {
					for id := range obj(rawC[sec]) {
						if m, ok := byID[id]; ok && m.Status != catalog.MatchDisabled && m.Status != catalog.MatchEphemeral {
							require.Equal(t, catalog.MatchMatched, m.Status, "%s: %s", id, m.Reason)
						}
					}
				}
			}
		})
	}
}

func expectedEdges(assets map[string]map[string]any) int {
	edges := map[[2]string]bool{}
	for id, n := range assets {
		deps, _ := obj(n["depends_on"])["nodes"].([]any)
		for _, d := range deps {
			if _, ok := assets[str(d)]; ok && str(d) != id {
				edges[[2]string{str(d), id}] = true
			}
		}
		if an := str(n["attached_node"]); an != "" && an != id {
			if _, ok := assets[an]; ok {
				edges[[2]string{an, id}] = true
			}
		}
	}
	return len(edges)
}

func expectedRelations(rawC map[string]any) int {
	rels := map[string]bool{}
	for _, sec := range []string{"nodes", "sources"} {
		for _, v := range obj(rawC[sec]) {
			md := obj(obj(v)["metadata"])
			rels[str(md["database"])+"."+str(md["schema"])+"."+str(md["name"])] = true
		}
	}
	return len(rels)
}

// expectedColumns counts, per asset, the catalog columns of the catalog
// entry under the asset's unique_id (for enabled, non-ephemeral nodes) plus
// the YAML columns whose name matches none of them case-insensitively.
func expectedColumns(assets map[string]map[string]any, rawC map[string]any) int {
	catalogCols := map[string]map[string]any{}
	byRelation := map[string]map[string]any{}
	for _, sec := range []string{"nodes", "sources"} {
		for id, v := range obj(rawC[sec]) {
			cols := obj(obj(v)["columns"])
			catalogCols[id] = cols
			md := obj(obj(v)["metadata"])
			byRelation[strings.ToLower(str(md["database"])+"."+str(md["schema"])+"."+str(md["name"]))] = cols
			byRelation[strings.ToLower(str(md["schema"])+"."+str(md["name"]))] = cols
		}
	}
	unquote := strings.NewReplacer(`"`, "", "`", "")
	total := 0
	for id, n := range assets {
		cfg := obj(n["config"])
		disabled := n["__disabled"] == true || cfg["enabled"] == false
		ephemeral := str(cfg["materialized"]) == "ephemeral"
		have := map[string]bool{}
		cols, ok := byRelation[strings.ToLower(unquote.Replace(str(n["relation_name"])))]
		switch str(n["resource_type"]) {
		case "model", "seed", "snapshot", "source":
		default:
			ok = false
		}
		if !ok {
			cols = catalogCols[id]
		}
		if !disabled && !ephemeral {
			for name := range cols {
				have[strings.ToLower(name)] = true
				total++
			}
		}
		for name, c := range obj(n["columns"]) {
			if cn := str(obj(c)["name"]); cn != "" {
				name = cn
			}
			if !have[strings.ToLower(name)] {
				have[strings.ToLower(name)] = true
				total++
			}
		}
	}
	return total
}
