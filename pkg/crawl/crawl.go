// Package crawl turns the parts into the product: it plans a crawl of a dbt
// Cloud account (projects, environments, jobs and runs, filtered), fetches
// each environment's applied state and new run artifacts, merges them into
// one snapshot, and writes it to the store in one transaction per
// environment.
//
// A crawl is incremental: per environment it remembers the newest run of
// each job it processed and the Discovery API's applied.lastUpdatedAt, so a
// crawl with nothing new makes only the listing calls and one Discovery
// probe, downloads no artifact and writes no asset row.
package crawl

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

// Status values of an environment's crawl.
const (
	StatusSucceeded = "succeeded" // a snapshot was written
	StatusUnchanged = "unchanged" // nothing new in dbt Cloud; nothing written
	StatusFailed    = "failed"    // nothing written; the previous catalog is intact
	StatusSkipped   = "skipped"   // another process was crawling the environment
)

// Options configure a Crawler.
type Options struct {
	// Projects, Environments and Jobs filter the scope; exclude wins.
	Projects     config.Filter
	Environments config.Filter
	Jobs         config.Filter
	// IncludeDevelopment also crawls development environments.
	IncludeDevelopment bool
	// Concurrency is how many environments are crawled at once (default 3).
	Concurrency int
	// MaxArtifactBytes and MaxJSONDepth bound every artifact decode.
	MaxArtifactBytes int64
	MaxJSONDepth     int
	// Logger receives progress and problems; nil means none.
	Logger *zap.Logger
	// Progress, when set, is called as each environment moves through its
	// phases. It must be safe for concurrent use.
	Progress func(Progress)
	// DiscoveryBudget, when set, is charged at the start of a crawl with
	// the Discovery requests that recent crawls of the account (other
	// processes included) recorded, since dbt's limit is per account.
	DiscoveryBudget interface{ Precharge(n int, at time.Time) }
	// FullReadEvery is how long crawls of an environment may read from the
	// Discovery API only the assets whose artifacts changed before one
	// reads its whole applied state again (0: the default, 24 hours;
	// negative: every crawl reads it whole).
	FullReadEvery time.Duration
}

// DefaultFullReadEvery is the default Options.FullReadEvery.
const DefaultFullReadEvery = 24 * time.Hour

// allSaved reports whether every run saved its artifacts.
func allSaved(runs []admin.Run) bool {
	for _, r := range runs {
		if !r.ArtifactsSaved {
			return false
		}
	}
	return true
}

// largeManifest is the manifest size past which a full read of the applied
// state waits until the artifacts are built (see fetchAndBuild). A
// variable for tests.
var largeManifest int64 = 64 << 20

// tightGCPercent is the collector's target while a large environment is
// built (GOGC; the Go default is 100).
const tightGCPercent = 50

var tightGCState struct {
	sync.Mutex
	users int
	prev  int
}

// tightGC lowers the collector's target to tightGCPercent until the
// function it returns is called, unless GOGC or GOMEMLIMIT is set: those
// are the operator's to choose. Concurrent users share one lowering.
func tightGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	s := &tightGCState
	s.Lock()
	if s.users == 0 {
		s.prev = debug.SetGCPercent(tightGCPercent)
	}
	s.users++
	s.Unlock()
	return func() {
		s.Lock()
		s.users--
		if s.users == 0 {
			debug.SetGCPercent(s.prev)
		}
		s.Unlock()
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// incrementalShare is the largest share of an environment's assets an
// incremental crawl reads by unique ID; past it, paging through the whole
// applied state costs fewer requests.
const incrementalShare = 4 // one in four

// Progress is one step of one environment's crawl.
type Progress struct {
	Scope catalog.Scope
	Phase string // plan, fetch, build, write, done
	Items int
	Bytes int64
}

// Crawler crawls one dbt Cloud account into the store.
type Crawler struct {
	admin *admin.Client
	disc  *discovery.Client // nil: artifacts only
	store *store.Store
	opts  Options
	log   *zap.Logger
}

// New returns a Crawler. disc may be nil to crawl from artifacts alone.
func New(adminClient *admin.Client, disc *discovery.Client, st *store.Store, opts Options) *Crawler {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 3
	}
	if opts.FullReadEvery == 0 {
		opts.FullReadEvery = DefaultFullReadEvery
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Crawler{admin: adminClient, disc: disc, store: st, opts: opts, log: log.Named("crawl")}
}

// Report is the outcome of one crawl of an account.
type Report struct {
	AccountID    int64
	StartedAt    time.Time
	FinishedAt   time.Time
	Environments []EnvReport
	// Err is a failure before any environment could be crawled (listing
	// projects, environments or jobs).
	Err error
}

// EnvReport is the outcome of one environment's crawl.
type EnvReport struct {
	Scope     catalog.Scope
	Status    string
	CrawlID   int64
	Result    store.ApplyResult
	Complete  bool
	Discovery bool
	// AppliedRead is how the Discovery applied state was read: AppliedFull,
	// AppliedChanged, or "" when it was not.
	AppliedRead string
	// AppliedAssets is how many applied-state assets were read.
	AppliedAssets int
	NewRuns       int
	Requests      int64
	Retries       int64
	RateLimit     int64
	Bytes         int64
	Artifacts     int64
	Durations     map[string]float64
	Warnings      []catalog.Warning
	Err           error
}

// Failed reports whether the crawl or any environment failed.
func (r *Report) Failed() bool {
	if r.Err != nil {
		return true
	}
	for _, e := range r.Environments {
		if e.Status == StatusFailed {
			return true
		}
	}
	return false
}

// Error joins the failures of the report, or returns nil.
func (r *Report) Error() error {
	var errs []error
	if r.Err != nil {
		errs = append(errs, r.Err)
	}
	for _, e := range r.Environments {
		if e.Status == StatusFailed && e.Err != nil {
			errs = append(errs, fmt.Errorf("environment %d (%s / %s): %w", e.Scope.EnvironmentID, e.Scope.ProjectName, e.Scope.EnvironmentName, e.Err))
		}
	}
	return errors.Join(errs...)
}

// envPlan is one environment to crawl, with its selected jobs.
type envPlan struct {
	scope catalog.Scope
	jobs  []admin.Job
	// allJobs is true when the job filter left out none of the
	// environment's jobs: only then do the new runs carry every change
	// of the applied state.
	allJobs bool
}

// How an environment's applied state was read (EnvReport.AppliedRead).
const (
	AppliedFull    = "full"    // every node, page by page
	AppliedChanged = "changed" // only the assets whose artifacts changed
)

// Run crawls every selected environment. One failing environment does not
// stop the others; each gets its own report and catalog.crawls row.
func (c *Crawler) Run(ctx context.Context) *Report {
	rep := &Report{AccountID: c.admin.AccountID(), StartedAt: time.Now()}
	if c.opts.DiscoveryBudget != nil && c.disc != nil {
		recent, err := c.store.RecentDiscoveryRequests(ctx, c.admin.AccountID(), time.Minute)
		if err != nil {
			c.log.Warn("could not read recent Discovery usage; the budget starts empty", zap.Error(err))
		}
		for _, b := range recent {
			c.opts.DiscoveryBudget.Precharge(b.Requests, b.At)
		}
	}
	plans, err := c.plan(ctx)
	if err != nil {
		rep.Err = c.redactErr(err)
		rep.FinishedAt = time.Now()
		return rep
	}
	reports := make([]EnvReport, len(plans))
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				reports[i] = EnvReport{Scope: p.scope, Status: StatusFailed, Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			reports[i] = c.crawlEnvironment(ctx, p)
		}()
	}
	wg.Wait()
	rep.Environments = reports
	rep.FinishedAt = time.Now()
	return rep
}

// plan lists projects, environments and jobs and applies the filters.
func (c *Crawler) plan(ctx context.Context) ([]envPlan, error) {
	var plans []envPlan
	for p, err := range c.admin.Projects(ctx) {
		if err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		if !c.opts.Projects.Match(p.ID, p.Name) {
			continue
		}
		var envs []admin.Environment
		for e, err := range c.admin.Environments(ctx, p.ID) {
			if err != nil {
				return nil, fmt.Errorf("list environments of project %d: %w", p.ID, err)
			}
			if e.Type == "development" && !c.opts.IncludeDevelopment {
				continue
			}
			if !c.opts.Environments.Match(e.ID, e.Name) {
				continue
			}
			envs = append(envs, e)
		}
		if len(envs) == 0 {
			continue
		}
		jobsByEnv := map[int64][]admin.Job{}
		filtered := map[int64]bool{} // environments with a job left out
		for j, err := range c.admin.Jobs(ctx, admin.JobFilter{ProjectID: p.ID}) {
			if err != nil {
				return nil, fmt.Errorf("list jobs of project %d: %w", p.ID, err)
			}
			if !c.opts.Jobs.Match(j.ID, j.Name) {
				filtered[j.EnvironmentID] = true
				continue
			}
			jobsByEnv[j.EnvironmentID] = append(jobsByEnv[j.EnvironmentID], j)
		}
		for _, e := range envs {
			plans = append(plans, envPlan{scope: e.Scope(p), jobs: jobsByEnv[e.ID], allJobs: !filtered[e.ID]})
		}
	}
	return plans, nil
}

// crawlEnvironment crawls one environment and records the outcome.
func (c *Crawler) crawlEnvironment(ctx context.Context, p envPlan) EnvReport {
	meter := &Meter{}
	ctx = WithMeter(ctx, meter)
	log := c.log.With(zap.Int64("environment_id", p.scope.EnvironmentID), zap.String("project", p.scope.ProjectName), zap.String("environment", p.scope.EnvironmentName))
	er := EnvReport{Scope: p.scope, Durations: map[string]float64{}}
	started := time.Now()

	lock, ok, err := c.store.TryLockEnvironment(ctx, p.scope)
	if err != nil {
		er.Status, er.Err = StatusFailed, err
		return c.finishReport(ctx, log, er, started, meter, nil)
	}
	if !ok {
		er.Status = StatusSkipped
		log.Info("another crawler process is crawling this environment; skipped")
		return c.finishReport(ctx, log, er, started, meter, nil)
	}
	defer lock.Unlock(ctx)

	snap, err := c.fetchAndBuild(ctx, log, p, &er)
	if err != nil {
		er.Status, er.Err = StatusFailed, err
		return c.finishReport(ctx, log, er, started, meter, nil)
	}
	if snap == nil {
		er.Status = StatusUnchanged
		er.Complete = true
		return c.finishReport(ctx, log, er, started, meter, func(r *store.CrawlRecord) (store.ApplyResult, error) {
			return c.store.RecordUnchanged(ctx, p.scope, *r)
		})
	}
	er.Status = StatusSucceeded
	er.Complete = snap.Complete
	er.Warnings = snap.Warnings
	return c.finishReport(ctx, log, er, started, meter, func(r *store.CrawlRecord) (store.ApplyResult, error) {
		t := time.Now()
		c.progress(p.scope, "write", len(snap.Assets), 0)
		// The write phase's own duration cannot be in the row it writes;
		// it is in the returned report and the logs.
		res, err := c.store.Apply(ctx, snap, r)
		er.Durations["write"] = time.Since(t).Seconds()
		return res, err
	})
}

// finishReport fills the traffic counters and writes the crawl report: in
// the Apply transaction when write is given, else as its own row.
func (c *Crawler) finishReport(ctx context.Context, log *zap.Logger, er EnvReport, started time.Time, m *Meter, write func(*store.CrawlRecord) (store.ApplyResult, error)) EnvReport {
	er.Err = c.redactErr(er.Err)
	rec := func() store.CrawlRecord {
		er.Requests = m.Requests.Load()
		er.Retries = max(0, m.Requests.Load()-m.Logical.Load())
		er.RateLimit = m.RateLimited.Load()
		er.Bytes = m.Bytes.Load()
		er.Artifacts = m.Artifacts.Load()
		errText := ""
		if er.Err != nil {
			errText = c.admin.Redact(er.Err.Error())
		}
		return store.CrawlRecord{
			StartedAt: started, FinishedAt: time.Now(), Status: er.Status,
			APIRequests: int(er.Requests), DiscoveryRequests: int(m.Discovery.Load()), APIRetries: int(er.Retries), RateLimitWaits: int(er.RateLimit),
			BytesDownloaded: er.Bytes, ArtifactsDownloaded: int(er.Artifacts),
			Durations: er.Durations, Warnings: er.Warnings, Error: errText,
			AppliedRead: er.AppliedRead, AppliedAssets: er.AppliedAssets,
		}
	}
	if write != nil {
		r := rec()
		res, err := write(&r)
		if err != nil {
			er.Status, er.Err = StatusFailed, c.redactErr(err)
			write = nil
		} else {
			er.Result, er.CrawlID = res, res.CrawlID
		}
	}
	if write == nil && er.Status != StatusSkipped {
		r := rec()
		id, err := c.store.RecordCrawl(context.WithoutCancel(ctx), er.Scope, r)
		if err != nil {
			log.Error("record crawl report", zap.Error(err))
		}
		er.CrawlID = id
	}
	fields := []zap.Field{zap.String("status", er.Status), zap.Int64("requests", er.Requests), zap.Int64("bytes", er.Bytes),
		zap.Int("inserted", er.Result.Inserted), zap.Int("updated", er.Result.Updated), zap.Int("archived", er.Result.Archived),
		zap.Duration("duration", time.Since(started)), zap.Any("phase_seconds", er.Durations)}
	if er.Err != nil {
		log.Error("environment crawl failed; the previous catalog is unchanged", append(fields, zap.String("error", c.admin.Redact(er.Err.Error())))...)
	} else {
		log.Info("environment crawled", fields...)
	}
	c.progress(er.Scope, "done", 0, er.Bytes)
	return er
}

func (c *Crawler) progress(sc catalog.Scope, phase string, items int, bytes int64) {
	if c.opts.Progress != nil {
		c.opts.Progress(Progress{Scope: sc, Phase: phase, Items: items, Bytes: bytes})
	}
}

// fetchAndBuild plans and fetches one environment and returns its merged
// snapshot, or nil when nothing changed since the last crawl.
func (c *Crawler) fetchAndBuild(ctx context.Context, log *zap.Logger, p envPlan, er *EnvReport) (*catalog.Snapshot, error) {
	t := time.Now()
	c.progress(p.scope, "plan", len(p.jobs), 0)
	state, err := c.store.EnvironmentState(ctx, p.scope)
	if err != nil {
		return nil, err
	}
	runs, watermarks, err := c.newRuns(ctx, p, state)
	if err != nil {
		return nil, err
	}
	er.NewRuns = len(runs)

	// The Discovery probe: one request that says whether the applied state
	// moved since the last crawl.
	var info discovery.EnvironmentInfo
	useDisc := c.disc != nil
	if useDisc {
		info, err = c.disc.Info(ctx, p.scope.EnvironmentID)
		if err != nil {
			if !discoveryUnavailable(err) {
				return nil, fmt.Errorf("discovery: %w", err)
			}
			useDisc = false
			er.Warnings = append(er.Warnings, catalog.Warning{Code: "discovery_unavailable", Message: "Discovery API unavailable; crawled from artifacts alone: " + c.admin.Redact(err.Error()), Count: 1})
		} else if !info.HasAppliedState {
			useDisc = false
		}
	}
	er.Discovery = useDisc
	er.Durations["plan"] = time.Since(t).Seconds()
	if state.Known && state.LastCrawlComplete && len(runs) == 0 &&
		(!useDisc || info.LastUpdatedAt.Equal(state.AppliedUpdatedAt)) {
		log.Debug("nothing new since the last crawl")
		return nil, nil
	}

	// Fetch: the applied state and the artifacts at the same time.
	t = time.Now()
	c.progress(p.scope, "fetch", len(runs), 0)
	complete := true
	builder := catalog.NewBuilder(p.scope, catalog.BuildOptions{
		AdapterType: info.AdapterType,
		Decode:      catalog.DecodeOptions{MaxBytes: c.opts.MaxArtifactBytes, MaxDepth: c.opts.MaxJSONDepth},
	})
	var warnings []catalog.Warning
	warn := func(code, msg string) {
		warnings = append(warnings, catalog.Warning{Code: code, Message: msg, Count: 1})
	}

	// The definitions: manifest and catalog of the newest successful run
	// that generated docs (else the newest run with a manifest). Runs of
	// earlier crawls count too: a new test run must not make the crawl
	// forget the model definitions.
	docsRun, err := c.latestRun(ctx, p, true)
	if err != nil {
		return nil, err
	}
	if docsRun == nil {
		docsRun, err = c.latestRun(ctx, p, false)
		if err != nil {
			return nil, err
		}
	}
	if docsRun == nil && !useDisc {
		return nil, fmt.Errorf("environment has no finished run with artifacts yet, and no Discovery applied state: run a job that builds the project (with \"Generate docs on run\" for catalog.json)")
	}
	type applied struct {
		snap *catalog.Snapshot
		err  error
	}
	appliedc := make(chan applied, 1)
	fetchCtx, cancelFetch := context.WithCancel(ctx)
	defer cancelFetch()
	// An incremental crawl reads the artifacts first and then, from the
	// Discovery API, only the assets whose artifacts changed: the previous
	// crawl must have read the applied state (completely: a crawl without
	// it stored artifact values alone for what it wrote), a full read must
	// be recent, and every job of the environment must be crawled and
	// every new run have saved its artifacts, so that the new runs carry
	// every change of the applied state.
	incremental := useDisc && docsRun != nil && p.allJobs && allSaved(runs) && c.opts.FullReadEvery > 0 &&
		state.Known && state.LastCrawlComplete && state.LastAppliedRead != "" && !state.AppliedUpdatedAt.IsZero() &&
		!state.AppliedFullReadAt.IsZero() && time.Since(state.AppliedFullReadAt) < c.opts.FullReadEvery
	// readApplied reads the applied state in the background. The code
	// comes from manifest.json when there is one; asking Discovery for it
	// too would double the bytes and the memory.
	readApplied := func(ids []string) {
		go func() {
			snap, err := c.disc.AppliedStateWith(fetchCtx, p.scope.EnvironmentID,
				discovery.AppliedOptions{Info: &info, WithoutCode: docsRun != nil, UniqueIDs: ids})
			appliedc <- applied{snap, err}
		}()
	}
	// A full read runs beside the artifacts' download, from the end of the
	// manifest's; after a large manifest it waits until the artifacts are
	// built and their staged records released, so that both are never
	// held at once.
	afterBuild := false
	switch {
	case !useDisc:
		appliedc <- applied{}
	case !incremental && docsRun == nil:
		readApplied(nil)
	}
	if docsRun != nil {
		prov := catalog.Provenance{RunID: docsRun.ID, JobID: docsRun.JobDefinitionID, FinishedAt: docsRun.FinishedAt.Time}
		var size int64
		if err := c.fetch(ctx, docsRun.ID, "manifest.json", func(r io.Reader) error {
			return builder.AddManifest(&countingReader{r: r, n: &size}, prov)
		}); err != nil {
			// Without the manifest the crawl would lose definitions the
			// catalog has (YAML docs, metrics): fail it, keep the catalog.
			return nil, err
		}
		if useDisc && !incremental {
			if size > largeManifest {
				afterBuild = true
			} else {
				readApplied(nil)
			}
		}
		if docsRun.HasDocsGenerated {
			if err := c.fetch(ctx, docsRun.ID, "catalog.json", builder.AddCatalog); err != nil {
				complete = false
				warn("artifact_failed", err.Error())
			}
		} else {
			warn("no_catalog", "no successful run generated docs, so there is no catalog.json: enable \"Generate docs on run\" on a job for warehouse columns and relations")
		}
	}

	// History: run_results.json of every new run, failed runs included.
	failedJobRun := map[int64]int64{} // job -> lowest run whose artifacts failed
	for _, r := range runs {
		prov := catalog.Provenance{RunID: r.ID, JobID: r.JobDefinitionID, FinishedAt: r.FinishedAt.Time}
		if !r.ArtifactsSaved {
			continue
		}
		// Every step that executed nodes wrote its own run_results.json;
		// the run's default (last step) is often `dbt docs generate`,
		// whose results are not test results.
		for _, step := range executingSteps(r) {
			err := c.fetchStep(ctx, r.ID, "run_results.json", step, func(rd io.Reader) error { return builder.AddRunResults(rd, prov) })
			if err == nil || admin.IsNotFound(err) {
				continue // not found: a step that failed before writing results
			}
			complete = false
			warn("artifact_failed", err.Error())
			if v, ok := failedJobRun[r.JobDefinitionID]; !ok || r.ID < v {
				failedJobRun[r.JobDefinitionID] = r.ID
			}
		}
	}
	// Freshness: sources.json of the newest new run that generated it.
	for _, r := range slices.Backward(runs) {
		if !r.HasSourcesGenerated {
			continue
		}
		prov := catalog.Provenance{RunID: r.ID, JobID: r.JobDefinitionID, FinishedAt: r.FinishedAt.Time}
		if err := c.fetchStep(ctx, r.ID, "sources.json", freshnessStep(r), func(rd io.Reader) error { return builder.AddSources(rd, prov) }); err != nil {
			complete = false
			warn("artifact_failed", err.Error())
			if v, ok := failedJobRun[r.JobDefinitionID]; !ok || r.ID < v {
				failedJobRun[r.JobDefinitionID] = r.ID
			}
		}
		break
	}
	var art *catalog.Snapshot
	var artHashes map[string][]byte
	var kept map[string]bool
	// build turns the artifacts into their snapshot and its artifact
	// hashes; the decoded manifest nodes are garbage from then on.
	build := func() {
		bt := time.Now()
		art = builder.BuildAndRelease()
		builder = nil
		artHashes = store.ArtifactHashes(art)
		er.Durations["build"] += time.Since(bt).Seconds()
	}
	fetched := time.Since(t) // the artifacts; the applied state is added below
	if afterBuild {
		// A large environment is built and merged with the collector
		// running twice as often: its live heap at that point (hundreds
		// of MB) would otherwise let the heap grow to twice that.
		defer tightGC()()
		build()
		t = time.Now()
		readApplied(nil)
	}
	if incremental {
		build()
		t = time.Now()
		ids, k, err := c.changedAssets(ctx, p.scope, art, artHashes)
		if err != nil {
			return nil, err
		}
		if ids == nil {
			log.Debug("too many assets changed for an incremental read of the applied state")
		}
		kept = k
		readApplied(ids)
	}
	res := <-appliedc
	base := res.snap
	var pe *discovery.PartialError
	switch {
	case errors.As(res.err, &pe) && base != nil:
		complete = false
	case res.err != nil:
		return nil, fmt.Errorf("discovery applied state: %w", res.err)
	}
	if incremental || afterBuild {
		er.Durations["fetch"] = (fetched + time.Since(t)).Seconds()
	} else {
		er.Durations["fetch"] = time.Since(t).Seconds()
	}
	switch {
	case base == nil:
	case kept != nil:
		er.AppliedRead, er.AppliedAssets = AppliedChanged, len(base.Assets)
	default:
		er.AppliedRead, er.AppliedAssets = AppliedFull, len(base.Assets)
	}

	// Build (unless done above) and merge.
	c.progress(p.scope, "build", len(runs), 0)
	if art == nil {
		build()
	}
	t = time.Now()
	snap := Merge(p.scope, base, art)
	base, art = nil, nil
	snap.ArtifactHashes = artHashes
	snap.Kept = kept
	snap.Complete = complete
	snap.AppliedUpdatedAt = info.LastUpdatedAt
	if !complete {
		// An incomplete crawl must be retried: leave the probe stamp as it was.
		snap.AppliedUpdatedAt = state.AppliedUpdatedAt
	}
	for _, w := range warnings {
		snap.AddWarning(w.Code, w.Message)
	}
	for _, w := range er.Warnings {
		snap.AddWarning(w.Code, w.Message)
	}
	for _, j := range p.jobs {
		snap.Jobs = append(snap.Jobs, catalog.Job{ID: j.ID, EnvironmentID: j.EnvironmentID, Name: j.Name,
			GenerateDocs: j.GenerateDocs, RunFreshness: j.RunGenerateSources, ExecuteSteps: j.ExecuteSteps, State: j.State})
	}
	for _, r := range runs {
		snap.Runs = append(snap.Runs, r.Catalog())
	}
	for job, wm := range watermarks {
		if failed, ok := failedJobRun[job]; ok {
			wm = min(wm, failed-1)
		}
		if wm > state.Watermarks[job] {
			snap.Watermarks = append(snap.Watermarks, catalog.Watermark{JobID: job, LastRunID: wm})
		}
	}
	slices.SortFunc(snap.Watermarks, func(a, b catalog.Watermark) int { return cmp.Compare(a.JobID, b.JobID) })
	er.Durations["build"] += time.Since(t).Seconds()
	return snap, nil
}

// changedAssets compares the artifact hashes of an incremental crawl's
// artifacts with the stored ones. It returns the unique IDs to read from
// the Discovery API (assets whose artifacts changed or are new, and stored
// assets the artifacts no longer have, which the applied state may still
// hold) and the assets to keep as stored. It returns nil IDs when so many
// changed that reading the whole applied state is cheaper.
func (c *Crawler) changedAssets(ctx context.Context, sc catalog.Scope, art *catalog.Snapshot, hashes map[string][]byte) ([]string, map[string]bool, error) {
	stored, err := c.store.StoredArtifactHashes(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	ids := []string{}
	kept := make(map[string]bool, len(art.Assets))
	limit := max(len(art.Assets)/incrementalShare, 1)
	for i := range art.Assets {
		uid := art.Assets[i].UniqueID
		if old, ok := stored[uid]; ok && old != nil && bytes.Equal(old, hashes[uid]) {
			kept[uid] = true
			continue
		}
		ids = append(ids, uid)
	}
	for uid := range stored {
		if _, ok := hashes[uid]; !ok {
			ids = append(ids, uid)
		}
	}
	if len(ids) > limit {
		return nil, nil, nil
	}
	slices.Sort(ids)
	return slices.Compact(ids), kept, nil
}

// newRuns lists the finished runs of the selected jobs newer than their
// watermarks, oldest first, and the watermark each job can move to: its
// newest finished run older than any run still in progress.
func (c *Crawler) newRuns(ctx context.Context, p envPlan, state store.EnvironmentState) ([]admin.Run, map[int64]int64, error) {
	if len(p.jobs) == 0 {
		return nil, nil, nil
	}
	selected := map[int64]bool{}
	floor := int64(-1)
	for _, j := range p.jobs {
		selected[j.ID] = true
		wm := state.Watermarks[j.ID]
		if floor < 0 || wm < floor {
			floor = wm
		}
	}
	var runs []admin.Run
	unfinished := map[int64]int64{} // job -> lowest unfinished run
	f := admin.RunFilter{EnvironmentID: p.scope.EnvironmentID, IDGreaterThan: floor, OrderBy: "id", IncludeRelated: []string{"run_steps"}}
	for r, err := range c.admin.Runs(ctx, f) {
		if err != nil {
			return nil, nil, fmt.Errorf("list runs of environment %d: %w", p.scope.EnvironmentID, err)
		}
		if !selected[r.JobDefinitionID] || r.ID <= state.Watermarks[r.JobDefinitionID] {
			continue
		}
		if !r.Status.IsFinished() {
			if v, ok := unfinished[r.JobDefinitionID]; !ok || r.ID < v {
				unfinished[r.JobDefinitionID] = r.ID
			}
			continue
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b admin.Run) int { return cmp.Compare(a.ID, b.ID) })
	watermarks := map[int64]int64{}
	for _, r := range runs {
		if u, ok := unfinished[r.JobDefinitionID]; ok && r.ID > u {
			continue
		}
		watermarks[r.JobDefinitionID] = max(watermarks[r.JobDefinitionID], r.ID)
	}
	// Runs after an unfinished one are processed now and again later; test
	// results are deduplicated by (test, run), so that is harmless.
	return runs, watermarks, nil
}

// latestRun returns the newest finished run of the selected jobs with saved
// artifacts that generated docs (docs true), or the newest finished run with
// saved artifacts (docs false); nil when there is none.
func (c *Crawler) latestRun(ctx context.Context, p envPlan, docs bool) (*admin.Run, error) {
	if len(p.jobs) == 0 {
		return nil, nil
	}
	selected := map[int64]bool{}
	for _, j := range p.jobs {
		selected[j.ID] = true
	}
	f := admin.RunFilter{EnvironmentID: p.scope.EnvironmentID, OrderBy: "-id"}
	if docs {
		// dbt Cloud generates docs even when an earlier step of the run
		// failed (a failing test errors the run), so any finished run with
		// docs will do.
		yes := true
		f.HasDocsGenerated = &yes
	}
	for r, err := range c.admin.Runs(ctx, f) {
		if err != nil {
			return nil, fmt.Errorf("list runs of environment %d: %w", p.scope.EnvironmentID, err)
		}
		if !selected[r.JobDefinitionID] || !r.Status.IsFinished() || !r.ArtifactsSaved {
			continue
		}
		if docs && !r.HasDocsGenerated {
			continue
		}
		return &r, nil
	}
	return nil, nil
}

// fetch streams one artifact of a run's last step into use.
func (c *Crawler) fetch(ctx context.Context, runID int64, path string, use func(io.Reader) error) error {
	return c.fetchStep(ctx, runID, path, 0, use)
}

// fetchStep streams one artifact of a run step (0: the last step) into use.
func (c *Crawler) fetchStep(ctx context.Context, runID int64, path string, step int, use func(io.Reader) error) error {
	body, err := c.admin.Artifact(ctx, runID, path, step)
	if err != nil {
		if step > 0 {
			return fmt.Errorf("download %s of run %d step %d: %w", path, runID, step, err)
		}
		return fmt.Errorf("download %s of run %d: %w", path, runID, err)
	}
	defer body.Close()
	if m := meterFrom(ctx); m != nil {
		m.Artifacts.Add(1)
	}
	if err := use(body); err != nil {
		switch {
		case errors.Is(err, catalog.ErrTooLarge):
			return fmt.Errorf("read %s of run %d: %w (raise the max_artifact_bytes setting, now %s, if the file is genuine)", path, runID, err, limitText(c.opts.MaxArtifactBytes, catalog.DefaultMaxBytes))
		case errors.Is(err, catalog.ErrTooDeep):
			return fmt.Errorf("read %s of run %d: %w (raise the max_json_depth setting, now %s, if the file is genuine)", path, runID, err, limitText(int64(c.opts.MaxJSONDepth), catalog.DefaultMaxDepth))
		}
		return fmt.Errorf("read %s of run %d: %w", path, runID, err)
	}
	return nil
}

// discoveryUnavailable reports whether a Discovery error means the API is
// not available to this token or plan, so artifacts alone must do.
func discoveryUnavailable(err error) bool {
	var ae *discovery.AuthError
	return errors.As(err, &ae)
}

// executingCommands are the dbt commands whose run_results.json records node
// executions (as opposed to compile, docs generate or source freshness).
var executingCommands = []string{"dbt build", "dbt run", "dbt test", "dbt seed", "dbt snapshot", "dbt retry"}

// executingSteps returns the indexes of the run's steps that ran an
// executing dbt command, or [0] (the last step) when the run lists no steps.
func executingSteps(r admin.Run) []int {
	if len(r.RunSteps) == 0 {
		return []int{0}
	}
	var steps []int
	for _, st := range r.RunSteps {
		name := strings.ToLower(st.Name)
		for _, cmd := range executingCommands {
			if strings.Contains(name, cmd) && !strings.Contains(name, "dbt run-operation") {
				steps = append(steps, st.Index)
				break
			}
		}
	}
	return steps
}

// freshnessStep returns the index of the step that ran `dbt source
// freshness`, or 0 (the last step).
func freshnessStep(r admin.Run) int {
	for _, st := range r.RunSteps {
		if strings.Contains(strings.ToLower(st.Name), "source freshness") {
			return st.Index
		}
	}
	return 0
}

// redactErr hides the token in an error's text (a server may echo it),
// keeping the chain for errors.Is and errors.As.
func (c *Crawler) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := c.admin.Redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func limitText(v, def int64) string {
	if v <= 0 {
		return fmt.Sprintf("%d by default", def)
	}
	return fmt.Sprint(v)
}
