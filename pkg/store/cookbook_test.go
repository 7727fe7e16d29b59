package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// cookbookScope is the scope whose IDs the examples in docs/sql.md use.
var cookbookScope = catalog.Scope{
	AccountID: 12345, ProjectID: 101, EnvironmentID: 201,
	ProjectName: "shop", EnvironmentName: "production",
	EnvironmentType: "deployment", DeploymentType: "production",
}

func readSQLDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "sql.md"))
	require.NoError(t, err, "docs/sql.md documents the catalog views")
	return string(b)
}

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// sqlBlocks returns every ```sql block of doc with the heading above it.
func sqlBlocks(doc string) (headings, queries []string) {
	for _, m := range sqlBlock.FindAllStringSubmatchIndex(doc, -1) {
		heading := "query"
		if i := strings.LastIndex(doc[:m[0]], "\n### "); i >= 0 {
			heading, _, _ = strings.Cut(doc[i+5:], "\n")
		}
		headings = append(headings, heading)
		queries = append(queries, doc[m[2]:m[3]])
	}
	return headings, queries
}

// populateCookbook writes four crawls of one environment: a base snapshot,
// two without model m00004 (which archives it), and a last one that adds a
// failing test, a source past its freshness error threshold, a new model
// without a description or a run, a model missing from the warehouse and a
// changed model.
func populateCookbook(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC()
	apply := func(snap *catalog.Snapshot) {
		_, err := s.Apply(ctx, snap, &CrawlRecord{StartedAt: time.Now(), Status: "succeeded", APIRequests: 12})
		require.NoError(t, err)
	}

	base := makeSnapshot(cookbookScope, 5, 3)
	base.Edges = append(base.Edges, catalog.Edge{Upstream: "model.shop.m00000", Downstream: "model.shop.m00001"})
	base.Assets[1].LastRunAt = now.AddDate(0, 0, -30) // m00000: stale
	apply(base)

	gone := func(id string) bool { return strings.Contains(id, "m00004") }
	thin := *base
	thin.Assets = slices.DeleteFunc(slices.Clone(base.Assets), func(a catalog.Asset) bool { return gone(a.UniqueID) })
	thin.Columns = slices.DeleteFunc(slices.Clone(base.Columns), func(c catalog.Column) bool { return gone(c.AssetUniqueID) })
	thin.Edges = slices.DeleteFunc(slices.Clone(base.Edges), func(e catalog.Edge) bool { return gone(e.Upstream) || gone(e.Downstream) })
	thin.TestResults = slices.DeleteFunc(slices.Clone(base.TestResults), func(r catalog.TestResult) bool { return gone(r.TestUniqueID) })
	thin.Matches = slices.DeleteFunc(slices.Clone(base.Matches), func(m catalog.Match) bool { return gone(m.UniqueID) })
	// The relation of m00004 stays in the warehouse: a leftover no node matches.
	apply(&thin)
	apply(&thin) // the second absence archives m00004 and its test

	last := thin
	last.Assets = slices.Clone(thin.Assets)
	for i := range last.Assets {
		switch last.Assets[i].UniqueID {
		case "model.shop.m00002":
			last.Assets[i].Materialization = "view"
		case "model.shop.m00003":
			last.Assets[i].LastRunAt = now
			last.Assets[i].Tags = []string{"daily", "finance"}
		}
	}
	last.Assets = append(last.Assets, catalog.Asset{
		UniqueID: "model.shop.m00005", Type: catalog.TypeModel, Name: "m00005", PackageName: "shop",
		Database: "db", Schema: "analytics", Identifier: "m00005", Materialization: "table", Enabled: true,
	})
	last.Edges = append(slices.Clone(thin.Edges), catalog.Edge{Upstream: "model.shop.m00001", Downstream: "model.shop.m00005"})
	last.Matches = slices.Clone(thin.Matches)
	for i := range last.Matches {
		if last.Matches[i].UniqueID == "model.shop.m00003" {
			last.Matches[i] = catalog.Match{UniqueID: "model.shop.m00003", Status: catalog.MatchMissingCatalog, Reason: "no relation analytics.m00003 in catalog.json"}
		}
	}
	failures := int64(3)
	last.TestResults = []catalog.TestResult{{
		TestUniqueID: "test.shop.not_null_m00001_id", RunID: 6, JobID: 7, Status: "fail",
		Failures: &failures, Message: "Got 3 results, configured to fail if != 0", ExecutedAt: now,
	}}
	last.Freshness = []catalog.Freshness{{
		SourceUniqueID: "source.shop.raw.orders", RunID: 6, JobID: 7, Status: "error",
		MaxLoadedAt: now.Add(-72 * time.Hour), SnapshottedAt: now, AgeSeconds: 72 * 3600,
		Criteria: json.RawMessage(`{"warn_after":{"count":12,"period":"hour"},"error_after":{"count":24,"period":"hour"}}`),
	}}
	last.Runs = append(slices.Clone(thin.Runs), catalog.Run{ID: 6, JobID: 7, Status: 20, StatusText: "Error"})
	last.Watermarks = []catalog.Watermark{{JobID: 7, LastRunID: 6}}
	apply(&last)
}

func TestSQLCookbook(t *testing.T) {
	doc := readSQLDoc(t)
	_, cookbook, ok := strings.Cut(doc, "\n## Cookbook")
	require.True(t, ok, "docs/sql.md has a Cookbook section")
	headings, queries := sqlBlocks(cookbook)
	require.GreaterOrEqual(t, len(queries), 8)

	s := newStore(t)
	populateCookbook(t, s)
	for i, q := range queries {
		t.Run(headings[i], func(t *testing.T) {
			rows, err := s.pool.Query(t.Context(), q)
			require.NoError(t, err)
			got, err := pgx.CollectRows(rows, pgx.RowToMap)
			require.NoError(t, err, "the query runs as written:\n%s", q)
			require.NotEmpty(t, got, "the example returns rows on the test catalog:\n%s", q)
		})
	}
}

// TestSQLCookbookAnswers pins what a few cookbook queries find in the test
// catalog, so that a query that runs but answers the wrong question fails.
func TestSQLCookbookAnswers(t *testing.T) {
	doc := readSQLDoc(t)
	headings, queries := sqlBlocks(doc)
	query := func(heading string) string {
		i := slices.Index(headings, heading)
		require.GreaterOrEqual(t, i, 0, "docs/sql.md has the recipe %q", heading)
		return queries[i]
	}
	s := newStore(t)
	populateCookbook(t, s)
	const prefix = "dbt/12345/101/201/"
	column := func(t *testing.T, sql, col string) []string {
		t.Helper()
		rows, err := s.pool.Query(t.Context(), sql)
		require.NoError(t, err)
		maps, err := pgx.CollectRows(rows, pgx.RowToMap)
		require.NoError(t, err)
		var out []string
		for _, m := range maps {
			out = append(out, m[col].(string))
		}
		return out
	}
	for _, tc := range []struct {
		recipe, column string
		want           []string
	}{
		{"Models without descriptions", "qualified_name", []string{prefix + "model.shop.m00005"}},
		{"Upstream lineage of a model", "qualified_name", []string{prefix + "model.shop.m00000", prefix + "source.shop.raw.orders"}},
		{"Archived assets", "qualified_name", []string{prefix + "model.shop.m00004", prefix + "test.shop.not_null_m00004_id"}},
		{"Sources past their freshness error threshold", "source_qualified_name", []string{prefix + "source.shop.raw.orders"}},
		{"Models not built in 7 days", "qualified_name", []string{prefix + "model.shop.m00000", prefix + "model.shop.m00001", prefix + "model.shop.m00002", prefix + "model.shop.m00005"}},
		{"Warehouse relations no dbt node matches", "name", []string{"m00003", "m00004"}},
		{"dbt nodes without a warehouse relation, and why", "qualified_name", []string{prefix + "model.shop.m00003"}},
		{"What changed since the previous crawl", "qualified_name", []string{prefix + "model.shop.m00002", prefix + "model.shop.m00003", prefix + "model.shop.m00005"}},
		{"Failing tests per owner", "owner", []string{"team-a"}},
	} {
		t.Run(tc.recipe, func(t *testing.T) {
			require.ElementsMatch(t, tc.want, column(t, query(tc.recipe), tc.column))
		})
	}
}

// TestSQLDocCoversEveryView checks that docs/sql.md documents every view
// in schema catalog and every column of each.
func TestSQLDocCoversEveryView(t *testing.T) {
	doc := readSQLDoc(t)
	s := newStore(t)
	rows, err := s.pool.Query(t.Context(), `
		SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'catalog' ORDER BY table_name, ordinal_position`)
	require.NoError(t, err)
	type col struct{ View, Column string }
	cols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[col])
	require.NoError(t, err)
	require.NotEmpty(t, cols)
	for _, c := range cols {
		heading := "### `catalog." + c.View + "`"
		_, section, ok := strings.Cut(doc, heading+"\n")
		require.True(t, ok, "docs/sql.md has a section %s", heading)
		if i := strings.Index(section, "\n### "); i >= 0 {
			section = section[:i]
		}
		require.Contains(t, section, "`"+c.Column+"`", "docs/sql.md documents catalog.%s.%s", c.View, c.Column)
	}
}
