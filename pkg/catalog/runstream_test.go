package catalog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// requireRunsSameBothWays adds the manifest (when not nil) to two new
// Builders, then each run_results.json in runs to one through
// AddRunResults and to the other through DecodeRunResults, and checks
// that both fail with the same error or stage the same rows, and that
// both build the same snapshot.
func requireRunsSameBothWays(t testing.TB, manifest []byte, runs [][]byte, opts catalog.DecodeOptions) {
	t.Helper()
	fb := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{Decode: opts})
	rb := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{Decode: opts})
	if manifest != nil {
		require.NoError(t, fb.AddManifest(bytes.NewReader(manifest), catalog.Provenance{}))
		require.NoError(t, rb.AddManifest(bytes.NewReader(manifest), catalog.Provenance{}))
	}
	for i, doc := range runs {
		prov := catalog.Provenance{RunID: int64(100 + i), JobID: 1}
		refErr := rb.AddRunResultsReference(bytes.NewReader(doc), prov)
		fastErr := fb.AddRunResults(bytes.NewReader(doc), prov)
		if refErr != nil {
			require.Error(t, fastErr, "the generic decoder fails with %v", refErr)
			require.Equal(t, refErr.Error(), fastErr.Error())
			continue
		}
		require.NoError(t, fastErr)
	}
	require.Equal(t, rb.StagedRuns(), fb.StagedRuns())
	ref, refErr := json.Marshal(rb.Build())
	fast, fastErr := json.Marshal(fb.Build())
	if refErr != nil { // NaN execution times: the staged rows agree
		require.EqualError(t, fastErr, refErr.Error())
		return
	}
	require.NoError(t, fastErr)
	if !bytes.Equal(ref, fast) {
		require.JSONEq(t, string(ref), string(fast))
		require.Equal(t, string(ref), string(fast))
	}
}

// runEdgeManifest lists the nodes RunRowDocs name, so that their results
// reach the snapshot.
var runEdgeManifest = func() []byte {
	var parts []string
	for _, id := range []string{"model.p.a", "model.p.from_node", "model.p.n1", "a", "b"} {
		parts = append(parts, fmt.Sprintf(`%q:{"unique_id":%q,"resource_type":"model","name":%q}`, id, id, id))
	}
	for _, id := range []string{"test.p.t", "test.p.esc", "test.p.upper"} {
		parts = append(parts, fmt.Sprintf(`%q:{"unique_id":%q,"resource_type":"test","name":%q,"attached_node":"model.p.a","depends_on":{"nodes":["model.p.a"]}}`, id, id, id))
	}
	return []byte(manifestHead + `"nodes":{` + strings.Join(parts, ",") + `}}`)
}()

// runResultsVersionDocs are small run_results.json documents shaped as
// each supported schema version (v1 to v6) is written.
func runResultsVersionDocs() map[string][]byte {
	head := func(v int, extra string) string {
		return fmt.Sprintf(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v%d.json","dbt_version":"1.%d.0","generated_at":"2025-03-0%dT10:00:00.%06dZ","invocation_id":"inv-%d","env":{}},%s"results":[`, v, v, v, v*1111, v, extra)
	}
	timing := `"timing":[{"name":"compile","started_at":"2025-03-01T09:00:00.000001Z","completed_at":"2025-03-01T09:00:00.100000Z"},{"name":"execute","started_at":"2025-03-01T09:00:00.100000Z","completed_at":"2025-03-01T09:00:01.234567Z"}]`
	docs := map[string][]byte{
		// v1 (dbt 0.19): no failures; results may carry the whole node.
		"v1": []byte(head(1, "") +
			`{"status":"success",` + timing + `,"thread_id":"Thread-1","execution_time":1.1,"adapter_response":{"_message":"OK","code":"CREATE VIEW"},"message":"OK","unique_id":"model.p.a"},` +
			`{"status":"pass","timing":[],"thread_id":"Thread-2","execution_time":0.2,"adapter_response":{},"message":null,"node":{"unique_id":"test.p.t","resource_type":"test","config":{"severity":"ERROR","tags":[]},"depends_on":{"nodes":["model.p.a"]},"raw_sql":"select 1"}}` +
			`],"elapsed_time":2.5,"args":{"which":"run","models":["a"]}}`),
		"v1 node first": []byte(head(1, "") +
			`{"node":{"unique_id":"model.p.n1","resource_type":"model","config":{"materialized":"view","meta":{"a":[1]}}},"status":"success","timing":[{"name":"execute","completed_at":"2021-01-01T00:00:00Z"}],"unique_id":null}` +
			`]}`),
		// v2 and v3 (dbt 0.20, 0.21): failures.
		"v2": []byte(head(2, "") +
			`{"status":"fail",` + timing + `,"thread_id":"Thread-1","execution_time":0.5,"adapter_response":{},"message":"Got 2 results","failures":2,"unique_id":"test.p.t"}` +
			`],"elapsed_time":0.6,"args":{"which":"test"}}`),
		"v3": []byte(head(3, "") +
			`{"status":"warn",` + timing + `,"thread_id":"Thread-1","execution_time":0.5,"adapter_response":{},"message":"Got 1 result","failures":1,"unique_id":"test.p.t"},` +
			`{"status":"success",` + timing + `,"thread_id":"Thread-2","execution_time":3,"adapter_response":{"rows_affected":-1},"message":"SELECT 0","failures":null,"unique_id":"model.p.a"}` +
			`],"elapsed_time":3.1,"args":{"which":"build","rpc_method":"build"}}`),
		// v4 (dbt 1.0 to 1.2): args and adapter responses as today.
		"v4": []byte(head(4, "") +
			`{"status":"success",` + timing + `,"thread_id":"Thread-1","execution_time":1.25,"adapter_response":{"_message":"SELECT 12","code":"SELECT","rows_affected":12},"message":"SELECT 12","failures":null,"unique_id":"model.p.a"}` +
			`],"elapsed_time":1.3,"args":{"which":"run","write_json":true,"vars":{}}}`),
		// v5 (dbt 1.3 to 1.7): compiled code and relation name.
		"v5": []byte(head(5, "") +
			`{"status":"pass",` + timing + `,"thread_id":"Thread-1","execution_time":0.3,"adapter_response":{"_message":"SELECT 0"},"message":null,"failures":0,"unique_id":"test.p.t","compiled":true,"compiled_code":"select *\nfrom \"db\".\"s\".\"a\"\nwhere id is null","relation_name":null}` +
			`],"elapsed_time":0.4,"args":{"which":"test"}}`),
		// v6 (dbt 1.8+): batch results; args may come before results.
		"v6": []byte(head(6, `"args":{"which":"build","select":[],"exclude":[]},`) +
			`{"status":"success",` + timing + `,"thread_id":"Thread-3","execution_time":7.5,"adapter_response":{"_message":"INSERT 0 5","code":"INSERT","rows_affected":5},"message":"INSERT 0 5","failures":null,"unique_id":"model.p.a","compiled":true,"compiled_code":"insert into x select 1","relation_name":"\"db\".\"s\".\"a\"","batch_results":{"successful":[["2025-01-01T00:00:00","2025-01-02T00:00:00"]],"failed":[]}},` +
			`{"status":"skipped","timing":[],"thread_id":"Thread-1","execution_time":0,"adapter_response":{},"message":null,"failures":null,"unique_id":"test.p.t","compiled":false,"compiled_code":null,"relation_name":null,"batch_results":null}` +
			`],"elapsed_time":7.9}`),
		// No args (older dbt Cloud): compile-only detection by content.
		"v4 compile-only": []byte(head(4, "") +
			`{"status":"success","timing":[{"name":"compile","started_at":"2025-03-01T09:00:00Z","completed_at":"2025-03-01T09:00:00.1Z"}],"thread_id":"Thread-1","execution_time":0.1,"adapter_response":{},"message":null,"failures":null,"unique_id":"model.p.a"}` +
			`],"elapsed_time":0.2}`),
	}
	return docs
}

func TestAddRunResultsMatchesGenericDecoder(t *testing.T) {
	t.Run("shop fixture", func(t *testing.T) {
		requireRunsSameBothWays(t, readFixture(t, "manifest.json"), [][]byte{readFixture(t, "run_results.json")}, catalog.DecodeOptions{})
		requireSameBothWays(t, artifactInputs{
			manifests:  [][]byte{readFixture(t, "manifest.json")},
			catalogs:   [][]byte{readFixture(t, "catalog.json")},
			runResults: readFixture(t, "run_results.json"),
			sourceDoc:  readFixture(t, "sources.json"),
		}, catalog.DecodeOptions{})
	})
	for name, cfg := range generatedProjects() {
		t.Run("generated "+name, func(t *testing.T) {
			m, _ := generatedDocs(t, cfg)
			requireRunsSameBothWays(t, m, generatedRunResults(t, cfg), catalog.DecodeOptions{})
		})
	}
	t.Run("schema versions", func(t *testing.T) {
		var all [][]byte
		for name, doc := range runResultsVersionDocs() {
			t.Run(name, func(t *testing.T) {
				requireRunsSameBothWays(t, runEdgeManifest, [][]byte{doc}, catalog.DecodeOptions{})
			})
			all = append(all, doc)
		}
		requireRunsSameBothWays(t, runEdgeManifest, all, catalog.DecodeOptions{})
	})
	t.Run("edge cases", func(t *testing.T) {
		for i, doc := range catalog.RunRowDocs {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				requireRunsSameBothWays(t, runEdgeManifest, [][]byte{[]byte(doc)}, catalog.DecodeOptions{})
			})
		}
	})
	t.Run("edge cases in one history", func(t *testing.T) {
		var runs [][]byte
		for _, doc := range catalog.RunRowDocs {
			runs = append(runs, []byte(doc))
		}
		requireRunsSameBothWays(t, runEdgeManifest, runs, catalog.DecodeOptions{})
	})
	t.Run("errors", func(t *testing.T) {
		doc := string(runResultsVersionDocs()["v6"])
		bad := []string{
			"",
			" ",
			"[]",
			doc[:len(doc)/2],
			doc[:len(doc)-1],
			doc[:strings.Index(doc, `"execution_time"`)+3],
			doc[:strings.Index(doc, `"completed_at"`)+20],
			strings.Replace(doc, `"execution_time":7.5`, `"execution_time":7.`, 1),
			strings.Replace(doc, `"execution_time":7.5`, `"execution_time":-`, 1),
			strings.Replace(doc, `"execution_time":7.5`, `"execution_time":07`, 1),
			strings.Replace(doc, `"execution_time":7.5`, `"execution_time":tru`, 1),
			strings.Replace(doc, `"execution_time":7.5`, `"execution_time" 7.5`, 1),
			strings.Replace(doc, `"execution_time":7.5`, `"execution_time":7.5,`, 1),
			strings.Replace(doc, `"execution_time":7.5`, `7.5`, 1),
			strings.Replace(doc, `"message":"INSERT 0 5"`, `"message":"INSERT\q"`, 1),
			strings.Replace(doc, `"message":"INSERT 0 5"`, `"message":"\u12"`, 1),
			strings.Replace(doc, `"message":"INSERT 0 5"`, "\"message\":\"a\x01\"", 1),
			strings.Replace(doc, `"name":"execute"`, `"name":"execute" "x"`, 1),
			strings.Replace(doc, `"name":"execute"`, `"name":nul`, 1),
			strings.Replace(doc, `"timing":[]`, `"timing":[,]`, 1),
			strings.Replace(doc, `"timing":[]`, `"timing":[1,]`, 1),
			strings.Replace(doc, `"unique_id":"model.p.a"`, `"unique_id":"model.p.a"}`, 1),
			strings.Replace(doc, `"unique_id":"model.p.a"`, `"node":{"unique_id":"x",}`, 1),
			strings.Replace(doc, "run-results/v6", "run-results/v7", 1),
			strings.Replace(doc, "run-results/v6", "manifest/v12", 1),
			strings.Replace(doc, `{"metadata"`, `{"nodes":{},"metadata"`, 1),
			strings.Replace(doc, `"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json",`, "", 1),
			doc + "x",
			doc + "{}",
		}
		for i, b := range bad {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				requireRunsSameBothWays(t, nil, [][]byte{[]byte(b)}, catalog.DecodeOptions{})
			})
		}
		for name, doc := range runResultsVersionDocs() {
			for depth := range 9 {
				t.Run(fmt.Sprintf("%s depth limit %d", name, depth), func(t *testing.T) {
					requireRunsSameBothWays(t, nil, [][]byte{doc}, catalog.DecodeOptions{MaxDepth: depth})
				})
			}
		}
		for _, n := range []int64{1, 200, int64(len(doc) / 2), int64(len(doc) - 1), int64(len(doc))} {
			t.Run(fmt.Sprintf("size limit %d", n), func(t *testing.T) {
				requireRunsSameBothWays(t, nil, [][]byte{[]byte(doc)}, catalog.DecodeOptions{MaxBytes: n, File: "runs/7/run_results.json"})
			})
		}
		t.Run("an error leaves the builder as it was", func(t *testing.T) {
			requireRunsSameBothWays(t, runEdgeManifest, [][]byte{[]byte(doc), []byte(doc[:len(doc)-1]), []byte(doc)}, catalog.DecodeOptions{})
		})
	})
	t.Run("corpus", func(t *testing.T) {
		for _, set := range corpusSets(t) {
			if set.runResults == "" {
				continue
			}
			t.Run(set.name, func(t *testing.T) {
				doc, err := os.ReadFile(set.runResults)
				require.NoError(t, err)
				var manifest []byte
				if set.manifest != "" {
					if manifest, err = os.ReadFile(set.manifest); err != nil {
						manifest = nil
					}
				}
				if manifest != nil && catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{}).AddManifest(bytes.NewReader(manifest), catalog.Provenance{}) != nil {
					manifest = nil
				}
				requireRunsSameBothWays(t, manifest, [][]byte{doc}, catalog.DecodeOptions{})
			})
		}
	})
}

func FuzzAddRunResultsMatchesGenericDecoder(f *testing.F) {
	for _, doc := range catalog.RunRowDocs {
		f.Add([]byte(doc))
	}
	for _, doc := range runResultsVersionDocs() {
		f.Add(doc)
	}
	f.Add(readFixture(f, "run_results.json"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		requireRunsSameBothWays(t, runEdgeManifest, [][]byte{doc}, fuzzOpts)
	})
}
