package admin_test

import (
	"encoding/json"
	"testing"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

// BenchmarkRunsListing pages through 1,000 runs (10 pages) from a local
// server, measuring client-side cost per run: request, decode, iterate.
func BenchmarkRunsListing(b *testing.B) {
	all := items(1000)
	for _, it := range all {
		it["finished_at"] = "2021-12-07T10:34:14.435474Z"
		it["trigger"] = map[string]any{"cause": "scheduled"}
		it["duration"] = "00:01:50"
	}
	a := newAPI(b, pager(all, true), admin.WithLogger(zap.NewNop()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, err := range a.client.Runs(b.Context(), admin.RunFilter{}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("got %d runs", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/run")
}

// BenchmarkRunDecode decodes one run with every timestamp layout in play.
func BenchmarkRunDecode(b *testing.B) {
	data := []byte(`{"id": 36053848, "trigger_id": 1, "account_id": 1, "environment_id": 2, "project_id": 3,
		"job_definition_id": 4, "status": 10, "git_sha": "981c5cf", "created_at": "2021-12-07 10:32:24.326116+00:00",
		"updated_at": "2021-12-07T10:34:14.507280+00:00", "finished_at": "2021-12-07T10:34:14.435474Z",
		"trigger": null, "job": null, "environment": null, "run_steps": [], "duration": "00:01:50"}`)
	b.ReportAllocs()
	for b.Loop() {
		var r admin.Run
		if err := json.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
	}
}
