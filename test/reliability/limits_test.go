package reliability

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
)

// TestInputLimits crawls a fault-free history, lowers one decode limit below
// what the next manifests need and crawls again: every environment must fail
// with an error that names the limit and the setting that raises it, and the
// catalog must stay as it was.
func TestInputLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		set      func(o *crawl.Options, manifestBytes int)
		sentinel error
		limit    func(o crawl.Options) string
		setting  string
	}{
		{
			name:     "artifact larger than max_artifact_bytes",
			set:      func(o *crawl.Options, n int) { o.MaxArtifactBytes = int64(n / 2) },
			sentinel: catalog.ErrTooLarge,
			limit:    func(o crawl.Options) string { return strconv.FormatInt(o.MaxArtifactBytes, 10) },
			setting:  "max_artifact_bytes",
		},
		{
			name:     "artifact deeper than max_json_depth",
			set:      func(o *crawl.Options, _ int) { o.MaxJSONDepth = 3 },
			sentinel: catalog.ErrTooDeep,
			limit:    func(o crawl.Options) string { return strconv.Itoa(o.MaxJSONDepth) },
			setting:  "max_json_depth",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireScenario(t, tc.name)
			ctx := t.Context()
			e := newEnv(t)
			e.mustCrawl(ctx)
			before := dump(t, e.dsn)
			runs := e.ds.AddRuns(17, 0.2)
			require.NotEmpty(t, runs)
			smallest := 0
			for _, r := range runs {
				if b, ok := e.ds.Artifact(r.ID, "manifest.json"); ok && (smallest == 0 || len(b) < smallest) {
					smallest = len(b)
				}
			}
			require.Positive(t, smallest)
			tc.set(&e.limits, smallest)

			rep := e.crawl(ctx, nil)
			require.NoError(t, rep.Err)
			require.NotEmpty(t, rep.Environments)
			for _, er := range rep.Environments {
				require.Equal(t, crawl.StatusFailed, er.Status, "environment %d", er.Scope.EnvironmentID)
				require.ErrorIs(t, er.Err, tc.sentinel)
				msg := er.Err.Error()
				require.Contains(t, msg, "manifest.json", "the error names the artifact")
				require.Contains(t, msg, tc.limit(e.limits), "the error names the limit")
				require.Contains(t, msg, tc.setting, "the error names the setting that raises the limit: %s", msg)
			}
			requireSameCatalog(t, before, dump(t, e.dsn), "a refused artifact leaves the catalog as it was")
		})
	}
}
