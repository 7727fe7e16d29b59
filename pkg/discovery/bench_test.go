package discovery

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// tape records the emulator's answers keyed by request body, so a replay
// server can serve them without the emulator's own cost.
type tape struct {
	mu    sync.Mutex
	next  http.RoundTripper
	pages map[string][]byte
}

func (t *tape) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.pages[string(body)] = out
	t.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(out))
	return resp, nil
}

// recordedServer records every page of ds's applied state as the emulator
// serves it (pages of 500) and returns a server that replays them, with
// the total size of the replayed bodies.
func recordedServer(b *testing.B, ds *dbtcloudtest.Dataset, opts AppliedOptions) (*httptest.Server, int64) {
	b.Helper()
	emu := httptest.NewServer(dbtcloudtest.NewGraphQLHandler(ds, dbtcloudtest.GraphQLOptions{Tokens: []string{testToken}}))
	defer emu.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	rec := &tape{next: tr, pages: map[string][]byte{}}
	c, err := NewClient(emu.URL+"/graphql", testToken, WithHTTPClient(&http.Client{Transport: rec}))
	require.NoError(b, err)
	_, err = c.AppliedStateWith(b.Context(), testEnvID, opts)
	require.NoError(b, err)

	var total int64
	for _, p := range rec.pages {
		total += int64(len(p))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		page, ok := rec.pages[string(body)]
		if !ok {
			http.Error(w, "request not recorded", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(page)
	}))
	return srv, total
}

// BenchmarkAppliedState reads a recorded applied state of 2,000 models
// (columns, tags, meta, parents), 2,002 tests, 200 sources and a few seeds,
// snapshots and exposures in pages of 500, replayed over loopback, so the
// figures are the client's own: ns/op, MB/s of response bodies, allocs,
// and retained-B, the heap the finished snapshot holds.
//
// "wide" gives every model 24 catalog columns instead of 3, the shape of
// a large warehouse project where columns dominate the snapshot.
//
// "account without code" is one environment of a typical account: 1,000
// models of 20 columns, three tests a model (3,002 in all), 200 sources,
// 50 seeds, 40 snapshots and 10 exposures: some 4,300 assets and 20,500
// columns.
func BenchmarkAppliedState(b *testing.B) {
	ds := syntheticDataset(sizes{models: 2000, sources: 200, seeds: 20, snapshots: 20, exposures: 10})
	wide := syntheticDataset(sizes{models: 2000, sources: 200, seeds: 20, snapshots: 20, exposures: 10})
	addColumns(wide, 24)
	account := syntheticDataset(sizes{models: 1000, sources: 200, seeds: 50, snapshots: 40, exposures: 10})
	addColumns(account, 20)
	addTests(account, 2)
	for _, bc := range []struct {
		name string
		ds   *dbtcloudtest.Dataset
		opts AppliedOptions
	}{
		{"with code", ds, AppliedOptions{}},
		{"without code", ds, AppliedOptions{WithoutCode: true}},
		{"wide without code", wide, AppliedOptions{WithoutCode: true}},
		{"account without code", account, AppliedOptions{WithoutCode: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, size := recordedServer(b, bc.ds, bc.opts)
			defer srv.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c, err := NewClient(srv.URL+"/graphql", testToken, WithHTTPClient(&http.Client{Transport: tr}))
			require.NoError(b, err)
			b.SetBytes(size)
			b.ReportAllocs()
			fetch := func() *catalog.Snapshot {
				snap, err := c.AppliedStateWith(b.Context(), testEnvID, bc.opts)
				require.NoError(b, err)
				require.Len(b, snap.Assets, len(bc.ds.Applied[testEnvID].Snapshot.Assets))
				return snap
			}
			for b.Loop() {
				fetch()
			}
			b.ReportMetric(float64(retainedBy(fetch)), "retained-B")
		})
	}
}

// addColumns gives every model of ds columns up to n, with the repeated
// names and types of a real warehouse.
func addColumns(ds *dbtcloudtest.Dataset, n int) {
	snap := ds.Applied[testEnvID].Snapshot
	types := []string{"TEXT", "NUMBER(38,0)", "TIMESTAMP_NTZ", "BOOLEAN"}
	for _, a := range snap.Assets {
		if a.Type != catalog.TypeModel {
			continue
		}
		for j := 4; j <= n; j++ {
			snap.Columns = append(snap.Columns, catalog.Column{AssetUniqueID: a.UniqueID,
				Name: fmt.Sprintf("attribute_%02d", j), DataType: types[j%len(types)], Ordinal: j})
		}
	}
}

// addTests gives every model of ds n more generic tests (unique and
// accepted_values on its first column), each with a latest result.
func addTests(ds *dbtcloudtest.Dataset, n int) {
	snap := ds.Applied[testEnvID].Snapshot
	base := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	names := []string{"unique", "accepted_values", "relationships"}
	var models []string
	for _, a := range snap.Assets {
		if a.Type == catalog.TypeModel {
			models = append(models, a.UniqueID)
		}
	}
	for i, id := range models {
		for j := range n {
			name := names[j%len(names)]
			tid := fmt.Sprintf("test.shop.%s_%s_col_1.%04x", name, strings.TrimPrefix(id, "model.shop."), i)
			status := []string{"pass", "fail", "warn"}[(i+j)%3]
			snap.Assets = append(snap.Assets, catalog.Asset{UniqueID: tid, Type: catalog.TypeTest, Enabled: true,
				Name: fmt.Sprintf("%s_%s_col_1", name, strings.TrimPrefix(id, "model.shop.")), Path: "models/schema.yml",
				TestName: name, TestColumnName: "col_1", TestedUniqueID: id, Severity: "ERROR",
				LastRunStatus: status, LastRunAt: base, LastRunID: 3001, LastJobID: 30, ExecutionSeconds: 0.5})
			snap.TestResults = append(snap.TestResults, catalog.TestResult{TestUniqueID: tid, RunID: 3001, JobID: 30,
				Status: status, ExecutedAt: base, ExecutionSeconds: 0.5})
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: id, Downstream: tid})
		}
	}
}

// retainedBy reports how many bytes of heap a result of f keeps alive,
// averaged over a few results held at once.
func retainedBy(f func() *catalog.Snapshot) uint64 {
	const n = 4
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	var keep [n]*catalog.Snapshot
	for i := range keep {
		keep[i] = f()
	}
	// Twice: pooled buffers survive the first collection.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return (after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)) / n
}
