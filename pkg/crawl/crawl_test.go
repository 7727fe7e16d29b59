package crawl_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// harness is an emulated dbt Cloud account and a catalog database.
type harness struct {
	t    *testing.T
	ds   *dbtcloudtest.Dataset
	srv  *dbtcloudtest.Server
	st   *store.Store
	dsn  string
	conn config.Connection
}

func smallAccount() dbtcloudtest.GenConfig {
	g := dbtcloudtest.DefaultGenConfig()
	g.Seed = 7
	g.Models = 12
	g.RunsPerJob = 2
	return g
}

func newHarness(t *testing.T, gen dbtcloudtest.GenConfig, opts ...dbtcloudtest.Option) *harness {
	t.Helper()
	ds := dbtcloudtest.Generate(gen)
	srv := dbtcloudtest.NewServer(ds, opts...)
	t.Cleanup(srv.Close)
	dsn := pgtest.NewDatabase(t)
	st, err := store.Open(t.Context(), dsn, store.Options{})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = st.Migrate(t.Context())
	require.NoError(t, err)
	return &harness{t: t, ds: ds, srv: srv, st: st, dsn: dsn, conn: config.Connection{
		Name: "test", AccessURL: srv.URL, AccountID: ds.Account.ID, Token: dbtcloudtest.DefaultToken,
	}}
}

// crawl runs one crawl with fast retries.
func (h *harness) crawl(mod ...func(*crawl.Options)) *crawl.Report {
	h.t.Helper()
	return h.crawlCtx(h.t.Context(), mod...)
}

func (h *harness) crawlCtx(ctx context.Context, mod ...func(*crawl.Options)) *crawl.Report {
	h.t.Helper()
	cl, err := crawl.Connect(h.conn, crawl.ConnectOptions{
		RequestTimeout: 5 * time.Second,
		Retry:          transport.Options{MaxRetries: 3, BaseDelay: 5 * time.Millisecond, RateLimitDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		Logger:         zaptest.NewLogger(h.t),
	})
	require.NoError(h.t, err)
	opts := crawl.Options{Logger: zaptest.NewLogger(h.t)}
	for _, m := range mod {
		m(&opts)
	}
	return crawl.New(cl.Admin, cl.Discovery, h.st, opts).Run(ctx)
}

func (h *harness) query(sql string, args ...any) []string {
	h.t.Helper()
	conn, err := pgx.Connect(h.t.Context(), h.dsn)
	require.NoError(h.t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(h.t.Context(), sql, args...)
	require.NoError(h.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(h.t, err)
	return out
}

// dump is the whole catalog as text, without timestamps of bookkeeping.
func (h *harness) dump() string {
	var b strings.Builder
	for _, q := range []string{
		`SELECT concat_ws('|', qualified_name, asset_type, description, owner, tags::text, meta::text, materialization, last_run_status, last_run_id, archived_at IS NULL) FROM catalog.assets ORDER BY 1`,
		`SELECT concat_ws('|', asset_qualified_name, name, data_type, ordinal, description) FROM catalog.columns ORDER BY 1`,
		`SELECT concat_ws('|', upstream_qualified_name, downstream_qualified_name) FROM catalog.lineage ORDER BY 1`,
		`SELECT concat_ws('|', test_qualified_name, run_id, status, failures) FROM catalog.test_results ORDER BY 1`,
		`SELECT concat_ws('|', source_qualified_name, status, snapshotted_at) FROM catalog.source_freshness ORDER BY 1`,
		`SELECT concat_ws('|', job_id, last_run_id) FROM crawler.watermarks ORDER BY 1`,
	} {
		b.WriteString(strings.Join(h.query(q), "\n"))
		b.WriteString("\n--\n")
	}
	return b.String()
}

func requireAllSucceeded(t *testing.T, rep *crawl.Report, status string) {
	t.Helper()
	require.NoError(t, rep.Error())
	require.NotEmpty(t, rep.Environments)
	for _, e := range rep.Environments {
		require.Equal(t, status, e.Status, "environment %d", e.Scope.EnvironmentID)
	}
}

func deploymentEnvs(ds *dbtcloudtest.Dataset) []dbtcloudtest.Environment {
	var out []dbtcloudtest.Environment
	for _, e := range ds.Environments {
		if e.Type == "deployment" {
			out = append(out, e)
		}
	}
	return out
}

func TestFullCrawlStoresTheDataset(t *testing.T) {
	h := newHarness(t, smallAccount())
	rep := h.crawl()
	requireAllSucceeded(t, rep, crawl.StatusSucceeded)
	envs := deploymentEnvs(h.ds)
	require.Len(t, rep.Environments, len(envs), "development environments are skipped")
	for _, env := range envs {
		t.Run(env.Name+fmt.Sprint(env.ID), func(t *testing.T) {
			applied, ok := h.ds.AppliedFor(env.ID)
			require.True(t, ok)
			truth := applied.Snapshot
			var want []string
			for _, a := range truth.Assets {
				want = append(want, a.UniqueID+"|"+string(a.Type)+"|"+a.Description+"|"+a.Owner+"|"+a.LastRunStatus)
			}
			got := h.query(`SELECT concat_ws('|', unique_id, asset_type, description, owner, last_run_status) FROM catalog.assets WHERE environment_id = $1 AND archived_at IS NULL`, env.ID)
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got, "assets")

			want = nil
			for _, c := range truth.Columns {
				want = append(want, fmt.Sprintf("%s|%s|%s|%d", c.AssetUniqueID, c.Name, c.DataType, c.Ordinal))
			}
			got = h.query(`SELECT concat_ws('|', split_part(asset_qualified_name, '/', 5), name, data_type, ordinal) FROM catalog.columns WHERE environment_id = $1`, env.ID)
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got, "columns")

			edges := map[string]bool{}
			for _, e := range h.query(`SELECT split_part(upstream_qualified_name, '/', 5) || '>' || split_part(downstream_qualified_name, '/', 5) FROM catalog.lineage WHERE environment_id = $1`, env.ID) {
				edges[e] = true
			}
			for _, e := range truth.Edges {
				require.True(t, edges[e.Upstream+">"+e.Downstream], "edge %s -> %s", e.Upstream, e.Downstream)
			}
			require.Len(t, edges, len(truth.Edges), "no lineage beyond the dataset's")

			// The latest result of every test is the applied state's.
			want = nil
			for _, r := range truth.TestResults {
				want = append(want, fmt.Sprintf("%s|%d|%s", r.TestUniqueID, r.RunID, r.Status))
			}
			got = h.query(`SELECT DISTINCT ON (test_qualified_name) concat_ws('|', split_part(test_qualified_name, '/', 5), run_id, status)
				FROM catalog.test_results WHERE environment_id = $1 ORDER BY test_qualified_name, run_id DESC`, env.ID)
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got, "latest test results")

			want = nil
			for _, f := range truth.Freshness {
				want = append(want, f.SourceUniqueID+"|"+f.Status)
			}
			got = h.query(`SELECT DISTINCT ON (source_qualified_name) concat_ws('|', split_part(source_qualified_name, '/', 5), status)
				FROM catalog.source_freshness WHERE environment_id = $1 ORDER BY source_qualified_name, snapshotted_at DESC`, env.ID)
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got, "freshness")
		})
	}
	// Test results are history: every run that executed a test left a row.
	var runs int
	for _, r := range h.ds.Runs {
		if r.Status == 10 || r.Status == 20 {
			runs++
		}
	}
	n := h.query(`SELECT count(DISTINCT run_id)::text FROM catalog.test_results`)
	require.NotEqual(t, "0", n[0])
	history := h.query(`SELECT count(*)::text FROM catalog.test_results`)
	latest := h.query(`SELECT count(DISTINCT test_qualified_name)::text FROM catalog.test_results`)
	require.NotEqual(t, history[0], latest[0], "more than one result per test: history is kept")
}

func TestSecondCrawlWritesNothingAndDownloadsNothing(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	before := h.dump()
	h.srv.ResetStats()
	rep := h.crawl()
	requireAllSucceeded(t, rep, crawl.StatusUnchanged)
	for _, e := range rep.Environments {
		require.Zero(t, e.Result.AssetRowsWritten())
		require.Zero(t, e.Artifacts)
	}
	reqs := h.srv.Requests()
	for pattern, n := range reqs {
		require.NotContains(t, pattern, "artifacts", "no artifact is downloaded (%d requests to %s)", n, pattern)
	}
	graphql := 0
	for pattern, n := range reqs {
		if strings.Contains(pattern, "graphql") {
			graphql += n
		}
	}
	require.Equal(t, len(rep.Environments), graphql, "one Discovery probe per environment")
	require.Equal(t, before, h.dump())
}

func TestNewRunsUpdateOnlyChangedRows(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	old := map[string]string{}
	for _, env := range deploymentEnvs(h.ds) {
		a, _ := h.ds.AppliedFor(env.ID)
		for _, x := range a.Snapshot.Assets {
			old[fmt.Sprint(env.ID)+x.UniqueID] = x.Description
		}
	}
	h.ds.AddRuns(99, 0.25)
	changed := 0
	for _, env := range deploymentEnvs(h.ds) {
		a, _ := h.ds.AppliedFor(env.ID)
		for _, x := range a.Snapshot.Assets {
			if d, ok := old[fmt.Sprint(env.ID)+x.UniqueID]; ok && d != x.Description {
				changed++
			}
		}
	}
	require.Positive(t, changed)
	rep := h.crawl()
	requireAllSucceeded(t, rep, crawl.StatusSucceeded)
	updated, inserted, tests := 0, 0, 0
	for _, e := range rep.Environments {
		updated += e.Result.Updated
		inserted += e.Result.Inserted
		tests += e.Result.TestResultsAdded
	}
	require.Equal(t, changed, updated, "exactly the changed assets are rewritten")
	require.Zero(t, inserted)
	require.Positive(t, tests, "the new runs' test results are appended")
}

func TestRemovedModelIsArchivedAfterTheGraceCount(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	env := deploymentEnvs(h.ds)[0]
	applied, _ := h.ds.AppliedFor(env.ID)
	var victim string
	for _, a := range applied.Snapshot.Assets {
		if a.Type == catalog.TypeModel {
			victim = a.UniqueID
			break
		}
	}
	gone := 1 // the model and the tests attached to it
	for _, a := range applied.Snapshot.Assets {
		if a.Type == catalog.TypeTest && a.TestedUniqueID == victim {
			gone++
		}
	}
	h.ds.RemoveModel(env.ID, victim)
	h.ds.AddRuns(5, 0)
	archived := func() string {
		return h.query(`SELECT (archived_at IS NOT NULL)::text FROM catalog.assets WHERE environment_id = $1 AND unique_id = $2`, env.ID, victim)[0]
	}
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	require.Equal(t, "false", archived(), "one absence is within the grace count")
	rep := h.crawl()
	require.NoError(t, rep.Error())
	require.Equal(t, "true", archived(), "the second consecutive complete crawl archives it")
	n := h.query(`SELECT count(*)::text FROM catalog.assets WHERE archived_at IS NOT NULL`)
	require.Equal(t, fmt.Sprint(gone), n[0], "the model and its tests, nothing else, are archived")
}

func TestFailedCrawlLeavesTheCatalogIntact(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	before := h.dump()
	h.ds.AddRuns(11, 0.5)
	h.srv.SetFaults(dbtcloudtest.Fault{Kind: dbtcloudtest.FaultInternalError, PathPrefix: "/api/v2/accounts/", Pattern: nil, Rate: 0, Nth: 0, Count: 0, TruncateAt: 0})
	rep := h.crawl()
	require.True(t, rep.Failed())
	require.Equal(t, before, h.dump(), "the previous catalog is intact")
	rows := h.query(`SELECT status FROM catalog.crawls ORDER BY crawl_id DESC LIMIT 1`)
	if rep.Err == nil {
		require.Equal(t, []string{"failed"}, rows, "the failure is reported in catalog.crawls")
	}

	// Artifacts failing midway (manifest served, run results truncated).
	h.srv.SetFaults(dbtcloudtest.Fault{Kind: dbtcloudtest.FaultTruncated, PathPrefix: "/api/v2/accounts/", Pattern: nil, TruncateAt: 100})
	rep = h.crawl()
	require.True(t, rep.Failed())
	require.Equal(t, before, h.dump(), "the previous catalog is intact")

	h.srv.SetFaults()
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	require.NotEqual(t, before, h.dump(), "the recovered crawl picks up the new runs")
	n := h.query(`SELECT count(*)::text FROM catalog.assets WHERE archived_at IS NOT NULL`)
	require.Equal(t, "0", n[0])
}

func TestFilters(t *testing.T) {
	h := newHarness(t, smallAccount())
	var prod []int64
	for _, e := range deploymentEnvs(h.ds) {
		if e.DeploymentType == "production" {
			prod = append(prod, e.ID)
		}
	}
	first := h.ds.Projects[0]
	cases := []struct {
		name string
		mod  func(*crawl.Options)
		want func(e dbtcloudtest.Environment) bool
	}{
		{"environment name glob", func(o *crawl.Options) { o.Environments.Include = []string{"prod*"} },
			func(e dbtcloudtest.Environment) bool { return e.DeploymentType == "production" }},
		{"project by id, exclude wins", func(o *crawl.Options) {
			o.Projects.Include = []string{fmt.Sprint(first.ID)}
			o.Environments.Exclude = []string{fmt.Sprint(prod[0])}
		}, func(e dbtcloudtest.Environment) bool { return e.ProjectID == first.ID && e.ID != prod[0] }},
		{"development included on request", func(o *crawl.Options) {
			o.IncludeDevelopment = true
			o.Environments.Include = []string{"dev*"}
		}, func(e dbtcloudtest.Environment) bool { return e.Type == "development" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.srv.ResetStats()
			rep := h.crawl(tc.mod)
			var got, want []int64
			for _, e := range rep.Environments {
				got = append(got, e.Scope.EnvironmentID)
			}
			for _, e := range h.ds.Environments {
				if tc.want(e) {
					want = append(want, e.ID)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			require.Equal(t, want, got)
		})
	}
}

func TestConcurrentCrawlersShareTheWork(t *testing.T) {
	h := newHarness(t, smallAccount(), dbtcloudtest.WithLatency(5*time.Millisecond))
	var wg sync.WaitGroup
	reps := make([]*crawl.Report, 2)
	for i := range reps {
		wg.Go(func() { reps[i] = h.crawl() })
	}
	wg.Wait()
	crawled := map[int64]int{}
	for _, rep := range reps {
		require.NoError(t, rep.Error())
		for _, e := range rep.Environments {
			if e.Status == crawl.StatusSucceeded {
				crawled[e.Scope.EnvironmentID]++
			}
		}
	}
	for _, env := range deploymentEnvs(h.ds) {
		require.LessOrEqual(t, crawled[env.ID], 1, "environment %d crawled by both at once", env.ID)
	}
	// Whatever each did, a further crawl completes the catalog and the
	// result equals a single crawler's.
	h.crawl()
	ref := newHarness(t, smallAccount())
	ref.crawl()
	require.Equal(t, strings.ReplaceAll(ref.dump(), "", ""), h.dump())
}

func TestCancelledCrawlLeavesTheCatalogIntact(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	before := h.dump()
	h.ds.AddRuns(3, 0.5)
	h.srv.SetFaults(dbtcloudtest.Fault{Kind: dbtcloudtest.FaultSlow, PathPrefix: "/api/v2/accounts/", Delay: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	rep := h.crawlCtx(ctx)
	require.True(t, rep.Failed())
	h.srv.SetFaults()
	require.Equal(t, before, h.dump())
}

// sameAccount is a harness on h's emulated account with an empty catalog.
func (h *harness) sameAccount(t *testing.T) *harness {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	st, err := store.Open(t.Context(), dsn, store.Options{})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = st.Migrate(t.Context())
	require.NoError(t, err)
	return &harness{t: t, ds: h.ds, srv: h.srv, st: st, dsn: dsn, conn: h.conn}
}

func appliedReads(rep *crawl.Report) (reads []string, assets int) {
	for _, e := range rep.Environments {
		reads = append(reads, e.AppliedRead)
		assets += e.AppliedAssets
	}
	return reads, assets
}

func TestIncrementalCrawlReadsOnlyChangedAssets(t *testing.T) {
	h := newHarness(t, smallAccount())
	rep := h.crawl()
	requireAllSucceeded(t, rep, crawl.StatusSucceeded)
	reads, total := appliedReads(rep)
	for _, r := range reads {
		require.Equal(t, crawl.AppliedFull, r, "a first crawl reads the whole applied state")
	}

	env := deploymentEnvs(h.ds)[0]
	applied, _ := h.ds.AppliedFor(env.ID)
	var victim string
	for _, a := range applied.Snapshot.Assets {
		if a.Type == catalog.TypeModel {
			victim = a.UniqueID
			break
		}
	}
	h.ds.RemoveModel(env.ID, victim)
	h.ds.AddRuns(99, 0.1)

	rep = h.crawl()
	requireAllSucceeded(t, rep, crawl.StatusSucceeded)
	reads, read := appliedReads(rep)
	for _, r := range reads {
		require.Equal(t, crawl.AppliedChanged, r, "new runs that change a few models read only those")
	}
	require.Positive(t, read)
	require.Less(t, read, total/4)
	require.Equal(t, []string{"changed", "full"},
		h.query(`SELECT DISTINCT applied_read FROM catalog.crawls WHERE status = 'succeeded' ORDER BY 1`),
		"each crawl records how it read the applied state")

	t.Run("the catalog is the one a full crawl makes", func(t *testing.T) {
		full := h.sameAccount(t)
		requireAllSucceeded(t, full.crawl(), crawl.StatusSucceeded)
		// Test results and freshness checks are history: h recorded
		// those of runs the new catalog never saw.
		for _, q := range []string{
			`SELECT concat_ws('|', qualified_name, asset_type, description, owner, tags::text, meta::text, materialization, last_run_status, last_run_id, archived_at IS NULL) FROM catalog.assets ORDER BY 1`,
			`SELECT concat_ws('|', upstream_qualified_name, downstream_qualified_name) FROM catalog.lineage ORDER BY 1`,
			`SELECT concat_ws('|', qualified_name, name, package_name, database_name, schema_name, identifier, relation_name,
				language, access, version, enabled, path, md5(raw_code), md5(compiled_code), checksum, source_name, loader,
				test_name, test_column_name, tested_qualified_name, severity, url, label, last_run_at, execution_seconds)
			 FROM catalog.assets ORDER BY 1`,
			`SELECT concat_ws('|', asset_qualified_name, name, data_type, ordinal, description, tags::text, meta::text, comment) FROM catalog.columns ORDER BY 1`,
		} {
			// The removed model and its tests stay until the grace count.
			victimName := victim[strings.LastIndex(victim, ".")+1:]
			kept := slices.DeleteFunc(h.query(q), func(row string) bool {
				return strings.Contains(row, fmt.Sprintf("/%d/", env.ID)) &&
					(strings.Contains(row, "_"+victimName+"_") || strings.Contains(row, "."+victimName+"|"))
			})
			require.Equal(t, full.query(q), kept)
		}
	})
	t.Run("nothing new reads nothing", func(t *testing.T) {
		requireAllSucceeded(t, h.crawl(), crawl.StatusUnchanged)
	})
	t.Run("the full read comes back when it is due", func(t *testing.T) {
		h.ds.AddRuns(100, 0.05)
		rep := h.crawl(func(o *crawl.Options) { o.FullReadEvery = time.Nanosecond })
		requireAllSucceeded(t, rep, crawl.StatusSucceeded)
		reads, _ := appliedReads(rep)
		for _, r := range reads {
			require.Equal(t, crawl.AppliedFull, r)
		}
		h.ds.AddRuns(101, 0.05)
		rep = h.crawl(func(o *crawl.Options) { o.FullReadEvery = -1 })
		requireAllSucceeded(t, rep, crawl.StatusSucceeded)
		reads, _ = appliedReads(rep)
		for _, r := range reads {
			require.Equal(t, crawl.AppliedFull, r, "a negative period reads in full every time")
		}
	})
	t.Run("a job filter reads in full", func(t *testing.T) {
		h.ds.AddRuns(102, 0.05)
		rep := h.crawl(func(o *crawl.Options) { o.Jobs = config.Filter{Exclude: []string{"no such job"}} })
		requireAllSucceeded(t, rep, crawl.StatusSucceeded)
		reads, _ := appliedReads(rep)
		for _, r := range reads {
			require.Equal(t, crawl.AppliedChanged, r, "a filter that leaves out no job changes nothing")
		}
		h.ds.AddRuns(103, 0.05)
		jobs := h.query(`SELECT job_id::text FROM crawler.jobs ORDER BY job_id LIMIT 1`)
		rep = h.crawl(func(o *crawl.Options) { o.Jobs = config.Filter{Exclude: jobs} })
		require.NoError(t, rep.Error())
		for _, e := range rep.Environments {
			if e.Status == crawl.StatusSucceeded && e.Scope.EnvironmentID == env.ID {
				require.Equal(t, crawl.AppliedFull, e.AppliedRead, "runs of a job left out change the applied state too")
			}
		}
	})
}

func TestAppliedStateAfterTheBuildGivesTheSameCatalog(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	crawl.SetLargeManifest(t.Cleanup, 0) // every manifest is large
	late := h.sameAccount(t)
	rep := late.crawl()
	requireAllSucceeded(t, rep, crawl.StatusSucceeded)
	for _, e := range rep.Environments {
		require.Equal(t, crawl.AppliedFull, e.AppliedRead)
	}
	require.Equal(t, h.dump(), late.dump())
}

func TestACrawlWithoutDiscoveryMakesTheNextReadFull(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	h.ds.AddRuns(120, 0.1)
	off := false
	withDiscovery := h.conn
	h.conn.Discovery = &off
	rep := h.crawl()
	requireAllSucceeded(t, rep, crawl.StatusSucceeded)
	for _, e := range rep.Environments {
		require.Empty(t, e.AppliedRead)
	}
	h.conn = withDiscovery
	h.ds.AddRuns(121, 0.05)
	rep = h.crawl()
	requireAllSucceeded(t, rep, crawl.StatusSucceeded)
	for _, e := range rep.Environments {
		require.Equal(t, crawl.AppliedFull, e.AppliedRead, "what the crawl without Discovery wrote holds artifact values alone")
	}
}

func TestANewRunWithoutArtifactsMakesTheReadFull(t *testing.T) {
	h := newHarness(t, smallAccount())
	requireAllSucceeded(t, h.crawl(), crawl.StatusSucceeded)
	added := h.ds.AddRuns(130, 0.05)
	require.NotEmpty(t, added)
	unsaved := added[len(added)-1].ID
	for i := range h.ds.Runs {
		if h.ds.Runs[i].ID == unsaved {
			h.ds.Runs[i].ArtifactsSaved = false // its changes reach the catalog only through Discovery
		}
	}
	rep := h.crawl()
	require.NoError(t, rep.Error())
	full := 0
	for _, e := range rep.Environments {
		if e.AppliedRead == crawl.AppliedFull {
			full++
		}
	}
	require.Equal(t, 1, full, "the environment of the run without artifacts reads the applied state in full")
}
