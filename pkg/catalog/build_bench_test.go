package catalog_test

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// largeArtifact is one artifact of a generated project, written to disk
// so that holding it costs no heap.
type largeArtifact struct {
	name string // manifest.json, catalog.json, run_results.json, sources.json
	path string
	prov catalog.Provenance
}

// writeLargeProject generates one environment of models models (20
// columns and 3 tests each, code of codeBytes per model) with the dbt
// Cloud emulator's generator and writes the artifacts a crawl reads into
// dir: manifest and catalog of the newest run that generated docs, and
// run_results.json (and sources.json) of every step of every run.
func writeLargeProject(tb testing.TB, dir string, models, codeBytes int) []largeArtifact {
	tb.Helper()
	cfg := dbtcloudtest.DefaultGenConfig()
	cfg.Seed = 11000
	cfg.Projects, cfg.EnvironmentsPerProject = 1, 1
	cfg.Models, cfg.ColumnsPerModel, cfg.TestsPerModel = models, 20, 3
	cfg.Seeds, cfg.Snapshots, cfg.Exposures = 40, 60, 40
	cfg.RunsPerJob = 2
	cfg.CompiledCodeBytes = codeBytes
	cfg.FailingTestFraction = 0.02
	cfg.ArtifactCacheBytes = -1
	ds := dbtcloudtest.Generate(cfg)
	runs := slices.Clone(ds.Runs)
	slices.SortFunc(runs, func(a, b dbtcloudtest.Run) int { return cmp.Compare(a.ID, b.ID) })
	write := func(name string, run dbtcloudtest.Run, step int) (largeArtifact, bool) {
		path := filepath.Join(dir, fmt.Sprintf("%d-%d-%s", run.ID, step, name))
		f, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		ok, err := ds.WriteArtifact(w, run.ID, step, name)
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			tb.Fatal(err)
		}
		if !ok {
			_ = os.Remove(path)
			return largeArtifact{}, false
		}
		return largeArtifact{name: name, path: path, prov: catalog.Provenance{RunID: run.ID, JobID: run.JobID, FinishedAt: run.FinishedAt}}, true
	}
	var out []largeArtifact
	for _, run := range slices.Backward(runs) {
		if !run.HasDocsGenerated {
			continue
		}
		for _, name := range []string{"manifest.json", "catalog.json"} {
			if a, ok := write(name, run, 0); ok {
				out = append(out, a)
			}
		}
		break
	}
	for _, run := range runs {
		for step := range run.Steps {
			for _, name := range []string{"run_results.json", "sources.json"} {
				if a, ok := write(name, run, step+1); ok {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// addLarge adds the artifacts to a new Builder.
func addLarge(b testing.TB, arts []largeArtifact) *catalog.Builder {
	b.Helper()
	bl := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
	for _, a := range arts {
		f, err := os.Open(a.path)
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReaderSize(f, 256<<10)
		switch a.name {
		case "manifest.json":
			err = bl.AddManifest(r, a.prov)
		case "catalog.json":
			err = bl.AddCatalog(r)
		case "run_results.json":
			err = bl.AddRunResults(r, a.prov)
		case "sources.json":
			err = bl.AddSources(r, a.prov)
		}
		f.Close()
		if err != nil {
			b.Fatalf("%s: %v", a.path, err)
		}
	}
	return bl
}

// liveSampler records the largest live heap the collector marked while
// it runs (/gc/heap/live:bytes is updated at the end of every cycle).
type liveSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startLiveSampler() *liveSampler {
	s := &liveSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			s.peak = max(s.peak, sample[0].Value.Uint64())
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *liveSampler) done() uint64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak
}

// BenchmarkBuildLarge adds the artifacts of one large generated
// environment to a Builder and builds the snapshot, with Build (build)
// and with BuildAndRelease (release). It reports the live heap (after a
// full GC) holding the staged artifacts just before building
// (staged-MiB), the largest live heap the collector saw while building
// with GOGC=10 (build-peak-MiB: during a second Build, or during
// BuildAndRelease of a second Builder), the live heap afterwards
// (built-MiB: the Builder and the snapshot, or the snapshot alone when
// released), and the time of the adds and of building at the default
// GOGC. The full size (11,000 models of 12 KB code) runs with
// BENCH_HUGE=1; otherwise 2,000 models of 4 KB.
func BenchmarkBuildLarge(b *testing.B) {
	models, code := 2000, 4000
	if os.Getenv("BENCH_HUGE") == "1" && !testing.Short() {
		models, code = 11000, 12000
	}
	arts := writeLargeProject(b, b.TempDir(), models, code)
	type figures struct {
		staged, peak, built uint64
		add, build          time.Duration
		n                   int
	}
	report := func(b *testing.B, f figures) {
		mib := func(v uint64) float64 { return float64(v) / float64(f.n) / (1 << 20) }
		b.ReportMetric(mib(f.staged), "staged-MiB")
		b.ReportMetric(mib(f.peak), "build-peak-MiB")
		b.ReportMetric(mib(f.built), "built-MiB")
		b.ReportMetric(f.add.Seconds()/float64(f.n), "add-s")
		b.ReportMetric(f.build.Seconds()/float64(f.n), "build-s")
	}
	// add adds the artifacts to a new Builder, timing it and measuring
	// what it holds.
	add := func(b *testing.B, f *figures, base uint64) *catalog.Builder {
		t := time.Now()
		bl := addLarge(b, arts)
		f.add += time.Since(t)
		f.staged += liveHeap() - base
		return bl
	}
	// peak builds with GOGC=10 and a sampler of the live heap.
	peak := func(f *figures, base uint64, build func() *catalog.Snapshot) *catalog.Snapshot {
		runtime.GC()
		old := debug.SetGCPercent(10)
		s := startLiveSampler()
		snap := build()
		f.peak += s.done() - base
		debug.SetGCPercent(old)
		f.built += liveHeap() - base
		return snap
	}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		var f figures
		for b.Loop() {
			base := liveHeap()
			bl := add(b, &f, base)
			t := time.Now()
			snap := bl.Build()
			f.build += time.Since(t)
			snap = nil
			snap = peak(&f, base, bl.Build)
			runtime.KeepAlive(bl)
			runtime.KeepAlive(snap)
			f.n++
		}
		report(b, f)
	})
	b.Run("release", func(b *testing.B) {
		b.ReportAllocs()
		var f figures
		for b.Loop() {
			base := liveHeap()
			bl := add(b, &f, base)
			t := time.Now()
			snap := bl.BuildAndRelease()
			f.build += time.Since(t)
			snap, bl = nil, nil
			base = liveHeap()
			bl = addLarge(b, arts)
			snap = peak(&f, base, bl.BuildAndRelease)
			runtime.KeepAlive(bl)
			runtime.KeepAlive(snap)
			f.n++
		}
		report(b, f)
	})
}
