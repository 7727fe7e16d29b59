package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// Results is the outcome of one Run.
type Results struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Quick      bool      `json:"quick"`
	// Mode is "child process" (the crawler binary measured alone) or "in
	// process" (crawled by this process, emulator included).
	Mode      string           `json:"mode"`
	Machine   Machine          `json:"machine"`
	Scenarios []ScenarioResult `json:"scenarios"`
	Targets   []Target         `json:"targets"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPUModel          string `json:"cpu_model"`
	Cores             int    `json:"cores"`
	MemoryBytes       int64  `json:"memory_bytes"`
	OS                string `json:"os"`
	Arch              string `json:"arch"`
	GoVersion         string `json:"go_version"`
	PostgreSQLVersion string `json:"postgresql_version"`
}

// DatasetSize is the size of a scenario's emulated account.
type DatasetSize struct {
	Projects     int `json:"projects"`
	Environments int `json:"environments"`
	Models       int `json:"models"`
	Tests        int `json:"tests"`
	Assets       int `json:"assets"`
	Runs         int `json:"runs"`
}

// Floor is the time the same work takes with plain tools.
type Floor struct {
	// DownloadSeconds to GET (or POST) every response the crawl received,
	// with a plain HTTP client and no decoding (the median of the
	// samples); DownloadBytes read.
	DownloadSeconds float64 `json:"download_seconds"`
	DownloadBytes   int64   `json:"download_bytes"`
	// CopySeconds of one plain COPY per table of the rows the crawl wrote
	// into tables without indexes (the median of the samples); CopyRows
	// copied.
	CopySeconds float64 `json:"copy_seconds"`
	CopyRows    int64   `json:"copy_rows"`
	// Seconds is DownloadSeconds + CopySeconds.
	Seconds float64 `json:"seconds"`
	// DownloadSamples and CopySamples are every measurement; the seconds
	// above are their medians.
	DownloadSamples []float64 `json:"download_samples"`
	CopySamples     []float64 `json:"copy_samples"`
}

// CrawlSample is one measured crawl.
type CrawlSample struct {
	WallSeconds  float64 `json:"wall_seconds"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
}

// ScenarioResult is one scenario's measurements.
type ScenarioResult struct {
	Name    string      `json:"name"`
	Dataset DatasetSize `json:"dataset"`

	// WallSeconds and CPUSeconds of the crawl; for account, the medians
	// of CrawlSamples.
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	// PeakRSSBytes of the crawler process (of the whole benchmark process
	// when InProcess); for account, the largest of CrawlSamples.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	InProcess    bool  `json:"in_process"`
	// CrawlSamples are account's crawls, each from an empty catalog on
	// an emulator of its own; the last is the one the other figures
	// (requests, rows, floor) describe.
	CrawlSamples []CrawlSample `json:"crawl_samples,omitempty"`

	Requests           int            `json:"requests"`
	RequestsByEndpoint map[string]int `json:"requests_by_endpoint"`
	RateLimited        int            `json:"rate_limited_429"`
	ServerErrors       int            `json:"server_errors_5xx"`
	// AdminPageSizes counts Admin list calls by their limit parameter;
	// DiscoveryPageSizes counts paged Discovery queries by `first`.
	AdminPageSizes     map[string]int `json:"admin_page_sizes"`
	DiscoveryPageSizes map[string]int `json:"discovery_page_sizes"`

	BytesDownloaded     int64 `json:"bytes_downloaded"`
	ArtifactsDownloaded int64 `json:"artifacts_downloaded"`

	// RowsWritten counts rows inserted or updated in every crawler table
	// (RowsByTable per table).
	RowsWritten   int64            `json:"rows_written"`
	RowsByTable   map[string]int64 `json:"rows_by_table"`
	RowsPerSecond float64          `json:"rows_per_second"`
	// AssetRowsWritten is inserted + updated + archived + restored assets,
	// from the crawl reports; TestResultsAdded likewise.
	AssetRowsWritten int64 `json:"asset_rows_written"`
	TestResultsAdded int64 `json:"test_results_added"`
	// AssetsReallyChanged is, for one-percent, the assets whose definition
	// the new runs changed (from the emulator's applied state).
	AssetsReallyChanged *int `json:"assets_really_changed,omitempty"`
	// WaitedForDiscoverySeconds is how long the benchmark waited, before
	// starting this crawl, for earlier crawls' Discovery requests to leave
	// the one-minute window (see waitForDiscoveryWindow); not part of Wall.
	WaitedForDiscoverySeconds float64 `json:"waited_for_discovery_seconds,omitempty"`
	// PhaseSeconds adds up, over environments, the seconds each crawl
	// phase (plan, fetch, build, write) took, as the crawl reports record
	// them; environments crawl concurrently, so the sum can exceed wall.
	PhaseSeconds map[string]float64 `json:"phase_seconds"`
	// Statuses counts environment crawls by status.
	Statuses map[string]int `json:"statuses"`

	Floor Floor `json:"floor"`
	// Ratio is WallSeconds / Floor.Seconds.
	Ratio float64 `json:"crawl_floor_ratio"`
}

// Target is one benchmark target and whether the run met it.
type Target struct {
	Scenario string `json:"scenario"`
	Name     string `json:"name"`
	Want     string `json:"want"`
	Got      string `json:"got"`
	Pass     bool   `json:"pass"`
}

const mib = 1 << 20

// evaluate checks the targets the scenarios measured.
func evaluate(scen []ScenarioResult) []Target {
	by := map[string]*ScenarioResult{}
	for i := range scen {
		by[scen[i].Name] = &scen[i]
	}
	var out []Target
	add := func(s, name, want, got string, pass bool) {
		out = append(out, Target{Scenario: s, Name: name, Want: want, Got: got, Pass: pass})
	}
	acc := by[ScenarioAccount]
	if acc != nil {
		add(acc.Name, "crawl/floor", "≤ 2.0", fmt.Sprintf("%.2f", acc.Ratio), acc.Ratio <= 2.0)
		if !acc.InProcess {
			add(acc.Name, "peak RSS", "≤ 256 MiB", fmt.Sprintf("%.0f MiB", float64(acc.PeakRSSBytes)/mib), acc.PeakRSSBytes <= 256*mib)
		}
	}
	if h := by[ScenarioHugeProject]; h != nil && !h.InProcess {
		add(h.Name, "peak RSS", "≤ 512 MiB", fmt.Sprintf("%.0f MiB", float64(h.PeakRSSBytes)/mib), h.PeakRSSBytes <= 512*mib)
	}
	if nc := by[ScenarioNoChange]; nc != nil {
		add(nc.Name, "asset rows written", "0", strconv.FormatInt(nc.AssetRowsWritten, 10), nc.AssetRowsWritten == 0)
		add(nc.Name, "artifacts downloaded", "0", strconv.FormatInt(nc.ArtifactsDownloaded, 10), nc.ArtifactsDownloaded == 0)
		if acc != nil && acc.WallSeconds > 0 {
			p := 100 * nc.WallSeconds / acc.WallSeconds
			add(nc.Name, "wall vs account", "≤ 5%", fmt.Sprintf("%.1f%%", p), p <= 5)
		}
	}
	if op := by[ScenarioOnePercent]; op != nil {
		if op.AssetsReallyChanged != nil {
			want := float64(*op.AssetsReallyChanged)
			got := float64(op.AssetRowsWritten)
			pass := got >= want*0.9 && got <= want*1.1
			add(op.Name, "asset rows written vs really changed", "within 10%", fmt.Sprintf("%d vs %d", op.AssetRowsWritten, *op.AssetsReallyChanged), pass)
		}
		if acc != nil && acc.WallSeconds > 0 {
			p := 100 * op.WallSeconds / acc.WallSeconds
			add(op.Name, "wall vs account", "≤ 50%", fmt.Sprintf("%.1f%%", p), p <= 50)
		}
	}
	for _, s := range scen {
		add(s.Name, "Admin list calls at limit=100", "all", formatCounts(s.AdminPageSizes), onlyKey(s.AdminPageSizes, 100))
		add(s.Name, "Discovery pages at first=500", "all", formatCounts(s.DiscoveryPageSizes), onlyKey(s.DiscoveryPageSizes, 500))
		add(s.Name, "429 responses", "0", strconv.Itoa(s.RateLimited), s.RateLimited == 0)
	}
	return out
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// Passed reports whether every target was met.
func (r *Results) Passed() bool {
	for _, t := range r.Targets {
		if !t.Pass {
			return false
		}
	}
	return true
}

// WriteTable prints the results as aligned tables: the scenarios, the
// requests per endpoint, and the targets.
func (r *Results) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m := r.Machine
	fmt.Fprintf(bw, "machine: %s, %d cores, %.1f GiB, %s/%s, %s, PostgreSQL %s; crawls measured %s\n\n",
		m.CPUModel, m.Cores, float64(m.MemoryBytes)/(1<<30), m.OS, m.Arch, m.GoVersion, m.PostgreSQLVersion, r.Mode)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tassets\twall s\tCPU s\tpeak RSS\trequests\t429\tdownloaded\tartifacts\trows written\trows/s\tfloor s\t(download s\tCOPY s)\tcrawl/floor\t")
	for _, s := range r.Scenarios {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%s\t%d\t%d\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
			s.Name, s.Dataset.Assets, s.WallSeconds, s.CPUSeconds, humanBytes(s.PeakRSSBytes), s.Requests, s.RateLimited,
			humanBytes(s.BytesDownloaded), s.ArtifactsDownloaded, s.RowsWritten, s.RowsPerSecond,
			s.Floor.Seconds, s.Floor.DownloadSeconds, s.Floor.CopySeconds, s.Ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(bw, "\n%s: requests by endpoint\n", s.Name)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		for _, k := range sortedKeys(s.RequestsByEndpoint) {
			fmt.Fprintf(tw, "  %s\t%d\n", k, s.RequestsByEndpoint[k])
		}
		tw.Flush()
		fmt.Fprintf(bw, "%s: rows written by table:", s.Name)
		for _, k := range sortedKeys(s.RowsByTable) {
			if s.RowsByTable[k] > 0 {
				fmt.Fprintf(bw, " %s=%d", k, s.RowsByTable[k])
			}
		}
		fmt.Fprintf(bw, "; asset rows %d, test results %d\n", s.AssetRowsWritten, s.TestResultsAdded)
		fmt.Fprintf(bw, "%s: phase seconds summed over environments:", s.Name)
		for _, k := range sortedKeys(s.PhaseSeconds) {
			fmt.Fprintf(bw, " %s=%.2f", k, s.PhaseSeconds[k])
		}
		fmt.Fprintln(bw)
		if s.WaitedForDiscoverySeconds > 0 {
			fmt.Fprintf(bw, "%s: started %.0fs late, once the Discovery requests of earlier crawls had left the one-minute window\n", s.Name, s.WaitedForDiscoverySeconds)
		}
	}
	fmt.Fprintln(bw, "\ntargets")
	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		verdict := "pass"
		if !t.Pass {
			verdict = "MISS"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", t.Scenario, t.Name, t.Want, t.Got, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteJSON writes the results as indented JSON to path, creating its
// directory.
func (r *Results) WriteJSON(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// describeMachine reads the CPU model and memory from /proc (Linux) and
// asks the server for its version; unknown values stay empty.
func describeMachine(ctx context.Context, dsn string) Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					kb, _ := strconv.ParseInt(f[0], 10, 64)
					m.MemoryBytes = kb * 1024
				}
			}
		}
	}
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		conn.QueryRow(ctx, `SHOW server_version`).Scan(&m.PostgreSQLVersion) //nolint:errcheck
		conn.Close(ctx)
	}
	return m
}
