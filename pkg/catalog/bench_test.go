package catalog_test

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// countingWriter counts bytes written through it.
type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) WriteString(s string) {
	n, _ := c.w.WriteString(s)
	c.n += int64(n)
}

// writeSyntheticManifest streams a manifest of about size bytes to w: 70 %
// models with compiled code, the rest macros (which the decoder skips). It
// never holds more than one node in memory.
func writeSyntheticManifest(w io.Writer, size int64) error {
	cw := &countingWriter{w: bufio.NewWriterSize(w, 64<<10)}
	code := strings.Repeat(`select o.order_id, o.customer_id, sum(p.amount) as amount\nfrom \"db\".\"analytics\".\"orders\" o\njoin payments p using (order_id)\ngroup by 1, 2\n`, 12)
	cw.WriteString(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","dbt_version":"1.9.3","generated_at":"2025-01-01T00:00:00Z","adapter_type":"postgres"},"nodes":{`)
	for i := 0; cw.n < size*7/10; i++ {
		id := "model.bench.m" + strconv.Itoa(i)
		if i > 0 {
			cw.WriteString(",")
		}
		dep := "model.bench.m" + strconv.Itoa(i/2)
		cw.WriteString(`"`)
		cw.WriteString(id)
		cw.WriteString(`":{"database":"db","schema":"analytics","name":"m`)
		cw.WriteString(strconv.Itoa(i))
		cw.WriteString(`","alias":"m`)
		cw.WriteString(strconv.Itoa(i))
		cw.WriteString(`","resource_type":"model","package_name":"bench","unique_id":"`)
		cw.WriteString(id)
		cw.WriteString(`","config":{"enabled":true,"materialized":"table","tags":["a","b"],"meta":{"owner":"x@y"}},"tags":["c"],"description":"Model number `)
		cw.WriteString(strconv.Itoa(i))
		cw.WriteString(`","columns":{"order_id":{"name":"order_id","description":"key","meta":{},"tags":[]},"amount":{"name":"amount","description":"sum","meta":{},"tags":[]}},"meta":{},"relation_name":"\"db\".\"analytics\".\"m`)
		cw.WriteString(strconv.Itoa(i))
		cw.WriteString(`\"","raw_code":"select 1","compiled_code":"`)
		cw.WriteString(code)
		cw.WriteString(`","language":"sql","depends_on":{"macros":[],"nodes":["`)
		cw.WriteString(dep)
		cw.WriteString(`"]}}`)
	}
	cw.WriteString(`},"sources":{},"macros":{`)
	for i := 0; cw.n < size; i++ {
		if i > 0 {
			cw.WriteString(",")
		}
		cw.WriteString(`"macro.bench.x`)
		cw.WriteString(strconv.Itoa(i))
		cw.WriteString(`":{"name":"x","macro_sql":"`)
		cw.WriteString(code)
		cw.WriteString(`","depends_on":{"macros":[]}}`)
	}
	cw.WriteString(`},"docs":{},"exposures":{},"metrics":{},"parent_map":{},"child_map":{}}`)
	return cw.w.Flush()
}

// syntheticReader returns a reader streaming a synthetic manifest.
func syntheticReader(size int64) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeSyntheticManifest(pw, size)) }()
	return pr
}

// heapSampler records the peak of live heap objects while running.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > s.peak {
				s.peak = v
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) peakMiB() float64 {
	close(s.stop)
	s.done.Wait()
	return float64(s.peak) / (1 << 20)
}

func benchDecode(b *testing.B, size int64, open func() io.ReadCloser) {
	b.SetBytes(size)
	b.ReportAllocs()
	runtime.GC()
	s := startHeapSampler()
	for b.Loop() {
		r := open()
		n := 0
		_, err := catalog.DecodeManifest(r, catalog.DecodeOptions{MaxBytes: -1}, func(catalog.ManifestNode) error { n++; return nil })
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("no nodes decoded")
		}
	}
	b.ReportMetric(s.peakMiB(), "peak-heap-MiB")
}

func BenchmarkDecodeManifest(b *testing.B) {
	sizes := []struct {
		name string
		size int64
		huge bool
	}{
		{"synthetic-20MB", 20 << 20, false},
		{"synthetic-200MB", 200 << 20, true},
	}
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			if sz.huge && (testing.Short() || os.Getenv("BENCH_HUGE") != "1") {
				b.Skip("set BENCH_HUGE=1 (without -short) to run the 200 MB benchmark")
			}
			// Measure the real size once by streaming it to a counter.
			cw := &countingDiscard{}
			if err := writeSyntheticManifest(cw, sz.size); err != nil {
				b.Fatal(err)
			}
			benchDecode(b, cw.n, func() io.ReadCloser { return syntheticReader(sz.size) })
		})
	}
	b.Run("corpus-largest", func(b *testing.B) {
		path := sharedtest.Path(b, "dbt-artifacts", "flipside_aleo_snowflake_1.8.8", "manifest.json")
		doc, err := os.ReadFile(path)
		if err != nil {
			b.Skipf("largest corpus manifest unavailable: %v", err)
		}
		benchDecode(b, int64(len(doc)), func() io.ReadCloser { return io.NopCloser(bytes.NewReader(doc)) })
	})
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func BenchmarkBuildCorpus(b *testing.B) {
	dir := sharedtest.Path(b, "dbt-artifacts", "flipside_aleo_snowflake_1.8.8")
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		b.Skipf("corpus set unavailable: %v", err)
	}
	cat, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if err != nil {
		b.Skipf("corpus set unavailable: %v", err)
	}
	b.SetBytes(int64(len(manifest) + len(cat)))
	b.ReportAllocs()
	for b.Loop() {
		bl := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
		if err := bl.AddManifest(bytes.NewReader(manifest), catalog.Provenance{}); err != nil {
			b.Fatal(err)
		}
		if err := bl.AddCatalog(bytes.NewReader(cat)); err != nil {
			b.Fatal(err)
		}
		_ = bl.Build()
	}
}

// writeSyntheticRunResults streams a run_results.json of about size bytes
// to w: one result per model, each carrying a large compiled_code (and, as
// dbt 1.x writes, compiled flag and relation name) that the decoder skips.
func writeSyntheticRunResults(w io.Writer, size int64) error {
	cw := &countingWriter{w: bufio.NewWriterSize(w, 64<<10)}
	code := strings.Repeat(`select o.order_id, o.customer_id, sum(p.amount) as amount\nfrom \"db\".\"analytics\".\"orders\" o\njoin payments p using (order_id)\ngroup by 1, 2\n`, 40)
	cw.WriteString(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","dbt_version":"1.9.3","generated_at":"2025-01-01T00:00:00Z","invocation_id":"e4b1"},"results":[`)
	for i := 0; cw.n < size; i++ {
		if i > 0 {
			cw.WriteString(",")
		}
		n := strconv.Itoa(i)
		cw.WriteString(`{"status":"success","timing":[{"name":"compile","started_at":"2025-01-01T00:00:01.123456Z","completed_at":"2025-01-01T00:00:01.223456Z"},{"name":"execute","started_at":"2025-01-01T00:00:01.223456Z","completed_at":"2025-01-01T00:00:03.5Z"}],`)
		cw.WriteString(`"thread_id":"Thread-`)
		cw.WriteString(strconv.Itoa(i % 8))
		cw.WriteString(`","execution_time":2.41,"adapter_response":{"_message":"SELECT 120","code":"SELECT","rows_affected":120},"message":"SELECT 120","failures":null,`)
		cw.WriteString(`"unique_id":"model.bench.m`)
		cw.WriteString(n)
		cw.WriteString(`","compiled":true,"compiled_code":"`)
		cw.WriteString(code)
		cw.WriteString(`","relation_name":"\"db\".\"analytics\".\"m`)
		cw.WriteString(n)
		cw.WriteString(`\"","batch_results":null}`)
	}
	cw.WriteString(`],"elapsed_time":123.4,"args":{"which":"build","select":[],"exclude":[],"vars":{}}}`)
	return cw.w.Flush()
}

func BenchmarkDecodeRunResults(b *testing.B) {
	const size = 20 << 20
	cw := &countingDiscard{}
	if err := writeSyntheticRunResults(cw, size); err != nil {
		b.Fatal(err)
	}
	b.Run("synthetic-20MB", func(b *testing.B) {
		b.SetBytes(cw.n)
		b.ReportAllocs()
		runtime.GC()
		s := startHeapSampler()
		for b.Loop() {
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(writeSyntheticRunResults(pw, size)) }()
			n := 0
			_, err := catalog.DecodeRunResults(pr, catalog.DecodeOptions{MaxBytes: -1}, func(catalog.RunResult) error { n++; return nil })
			pr.Close()
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				b.Fatal("no results decoded")
			}
		}
		b.ReportMetric(s.peakMiB(), "peak-heap-MiB")
	})
	b.Run("corpus-largest", func(b *testing.B) {
		path := sharedtest.Path(b, "dbt-artifacts", "hubspot_postgres_1.7.18_v11", "run_results.json")
		doc, err := os.ReadFile(path)
		if err != nil {
			b.Skipf("largest corpus run_results unavailable: %v", err)
		}
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := catalog.DecodeRunResults(bytes.NewReader(doc), catalog.DecodeOptions{}, func(catalog.RunResult) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeCatalog(b *testing.B) {
	path := sharedtest.Path(b, "dbt-artifacts", "flipside_aleo_snowflake_1.8.8", "catalog.json")
	doc, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("largest corpus catalog unavailable: %v", err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := catalog.DecodeCatalog(bytes.NewReader(doc), catalog.DecodeOptions{}, func(catalog.CatalogTable) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
