// Package bench runs the crawler's scale scenarios and measures them
// against a floor.
//
// Each scenario serves a deterministic generated dbt Cloud account from
// the emulator over loopback, with dbt's documented rate limits enforced,
// and crawls it into PostgreSQL: by default with the crawler binary as a
// child process, so wall time, CPU time and peak RSS are the crawler's
// own. In the same run it measures the floor for the same work: a plain
// HTTP client downloading the same responses from the same dataset
// (without rate limits or decoding), plus a plain COPY of the rows the
// crawl wrote into fresh tables without indexes. The ratio crawl/floor says
// how much the crawler adds on top of moving the bytes.
//
// The scenarios:
//
//   - account: 10 projects × 2 environments × 1,000 models, 5 runs per job;
//   - no-change: account crawled again with nothing new;
//   - one-percent: account after one more run of every job that changes 1%
//     of the models;
//   - huge-project: one environment with 11,000 models, 33,000 tests and
//     manifests of hundreds of MB.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/internal/pgcluster"
	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// Scenario names.
const (
	ScenarioAccount     = "account"
	ScenarioNoChange    = "no-change"
	ScenarioOnePercent  = "one-percent"
	ScenarioHugeProject = "huge-project"
)

// Scenarios returns every scenario name in the order Run runs them.
func Scenarios() []string {
	return []string{ScenarioAccount, ScenarioNoChange, ScenarioOnePercent, ScenarioHugeProject}
}

// AccountConfig returns the dataset of the account scenario (and of
// no-change and one-percent, which crawl it again): 10 projects × 2
// environments × 1,000 models with 20 columns and 3 tests each, 5 runs per
// job; quick makes it 2 × 2 × 200 with 3 runs per job.
func AccountConfig(quick bool) dbtcloudtest.GenConfig {
	c := dbtcloudtest.DefaultGenConfig()
	c.Seed = 20240301
	c.Projects, c.EnvironmentsPerProject = 10, 2
	c.Models, c.ColumnsPerModel, c.TestsPerModel = 1000, 20, 3
	c.Seeds, c.Snapshots, c.Exposures = 20, 20, 10 // sources default to Models/4
	c.RunsPerJob = 5
	c.FailingTestFraction = 0.02
	c.ArtifactCacheBytes = 4 << 30
	if quick {
		c.Projects, c.Models, c.RunsPerJob = 2, 200, 3
		c.Seeds, c.Snapshots, c.Exposures = 4, 4, 2
	}
	return c
}

// HugeProjectConfig returns the dataset of the huge-project scenario: one
// environment with 11,000 models, 3 tests each and about 12 KB of compiled
// SQL per model, so the manifest is hundreds of MB; quick makes it 1,500
// models with 4 KB each.
func HugeProjectConfig(quick bool) dbtcloudtest.GenConfig {
	c := dbtcloudtest.DefaultGenConfig()
	c.Seed = 11000
	c.Projects, c.EnvironmentsPerProject = 1, 1
	c.Models, c.ColumnsPerModel, c.TestsPerModel = 11000, 20, 3
	c.Seeds, c.Snapshots, c.Exposures = 40, 60, 40
	c.RunsPerJob = 2
	c.CompiledCodeBytes = 12000
	c.FailingTestFraction = 0.02
	c.ArtifactCacheBytes = 4 << 30
	if quick {
		c.Models, c.CompiledCodeBytes = 1500, 4000
		c.Seeds, c.Snapshots, c.Exposures = 10, 10, 10
	}
	return c
}

// Options configure Run.
type Options struct {
	// Quick uses the development sizes of AccountConfig and
	// HugeProjectConfig.
	Quick bool
	// Scenarios to run (default all). no-change and one-percent crawl the
	// account scenario first, which is then reported too.
	Scenarios []string
	// DatabaseURL names a PostgreSQL server on which Run creates (and
	// afterwards drops) its own databases; the role needs CREATEDB. Empty
	// starts a private cluster in a temporary directory with fsync off.
	DatabaseURL string
	// CrawlerPath is the crawler binary crawls run as (`crawler run`).
	// Empty crawls in this process (CPU and RSS then include the emulator).
	CrawlerPath string
	// Environ is passed to the child crawler (PATH, HOME, GOMAXPROCS, ...);
	// its DBT_CLOUD_*, CRAWLER_* and DATABASE_URL variables are replaced
	// by the scenario's own.
	Environ []string
	// CrawlerMemoryLimit, when set, is the child crawler's GOMEMLIMIT (Go
	// size syntax, e.g. "460MiB"), as a deployment sets it from its
	// container's memory limit; it replaces a GOMEMLIMIT in Environ.
	CrawlerMemoryLimit string
	// CrawlerLog, when set, is a file the child crawler's output is
	// appended to, one block per scenario.
	CrawlerLog string
	// ProfileDir, when set, crawls in this process under the CPU profiler
	// and writes SCENARIO.cpu.pprof and SCENARIO.allocs.pprof there.
	ProfileDir string
	// Account and HugeProject replace the scenario datasets (tests use
	// tiny ones); nil means AccountConfig(Quick) and
	// HugeProjectConfig(Quick).
	Account     *dbtcloudtest.GenConfig
	HugeProject *dbtcloudtest.GenConfig
	// ChangeFraction of models one-percent changes (default 0.01).
	ChangeFraction float64
	// CrawlSamples is how many times account is crawled, each time from
	// an empty catalog on an emulator of its own (0 means five, three when
	// Quick); its wall and CPU seconds are the medians, its peak RSS the
	// largest. A profiled run crawls once.
	CrawlSamples int
	// Logger receives the in-process crawler's logs; nil means none.
	Logger *zap.Logger
	// Progress receives one line per step; nil means none.
	Progress io.Writer
}

// Run runs the selected scenarios and returns their results with the
// targets evaluated. It fails on the first scenario that fails.
func Run(ctx context.Context, opts Options) (*Results, error) {
	selected := map[string]bool{}
	for _, s := range opts.Scenarios {
		if !slices.Contains(Scenarios(), s) {
			return nil, fmt.Errorf("unknown scenario %q: choose from %v", s, Scenarios())
		}
		selected[s] = true
	}
	if len(selected) == 0 {
		for _, s := range Scenarios() {
			selected[s] = true
		}
	}
	if opts.ChangeFraction <= 0 {
		opts.ChangeFraction = 0.01
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.ProfileDir != "" {
		if err := os.MkdirAll(opts.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("profile directory: %w", err)
		}
	}
	r := &runner{opts: opts}
	tmp, err := os.MkdirTemp("", "crawler-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	r.tmp = tmp
	if err := r.startDatabase(ctx); err != nil {
		return nil, err
	}
	defer r.stopDatabase()

	res := &Results{StartedAt: time.Now().UTC(), Quick: opts.Quick, Mode: "child process"}
	if opts.CrawlerPath == "" || opts.ProfileDir != "" {
		res.Mode = "in process"
	} else if opts.CrawlerMemoryLimit != "" {
		res.Mode += " with GOMEMLIMIT=" + opts.CrawlerMemoryLimit
	}
	res.Machine = describeMachine(ctx, r.adminURL)
	if selected[ScenarioAccount] || selected[ScenarioNoChange] || selected[ScenarioOnePercent] {
		out, err := r.accountGroup(ctx, selected)
		res.Scenarios = append(res.Scenarios, out...)
		if err != nil {
			return res, err
		}
	}
	if selected[ScenarioHugeProject] {
		out, err := r.hugeProject(ctx)
		if out != nil {
			res.Scenarios = append(res.Scenarios, *out)
		}
		if err != nil {
			return res, err
		}
	}
	res.FinishedAt = time.Now().UTC()
	res.Targets = evaluate(res.Scenarios)
	return res, nil
}

// runner holds the state of one Run.
type runner struct {
	opts    Options
	tmp     string
	cluster *pgcluster.Cluster
	// clusterDir holds the private cluster, when Run started one.
	clusterDir string
	adminURL   string
	created    []string
}

func (r *runner) progress(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "bench: "+format+"\n", args...)
	}
}

func (r *runner) startDatabase(ctx context.Context) error {
	if r.opts.DatabaseURL != "" {
		r.adminURL = r.opts.DatabaseURL
		return nil
	}
	r.progress("starting a private PostgreSQL (fsync off)")
	// Its own temporary directory: as root the server runs as another
	// user, which must be able to reach it.
	dir, err := os.MkdirTemp("", "crawler-bench-pg-")
	if err != nil {
		return err
	}
	r.clusterDir = dir
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir})
	if err != nil {
		return fmt.Errorf("private PostgreSQL for the benchmark (or set DATABASE_URL): %w", err)
	}
	r.cluster = c
	r.adminURL = c.URL("postgres")
	return nil
}

func (r *runner) stopDatabase() {
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, r.adminURL); err == nil {
		for _, name := range r.created {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
		}
		conn.Close(ctx)
	}
	if r.cluster != nil {
		r.cluster.Stop() //nolint:errcheck
	}
	if r.clusterDir != "" {
		os.RemoveAll(r.clusterDir)
	}
}

// databaseName is the name of scenario's database.
func databaseName(scenario string) string {
	return fmt.Sprintf("crawler_bench_%s_%d", sanitize(scenario), os.Getpid())
}

// dropDatabase drops scenario's database, best effort: Run drops what is
// left when it ends.
func (r *runner) dropDatabase(ctx context.Context, scenario string) {
	conn, err := pgx.Connect(ctx, r.adminURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{databaseName(scenario)}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
}

// createDatabase creates a fresh database on the server and returns its URL.
func (r *runner) createDatabase(ctx context.Context, scenario string) (string, error) {
	name := databaseName(scenario)
	conn, err := pgx.Connect(ctx, r.adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to the benchmark PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	id := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop stale database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+id); err != nil {
		return "", fmt.Errorf("create database %s (the DATABASE_URL role needs CREATEDB): %w", name, err)
	}
	r.created = append(r.created, name)
	u, err := url.Parse(r.adminURL)
	if err != nil {
		return "", fmt.Errorf("parse the database URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// accountGroup runs account, then no-change and one-percent on the same
// emulator and database.
func (r *runner) accountGroup(ctx context.Context, selected map[string]bool) ([]ScenarioResult, error) {
	cfg := AccountConfig(r.opts.Quick)
	if r.opts.Account != nil {
		cfg = *r.opts.Account
	}
	r.progress("account: generating %d projects × %d environments × %d models", cfg.Projects, cfg.EnvironmentsPerProject, cfg.Models)
	ds := dbtcloudtest.Generate(cfg)
	prewarm(ds, ds.Runs)
	emu := startEmulator(ds)
	defer emu.close()
	// One crawl of two saturated cores varies by a tenth from run to run,
	// as its floor does: like the floor's, account's figures are medians.
	samples := r.opts.CrawlSamples
	if samples <= 0 {
		samples = r.samples()
	}
	if r.opts.ProfileDir != "" {
		samples = 1
	}
	var earlier []usage
	for i := 1; i < samples; i++ {
		u, err := r.sampleCrawl(ctx, ds, i, samples)
		if err != nil {
			return nil, err
		}
		earlier = append(earlier, u)
	}
	dsn, err := r.createDatabase(ctx, "account")
	if err != nil {
		return nil, err
	}
	var out []ScenarioResult
	acc, err := r.measure(ctx, ScenarioAccount, emu, dsn, earlier...)
	if err != nil {
		return out, err
	}
	out = append(out, acc)

	if selected[ScenarioNoChange] {
		nc, err := r.measure(ctx, ScenarioNoChange, emu, dsn)
		if err != nil {
			return out, err
		}
		out = append(out, nc)
	}
	if selected[ScenarioOnePercent] {
		before := appliedAssets(ds)
		runs := ds.AddRuns(cfg.Seed+1, r.opts.ChangeFraction)
		prewarm(ds, runs)
		changed := countChanged(before, appliedAssets(ds))
		// Scheduled crawls of an account are minutes apart; back to back,
		// one-percent would mostly measure the wait for the Discovery
		// requests of the account crawl to leave dbt's one-minute window.
		waited, err := waitForDiscoveryWindow(ctx, dsn, ds.Account.ID, discoveryRequests(acc), r.progress)
		if err != nil {
			return out, err
		}
		op, err := r.measure(ctx, ScenarioOnePercent, emu, dsn)
		if err != nil {
			return out, err
		}
		op.AssetsReallyChanged = &changed
		op.WaitedForDiscoverySeconds = waited.Seconds()
		out = append(out, op)
	}
	return out, nil
}

// hugeProject runs huge-project on its own emulator and database, and
// releases the dataset's memory afterwards.
func (r *runner) hugeProject(ctx context.Context) (*ScenarioResult, error) {
	cfg := HugeProjectConfig(r.opts.Quick)
	if r.opts.HugeProject != nil {
		cfg = *r.opts.HugeProject
	}
	defer debug.FreeOSMemory()
	r.progress("huge-project: generating 1 environment with %d models (compiled code %d bytes each)", cfg.Models, cfg.CompiledCodeBytes)
	ds := dbtcloudtest.Generate(cfg)
	prewarm(ds, ds.Runs)
	emu := startEmulator(ds)
	defer emu.close()
	dsn, err := r.createDatabase(ctx, "huge")
	if err != nil {
		return nil, err
	}
	res, err := r.measure(ctx, ScenarioHugeProject, emu, dsn)
	return &res, err
}

// sampleCrawl crawls ds from an empty catalog on an emulator and a
// database of its own, which it then drops, and returns what the crawl
// cost: one of account's samples besides the one measure describes.
func (r *runner) sampleCrawl(ctx context.Context, ds *dbtcloudtest.Dataset, i, of int) (usage, error) {
	emu := startEmulator(ds)
	defer emu.close()
	scenario := fmt.Sprintf("%s-%d", ScenarioAccount, i)
	dsn, err := r.createDatabase(ctx, scenario)
	if err != nil {
		return usage{}, err
	}
	defer r.dropDatabase(context.WithoutCancel(ctx), scenario)
	ds.RLock()
	target := crawlTarget{URL: emu.URL(), AccountID: ds.Account.ID, DSN: dsn}
	ds.RUnlock()
	r.progress("%s: crawl %d of %d", ScenarioAccount, i, of)
	u, err := r.crawl(ctx, target, scenario)
	if err != nil {
		return u, fmt.Errorf("%s: %w", ScenarioAccount, err)
	}
	r.progress("%s: crawl %d of %d took %.1fs", ScenarioAccount, i, of, u.Wall.Seconds())
	return u, nil
}

// crawl runs one crawl of t, in this process or as a child.
func (r *runner) crawl(ctx context.Context, t crawlTarget, name string) (usage, error) {
	// The emulator's garbage from generating the dataset or serving the
	// last crawl is collected now, not during this one.
	runtime.GC()
	if r.inProcess() {
		return crawlInProcess(ctx, t, r.opts.Logger, r.opts.ProfileDir, name)
	}
	return crawlChild(ctx, r.opts.CrawlerPath, r.childEnviron(), t, r.tmp, r.childLog(name))
}

// measure crawls the emulator into dsn once and measures the crawl and its
// floor. The usage of earlier crawls of the same work, when given, joins
// this crawl's in medians (see Options.CrawlSamples).
func (r *runner) measure(ctx context.Context, name string, emu *emulator, dsn string, earlier ...usage) (ScenarioResult, error) {
	res := ScenarioResult{Name: name}
	ds := emu.ds
	ds.RLock()
	res.Dataset = describeDataset(ds)
	ds.RUnlock()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return res, fmt.Errorf("%s: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m, err := takeMark(ctx, conn)
	if err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	emu.take()
	r.progress("%s: crawling (%s)", name, map[bool]string{true: "in process", false: "child process"}[r.inProcess()])
	target := crawlTarget{URL: emu.URL(), AccountID: ds.Account.ID, DSN: dsn}
	u, err := r.crawl(ctx, target, name)
	reqs := emu.take()
	if err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	res.WallSeconds, res.CPUSeconds, res.PeakRSSBytes, res.InProcess = u.Wall.Seconds(), u.CPU.Seconds(), u.MaxRSS, u.InProcess
	if len(earlier) > 0 {
		var walls, cpus []float64
		for _, e := range append(earlier, u) {
			res.CrawlSamples = append(res.CrawlSamples, CrawlSample{WallSeconds: e.Wall.Seconds(), CPUSeconds: e.CPU.Seconds(), PeakRSSBytes: e.MaxRSS})
			walls, cpus = append(walls, e.Wall.Seconds()), append(cpus, e.CPU.Seconds())
			res.PeakRSSBytes = max(res.PeakRSSBytes, e.MaxRSS)
		}
		res.WallSeconds, res.CPUSeconds = median(walls), median(cpus)
		r.progress("%s: crawls took %s; the median is %.2fs", name, formatSeconds(walls), res.WallSeconds)
	}

	res.RequestsByEndpoint = map[string]int{}
	for _, q := range reqs {
		res.Requests++
		res.RequestsByEndpoint[endpointOf(q)]++
		res.BytesDownloaded += q.Bytes
		if q.Status == 429 {
			res.RateLimited++
		}
		if q.Status >= 500 {
			res.ServerErrors++
		}
	}
	res.AdminPageSizes, res.DiscoveryPageSizes = pageSizes(reqs)

	if res.RowsByTable, err = rowsWritten(ctx, conn, m); err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	for _, n := range res.RowsByTable {
		res.RowsWritten += n
	}
	if res.WallSeconds > 0 {
		res.RowsPerSecond = float64(res.RowsWritten) / res.WallSeconds
	}
	if err := readCrawls(ctx, conn, m, &res); err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}

	r.progress("%s: crawled in %.1fs; measuring the floor", name, res.WallSeconds)
	// The floor is measured r.samples() times and its median kept: on
	// this kind of machine one measurement of the same work varies by a
	// quarter from one run to the next.
	var dls, cps []float64
	var n, rows int64
	for range r.samples() {
		// The crawl started on an idle server; so does its floor. Writing
		// 1.4M rows wakes autovacuum, which otherwise competes with the
		// floor's COPY (and with the emulator) for the same two cores.
		if waited := settle(ctx, conn); waited > time.Second {
			r.progress("%s: waited %.0fs for autovacuum to finish", name, waited.Seconds())
		}
		// As many at a time as the crawler crawls environments.
		dl, got, err := replayDownload(ctx, emu.floor.URL, reqs, config.DefaultConcurrency())
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		cp, copied, err := copyFloor(ctx, conn, m)
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		dls, cps, n, rows = append(dls, dl.Seconds()), append(cps, cp.Seconds()), got, copied
	}
	res.Floor = Floor{DownloadSeconds: median(dls), DownloadBytes: n, CopySeconds: median(cps), CopyRows: rows,
		DownloadSamples: dls, CopySamples: cps}
	res.Floor.Seconds = res.Floor.DownloadSeconds + res.Floor.CopySeconds
	dl, cp := time.Duration(res.Floor.DownloadSeconds*float64(time.Second)), time.Duration(res.Floor.CopySeconds*float64(time.Second))
	if res.Floor.Seconds > 0 {
		res.Ratio = res.WallSeconds / res.Floor.Seconds
	}
	r.progress("%s: floor %.1fs (download %.1fs, COPY %.1fs); crawl/floor %.2f", name, res.Floor.Seconds, dl.Seconds(), cp.Seconds(), res.Ratio)
	return res, nil
}

func (r *runner) inProcess() bool { return r.opts.CrawlerPath == "" || r.opts.ProfileDir != "" }

// readCrawls adds up the crawl reports the crawl wrote.
func readCrawls(ctx context.Context, conn *pgx.Conn, m mark, res *ScenarioResult) error {
	rows, err := conn.Query(ctx, `SELECT status, assets_inserted + assets_updated + assets_archived + assets_restored,
		test_results_added, artifacts_downloaded, error, durations FROM crawler.crawls WHERE crawl_id > $1 ORDER BY crawl_id`, m.maxCrawl)
	if err != nil {
		return fmt.Errorf("read crawl reports: %w", err)
	}
	defer rows.Close()
	res.Statuses = map[string]int{}
	res.PhaseSeconds = map[string]float64{}
	var errs []error
	for rows.Next() {
		var status, msg string
		var assets, tests, artifacts int64
		var phases map[string]float64
		if err := rows.Scan(&status, &assets, &tests, &artifacts, &msg, &phases); err != nil {
			return err
		}
		for k, v := range phases {
			res.PhaseSeconds[k] += v
		}
		res.Statuses[status]++
		res.AssetRowsWritten += assets
		res.TestResultsAdded += tests
		res.ArtifactsDownloaded += artifacts
		if msg != "" {
			errs = append(errs, errors.New(msg))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if res.Statuses["failed"] > 0 {
		return fmt.Errorf("%d environment crawls failed: %w", res.Statuses["failed"], errors.Join(errs...))
	}
	return nil
}

// describeDataset sizes the dataset; the caller holds its read lock.
func describeDataset(ds *dbtcloudtest.Dataset) DatasetSize {
	d := DatasetSize{Projects: len(ds.Projects), Runs: len(ds.Runs)}
	for _, e := range ds.Environments {
		if e.Type != "development" {
			d.Environments++
		}
	}
	for _, a := range ds.Applied {
		if a == nil || a.Snapshot == nil {
			continue
		}
		for _, as := range a.Snapshot.Assets {
			switch as.Type {
			case catalog.TypeModel:
				d.Models++
			case catalog.TypeTest:
				d.Tests++
			}
			d.Assets++
		}
	}
	return d
}

// assetKey names an asset across environments.
type assetKey struct {
	env int64
	id  string
}

// appliedAssets returns the definition of every applied asset: the fields
// a new run can change, without the execution fields.
func appliedAssets(ds *dbtcloudtest.Dataset) map[assetKey]string {
	ds.RLock()
	defer ds.RUnlock()
	out := map[assetKey]string{}
	for env, a := range ds.Applied {
		if a == nil || a.Snapshot == nil {
			continue
		}
		for _, as := range a.Snapshot.Assets {
			out[assetKey{env, as.UniqueID}] = as.Name + "\x00" + as.Description + "\x00" + as.RawCode.String() + "\x00" +
				as.CompiledCode.String() + "\x00" + as.Checksum + "\x00" + as.Owner + "\x00" + as.Materialization
		}
	}
	return out
}

// countChanged counts the assets added, removed or redefined between two
// appliedAssets maps: the asset rows a crawl really has to write.
func countChanged(before, after map[assetKey]string) int {
	n := 0
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			n++
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			n++
		}
	}
	return n
}

// childEnviron is the environment passed to a child crawler.
func (r *runner) childEnviron() []string {
	if r.opts.CrawlerMemoryLimit == "" {
		return r.opts.Environ
	}
	env := slices.DeleteFunc(slices.Clone(r.opts.Environ), func(kv string) bool { return strings.HasPrefix(kv, "GOMEMLIMIT=") })
	return append(env, "GOMEMLIMIT="+r.opts.CrawlerMemoryLimit)
}

// childLog returns where the child crawler of scenario name copies its
// output: Options.CrawlerLog, opened for appending under a header line,
// or nil.
func (r *runner) childLog(name string) io.Writer {
	if r.opts.CrawlerLog == "" {
		return nil
	}
	f, err := os.OpenFile(r.opts.CrawlerLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.progress("crawler log %s: %v; not written", r.opts.CrawlerLog, err)
		return nil
	}
	fmt.Fprintf(f, "=== %s %s\n", name, time.Now().UTC().Format(time.RFC3339))
	return f // closed by crawlChild
}

// samples is how many times account is crawled (unless
// Options.CrawlSamples says otherwise) and each floor measured: five at
// the full sizes, where one measurement of either varies by a tenth and
// more and a median of three still moved crawl/floor by ±0.1 between
// runs; three at the quick sizes, which only check the workings.
func (r *runner) samples() int {
	if r.opts.Quick {
		return 3
	}
	return 5
}

// formatSeconds lists durations as "7.41s, 7.63s, 7.90s".
func formatSeconds(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.2fs", x)
	}
	return strings.Join(parts, ", ")
}

// median returns the middle value of v (the mean of the two middle ones
// for an even count); v is not modified.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
