package reliability

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// artifactPath matches the artifact download endpoints.
var artifactPath = regexp.MustCompile(`/artifacts/.+\.json$`)

// changeDataset moves dbt Cloud on between the first and second crawl of a
// scenario: every job runs once more with a fifth of the model descriptions
// changed, and one model of the first environment disappears, so the second
// crawl has updates, new test results and an asset to archive.
func changeDataset(t testing.TB, ds *dbtcloudtest.Dataset) {
	t.Helper()
	ds.RLock()
	envID := ds.Environments[0].ID
	ds.RUnlock()
	a, ok := ds.AppliedFor(envID)
	require.True(t, ok, "environment %d has an applied state", envID)
	var victim string
	for _, as := range a.Snapshot.Assets {
		if as.Type == catalog.TypeModel {
			victim = as.UniqueID
		}
	}
	require.NotEmpty(t, victim)
	ds.RemoveModel(envID, victim)
	require.NotEmpty(t, ds.AddRuns(7, 0.2))
}

// faultHistory is the reference history every fault scenario is compared
// with: the catalog after a fault-free first crawl (before) and after a
// fault-free crawl of the changed dataset (after).
type faultHistory struct {
	before, after catalogDump
}

func referenceHistory(t *testing.T) faultHistory {
	t.Helper()
	ctx := t.Context()
	e := newEnv(t)
	e.mustCrawl(ctx)
	before := dump(t, e.dsn)
	changeDataset(t, e.ds)
	e.mustCrawl(ctx)
	after := dump(t, e.dsn)
	require.NotEqual(t, before, after, "the change must show in the catalog")
	require.NotEmpty(t, archivedSet(after), "the change archives a model")
	return faultHistory{before: before, after: after}
}

// checkFaultyCrawl checks the outcome of a crawl under faults, environment
// by environment: a failed environment kept its previous catalog; a
// complete one equals the fault-free catalog; an incomplete one archived
// nothing.
func checkFaultyCrawl(t *testing.T, rep *crawl.Report, ref faultHistory, got catalogDump) {
	t.Helper()
	if rep.Err != nil {
		requireSameCatalog(t, ref.before, got, "a crawl that failed while planning must leave the catalog as it was: %v", rep.Err)
		return
	}
	for _, er := range rep.Environments {
		id := er.Scope.EnvironmentID
		switch {
		case er.Status == crawl.StatusFailed:
			require.Empty(t, diffEnv(ref.before[id], got[id]), "failed environment %d must keep its previous catalog (error: %v)", id, er.Err)
		case er.Status == crawl.StatusSucceeded && er.Complete:
			require.Empty(t, diffEnv(ref.after[id], got[id]), "complete crawl of environment %d must equal the fault-free one", id)
		case er.Status == crawl.StatusSucceeded:
			require.Equal(t, archivedSet(ref.before)[id], archivedSet(catalogDump{id: got[id]})[id],
				"an incomplete crawl of environment %d must archive nothing", id)
		default:
			t.Fatalf("environment %d: unexpected status %q after a change in dbt Cloud", id, er.Status)
		}
	}
}

// faultScenarios are the transport-level faults, each injected during the
// second crawl.
var faultScenarios = []struct {
	name   string
	faults []dbtcloudtest.Fault
}{
	{"429 storm with Retry-After", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultRateLimit, Nth: 3, Count: 4, RetryAfter: time.Second},
	}},
	{"429 storm without Retry-After", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultRateLimitNoRetryAfter, Nth: 2, Count: 8},
	}},
	{"20% of requests answer 500, 502 or 503", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultInternalError, Rate: 0.08},
		{Kind: dbtcloudtest.FaultBadGateway, Rate: 0.08},
		{Kind: dbtcloudtest.FaultUnavailable, Rate: 0.04},
	}},
	{"connection resets", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultConnReset, Rate: 0.15},
	}},
	{"responses slower than the request timeout", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultSlow, Rate: 0.1, Delay: 3 * time.Second},
	}},
	{"truncated artifact bodies", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultTruncated, Pattern: artifactPath, Rate: 0.3},
	}},
	{"truncated manifest of every run", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultTruncated, Pattern: regexp.MustCompile(`/manifest\.json$`)},
	}},
	{"invalid JSON from list endpoints", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultInvalidJSON, Pattern: regexp.MustCompile(`/runs/$`), Nth: 2},
	}},
	{"invalid JSON instead of artifacts", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultInvalidJSON, Pattern: artifactPath, Rate: 0.3},
	}},
	{"Discovery API answers 502", []dbtcloudtest.Fault{
		{Kind: dbtcloudtest.FaultBadGateway, PathPrefix: "/graphql"},
	}},
}

func TestFaults(t *testing.T) {
	ref := referenceHistory(t)
	for i, sc := range faultScenarios {
		t.Run(sc.name, func(t *testing.T) {
			requireScenario(t, sc.name)
			ctx := t.Context()
			e := newEnv(t, withServerOptions(dbtcloudtest.WithFaultSeed(int64(i+1))))
			e.mustCrawl(ctx)
			requireSameCatalog(t, ref.before, dump(t, e.dsn), "fault-free first crawl")
			changeDataset(t, e.ds)

			e.srv.SetFaults(sc.faults...)
			rep := e.crawl(ctx, nil)
			fired := e.srv.FaultsFired()
			total := 0
			for _, n := range fired {
				total += n
			}
			require.Positive(t, total, "the faults must fire")
			checkFaultyCrawl(t, rep, ref, dump(t, e.dsn))
			t.Logf("faults fired %v; crawl error: %v", fired, rep.Error())

			e.srv.SetFaults()
			e.mustCrawl(ctx)
			got := dump(t, e.dsn)
			requireSameCatalog(t, ref.after, got, "the next fault-free crawl completes the catalog")
		})
	}
}

// withServerOptions adds emulator options.
func withServerOptions(opts ...dbtcloudtest.Option) envOption {
	return func(c *envConfig) { c.serverOpts = append(c.serverOpts, opts...) }
}

// crawlCtx bounds a crawl in tests that provoke failures.
func crawlCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
