package catalog_test

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// runHistory is a synthetic project with many tests and the
// run_results.json of several runs over it, shaped like the files dbt
// Cloud writes for `dbt build`.
type runHistory struct {
	manifest []byte
	runs     [][]byte
	bytes    int64
}

// newRunHistory makes a manifest of models and tests (tests per model
// each) and runs run_results.json files that execute all of them.
func newRunHistory(models, tests, runs int) runHistory {
	var m bytes.Buffer
	m.WriteString(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","dbt_version":"1.9.3","generated_at":"2025-01-01T00:00:00Z","adapter_type":"postgres","invocation_id":"m"},"nodes":{`)
	for i := range models {
		if i > 0 {
			m.WriteString(",")
		}
		n := strconv.Itoa(i)
		m.WriteString(`"model.bench.m` + n + `":{"database":"db","schema":"analytics","name":"m` + n + `","resource_type":"model","package_name":"bench","unique_id":"model.bench.m` + n +
			`","config":{"enabled":true,"materialized":"table"},"relation_name":"\"db\".\"analytics\".\"m` + n + `\"","depends_on":{"nodes":[]}}`)
	}
	for i := range tests {
		n, model := strconv.Itoa(i), "model.bench.m"+strconv.Itoa(i%models)
		m.WriteString(`,"test.bench.t` + n + `":{"database":"db","schema":"analytics_dbt_test__audit","name":"not_null_t` + n + `","resource_type":"test","package_name":"bench","unique_id":"test.bench.t` + n +
			`","config":{"enabled":true,"materialized":"test","severity":"ERROR"},"column_name":"id","test_metadata":{"name":"not_null","kwargs":{"column_name":"id"}},"attached_node":"` + model + `","depends_on":{"nodes":["` + model + `"]}}`)
	}
	m.WriteString(`},"sources":{},"macros":{},"docs":{},"exposures":{},"metrics":{},"parent_map":{},"child_map":{}}`)
	h := runHistory{manifest: m.Bytes()}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for r := range runs {
		var b bytes.Buffer
		inv := "inv-" + strconv.Itoa(r)
		b.WriteString(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","dbt_version":"1.9.3","generated_at":"` +
			start.Add(time.Duration(r)*time.Hour).Format(time.RFC3339) + `","invocation_id":"` + inv + `"},"results":[`)
		write := func(i int, id, status, message, failures string) {
			at := start.Add(time.Duration(r)*time.Hour + time.Duration(i)*time.Millisecond)
			if i > 0 || id[0] == 't' {
				b.WriteString(",")
			}
			b.WriteString(`{"status":"` + status + `","timing":[{"name":"compile","started_at":"` + at.Format(time.RFC3339Nano) + `","completed_at":"` + at.Add(time.Millisecond).Format(time.RFC3339Nano) +
				`"},{"name":"execute","started_at":"` + at.Add(time.Millisecond).Format(time.RFC3339Nano) + `","completed_at":"` + at.Add(1500*time.Millisecond).Format(time.RFC3339Nano) +
				`"}],"thread_id":"Thread-` + strconv.Itoa(i%8) + ` (worker)","execution_time":1.52,"adapter_response":{"_message":"SELECT 1","code":"SELECT","rows_affected":1},"message":` + message +
				`,"failures":` + failures + `,"unique_id":"` + id + `","compiled":true,"compiled_code":"select * from \"db\".\"analytics\".\"x\" where id is null","relation_name":null,"batch_results":null}`)
		}
		for i := range models {
			write(i, "model.bench.m"+strconv.Itoa(i), "success", `"SELECT 120"`, "null")
		}
		for i := range tests {
			status, msg, fail := "pass", "null", "0"
			if (i+r)%17 == 0 {
				status, msg, fail = "fail", `"Got 3 results, configured to fail if != 0"`, "3"
			}
			write(i, "test.bench.t"+strconv.Itoa(i), status, msg, fail)
		}
		b.WriteString(`],"elapsed_time":123.4,"args":{"which":"build"}}`)
		h.runs = append(h.runs, b.Bytes())
		h.bytes += int64(b.Len())
	}
	return h
}

// add loads the manifest and every run into a new Builder.
func (h runHistory) add(tb testing.TB) *catalog.Builder {
	bl := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
	if err := bl.AddManifest(bytes.NewReader(h.manifest), catalog.Provenance{}); err != nil {
		tb.Fatal(err)
	}
	h.addRuns(tb, bl)
	return bl
}

// addRuns adds every run to bl.
func (h runHistory) addRuns(tb testing.TB, bl *catalog.Builder) {
	for i, doc := range h.runs {
		prov := catalog.Provenance{RunID: int64(1000 + i), JobID: 7, FinishedAt: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}
		if err := bl.AddRunResults(bytes.NewReader(doc), prov); err != nil {
			tb.Fatal(err)
		}
	}
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRunHistory measures AddRunResults and Build over ten runs of a
// project with 1,000 models and 3,000 tests (30,000 test results),
// reporting the heap the Builder retains between the two.
func BenchmarkRunHistory(b *testing.B) {
	h := newRunHistory(1000, 3000, 10)
	b.Run("add", func(b *testing.B) {
		b.SetBytes(h.bytes)
		b.ReportAllocs()
		var bl *catalog.Builder
		for b.Loop() {
			bl = h.add(b)
		}
		b.StopTimer()
		bl = catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
		before := liveHeap()
		h.addRuns(b, bl)
		after := liveHeap()
		runtime.KeepAlive(bl)
		b.ReportMetric(float64(after-before)/(1<<20), "retained-MiB")
	})
	b.Run("build", func(b *testing.B) {
		bl := h.add(b)
		b.ReportAllocs()
		var snap *catalog.Snapshot
		for b.Loop() {
			snap = bl.Build()
		}
		if len(snap.TestResults) != 30000 {
			b.Fatalf("got %d test results, want 30000", len(snap.TestResults))
		}
	})
	b.Run("add+build", func(b *testing.B) {
		b.SetBytes(h.bytes)
		b.ReportAllocs()
		for b.Loop() {
			_ = h.add(b).Build()
		}
	})
}
