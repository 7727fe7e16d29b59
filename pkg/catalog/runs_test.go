package catalog_test

import (
	"bytes"
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// referenceTestResults applies the documented test-result rules to runs
// decoded with DecodeRunResults: one result per (test, run, invocation),
// the newest execution kept (the first on ties), dated by the execute
// timing, else the run's FinishedAt, else generated_at, sorted by test,
// execution time, run and invocation.
func referenceTestResults(t *testing.T, snap *catalog.Snapshot, docs [][]byte, provs []catalog.Provenance) []catalog.TestResult {
	t.Helper()
	types := map[string]catalog.ResourceType{}
	for _, a := range snap.Assets {
		types[a.UniqueID] = a.Type
	}
	type key struct {
		id    string
		run   int64
		invoc string
	}
	seen := map[key]int{}
	var out []catalog.TestResult
	for i, doc := range docs {
		var results []catalog.RunResult
		meta, err := catalog.DecodeRunResults(bytes.NewReader(doc), catalog.DecodeOptions{}, func(r catalog.RunResult) error {
			results = append(results, r)
			return nil
		})
		require.NoError(t, err)
		for _, r := range results {
			if typ := types[r.UniqueID]; typ != catalog.TypeTest && typ != catalog.TypeUnitTest {
				continue
			}
			at := r.ExecutedAt()
			if at.IsZero() {
				at = provs[i].FinishedAt
			}
			if at.IsZero() {
				at = meta.GeneratedAt
			}
			tr := catalog.TestResult{TestUniqueID: r.UniqueID, RunID: provs[i].RunID, JobID: provs[i].JobID, Status: r.Status,
				Failures: r.Failures, Message: r.Message, ExecutedAt: at, ExecutionSeconds: r.ExecutionTime, InvocationID: meta.InvocationID}
			k := key{r.UniqueID, tr.RunID, tr.InvocationID}
			if j, dup := seen[k]; dup {
				if tr.ExecutedAt.After(out[j].ExecutedAt) {
					out[j] = tr
				}
				continue
			}
			seen[k] = len(out)
			out = append(out, tr)
		}
	}
	slices.SortFunc(out, func(a, b catalog.TestResult) int {
		return cmp.Or(cmp.Compare(a.TestUniqueID, b.TestUniqueID), a.ExecutedAt.Compare(b.ExecutedAt),
			cmp.Compare(a.RunID, b.RunID), cmp.Compare(a.InvocationID, b.InvocationID))
	})
	return out
}

func TestBuildTestResults(t *testing.T) {
	const manifest = `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","adapter_type":"postgres"},"nodes":{` +
		`"model.p.m":{"unique_id":"model.p.m","resource_type":"model","name":"m","schema":"s"},` +
		`"test.p.b":{"unique_id":"test.p.b","resource_type":"test","depends_on":{"nodes":["model.p.m"]}},` +
		`"test.p.a":{"unique_id":"test.p.a","resource_type":"test","depends_on":{"nodes":["model.p.m"]}},` +
		`"unit_test.p.u":{"unique_id":"unit_test.p.u","resource_type":"unit_test"}}}`
	run := func(invocation, generated string, results string) []byte {
		return []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","invocation_id":"` + invocation +
			`","generated_at":"` + generated + `"},"results":[` + results + `],"args":{"which":"build"}}`)
	}
	result := func(id, status, completed string, failures string) string {
		timing := `[]`
		if completed != "" {
			timing = `[{"name":"execute","completed_at":"` + completed + `"}]`
		}
		return `{"unique_id":"` + id + `","status":"` + status + `","failures":` + failures + `,"timing":` + timing + `,"adapter_response":{"x":1}}`
	}
	finished := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		docs  [][]byte
		provs []catalog.Provenance
		want  int
	}{
		{
			name: "runs in order, one result per test and run",
			docs: [][]byte{
				run("i1", "2025-03-01T01:00:00Z", result("test.p.b", "pass", "2025-03-01T00:59:00Z", "0")+","+result("test.p.a", "fail", "2025-03-01T00:58:00Z", "2")+","+result("model.p.m", "success", "2025-03-01T00:50:00Z", "null")),
				run("i2", "2025-03-01T02:00:00Z", result("test.p.a", "pass", "2025-03-01T01:58:00Z", "0")+","+result("unit_test.p.u", "pass", "", "null")),
			},
			provs: []catalog.Provenance{{RunID: 1, JobID: 9}, {RunID: 2, JobID: 9, FinishedAt: finished}},
			want:  4,
		},
		{
			name: "runs out of order are sorted by execution time",
			docs: [][]byte{
				run("i2", "2025-03-01T02:00:00Z", result("test.p.a", "pass", "2025-03-01T01:58:00Z", "0")),
				run("i1", "2025-03-01T01:00:00Z", result("test.p.a", "fail", "2025-03-01T00:58:00Z", "2")),
				run("i3", "2025-03-01T03:00:00Z", result("test.p.a", "warn", "2025-03-01T00:58:00Z", "1")),
			},
			provs: []catalog.Provenance{{RunID: 2}, {RunID: 1}, {RunID: 3}},
			want:  3,
		},
		{
			name: "the same run and invocation twice keeps the newest execution",
			docs: [][]byte{
				run("i1", "2025-03-01T01:00:00Z", result("test.p.a", "fail", "2025-03-01T00:58:00Z", "2")+","+result("test.p.a", "pass", "2025-03-01T00:59:00Z", "0")),
				run("i2", "2025-03-01T02:00:00Z", result("test.p.a", "warn", "2025-03-01T01:58:00Z", "1")),
				run("i1", "2025-03-01T01:00:00Z", result("test.p.a", "error", "2025-03-01T00:57:00Z", "null")+","+result("test.p.b", "pass", "", "0")),
			},
			provs: []catalog.Provenance{{RunID: 1}, {RunID: 2}, {RunID: 1}},
			want:  3,
		},
		{
			name: "the same run and invocation in files one after another keeps the newest execution",
			docs: [][]byte{
				run("i1", "2025-03-01T01:00:00Z", result("test.p.a", "fail", "2025-03-01T00:58:00Z", "2")),
				run("i1", "2025-03-01T01:00:00Z", result("test.p.a", "pass", "2025-03-01T00:59:00Z", "0")+","+result("test.p.b", "pass", "", "0")),
				run("i2", "2025-03-01T02:00:00Z", result("test.p.b", "warn", "2025-03-01T01:58:00Z", "1")+","+result("test.p.a", "error", "2025-03-01T00:57:00Z", "null")),
				run("i2", "2025-03-01T02:00:00Z", result("test.p.b", "fail", "2025-03-01T01:57:00Z", "3")),
			},
			provs: []catalog.Provenance{{RunID: 1}, {RunID: 1}, {RunID: 1}, {RunID: 1}},
			want:  4,
		},
		{
			name: "equal execution times keep the first result",
			docs: [][]byte{
				run("i1", "2025-03-01T01:00:00Z", result("test.p.a", "fail", "2025-03-01T00:58:00Z", "2")+","+result("test.p.a", "pass", "2025-03-01T00:58:00Z", "0")),
			},
			provs: []catalog.Provenance{{RunID: 1}},
			want:  1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
			for i, doc := range tc.docs {
				require.NoError(t, b.AddRunResults(bytes.NewReader(doc), tc.provs[i]))
			}
			require.NoError(t, b.AddManifest(bytes.NewReader([]byte(manifest)), catalog.Provenance{}))
			snap := b.Build()
			require.Len(t, snap.TestResults, tc.want)
			require.Equal(t, referenceTestResults(t, snap, tc.docs, tc.provs), snap.TestResults)
			require.Equal(t, snap, b.Build(), "a second Build gives the same snapshot")
		})
	}
	t.Run("synthetic history matches the reference", func(t *testing.T) {
		h := newRunHistory(20, 60, 4)
		b := h.add(t)
		snap := b.Build()
		provs := make([]catalog.Provenance, len(h.runs))
		for i := range provs {
			provs[i] = catalog.Provenance{RunID: int64(1000 + i), JobID: 7, FinishedAt: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}
		}
		require.Len(t, snap.TestResults, 240)
		require.Equal(t, referenceTestResults(t, snap, h.runs, provs), snap.TestResults)
	})
}
