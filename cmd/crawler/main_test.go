package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env map[string]string

func (e env) get(k string) string { return e[k] }

func emulated(t *testing.T, opts ...dbtcloudtest.Option) (*dbtcloudtest.Server, env) {
	t.Helper()
	g := dbtcloudtest.DefaultGenConfig()
	g.Models = 10
	g.RunsPerJob = 2
	ds := dbtcloudtest.Generate(g)
	srv := dbtcloudtest.NewServer(ds, opts...)
	t.Cleanup(srv.Close)
	return srv, env{
		"DBT_CLOUD_ACCESS_URL": srv.URL,
		"DBT_CLOUD_ACCOUNT_ID": fmt.Sprint(ds.Account.ID),
		"DBT_CLOUD_TOKEN":      dbtcloudtest.DefaultToken,
		"DATABASE_URL":         pgtest.NewDatabase(t),
		"CRAWLER_LOG_LEVEL":    "warn",
	}
}

func runCmd(t *testing.T, ctx context.Context, e env, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, e.get, &out, &errb)
	return out.String(), errb.String(), err
}

func count(t *testing.T, dsn, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), sql).Scan(&n))
	return n
}

func TestRunCrawlsAndSecondRunWritesNothing(t *testing.T) {
	_, e := emulated(t)
	out, stderr, err := runCmd(t, t.Context(), e, "run")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "succeeded")
	assets := count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.assets`)
	require.Positive(t, assets)

	out, stderr, err = runCmd(t, t.Context(), e, "run")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "unchanged")
	require.NotContains(t, out, "succeeded")
	require.Equal(t, assets, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.assets`))
	require.NotContains(t, out+stderr, dbtcloudtest.DefaultToken)
}

func TestRunNarrowedToOneEnvironment(t *testing.T) {
	srv, e := emulated(t)
	envID := srv.Dataset().Environments[0].ID
	_, stderr, err := runCmd(t, t.Context(), e, "run", "--environment", fmt.Sprint(envID))
	require.NoError(t, err, stderr)
	require.Equal(t, 1, count(t, e["DATABASE_URL"], `SELECT count(DISTINCT environment_id) FROM catalog.assets`))
}

func TestRunExitsNonZeroWhenAnEnvironmentFails(t *testing.T) {
	_, e := emulated(t, dbtcloudtest.WithFaults(dbtcloudtest.Fault{Kind: dbtcloudtest.FaultInvalidJSON, Pattern: nil, PathPrefix: "/api/v2/accounts/70001/runs/"}))
	out, _, err := runCmd(t, t.Context(), e, "run")
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, out, "failed")
	require.Zero(t, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.assets`))
	require.Positive(t, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.crawls WHERE status = 'failed' AND error <> ''`))
}

func TestCancelDuringCrawlKeepsTheCatalog(t *testing.T) {
	srv, e := emulated(t)
	_, stderr, err := runCmd(t, t.Context(), e, "run")
	require.NoError(t, err, stderr)
	before := count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.test_results`)
	srv.Dataset().AddRuns(1, 0.5)
	srv.SetFaults(dbtcloudtest.Fault{Kind: dbtcloudtest.FaultSlow, PathPrefix: "/api/v2/accounts/", Delay: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond) // as SIGTERM does, through signal.NotifyContext
	defer cancel()
	_, _, err = runCmd(t, ctx, e, "run")
	require.Error(t, err)
	require.Equal(t, before, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.test_results`))
	require.Zero(t, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.assets WHERE archived_at IS NOT NULL`))
	srv.SetFaults()
	_, stderr, err = runCmd(t, t.Context(), e, "run")
	require.NoError(t, err, stderr)
	require.Greater(t, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.test_results`), before)
}

func TestCheckNamesTheFix(t *testing.T) {
	srv, good := emulated(t)
	cases := []struct {
		name string
		mod  env
		want []string
	}{
		{"healthy", env{}, []string{"Ready to crawl", "Admin API: token", "Discovery API"}},
		{"wrong host", env{"DBT_CLOUD_ACCESS_URL": "https://nonexistent-account.invalid"}, []string{"DNS", "FAIL", "DBT_CLOUD_ACCESS_URL"}},
		{"bad token", env{"DBT_CLOUD_TOKEN": "dbtc_wrong"}, []string{"FAIL", "token rejected", "access URL"}},
		{"missing permission", env{"DBT_CLOUD_TOKEN": dbtcloudtest.MetadataOnlyToken}, []string{"FAIL", "Job Viewer"}},
		{"wrong account", env{"DBT_CLOUD_ACCOUNT_ID": "99"}, []string{"FAIL", "DBT_CLOUD_ACCOUNT_ID"}},
		{"plain http to a remote host", env{"DBT_CLOUD_ACCESS_URL": "http://ab123.us1.dbt.com"}, []string{"FAIL", "https"}},
	}
	_ = srv
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := env{}
			for k, v := range good {
				e[k] = v
			}
			for k, v := range tc.mod {
				e[k] = v
			}
			out, _, err := runCmd(t, t.Context(), e, "check")
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			if tc.name == "healthy" {
				require.NoError(t, err, out)
			} else {
				require.Error(t, err, out)
			}
			require.NotContains(t, out, "dbtc_wrong")
		})
	}
}

func TestIngestCoreArtifacts(t *testing.T) {
	srv, e := emulated(t)
	ds := srv.Dataset()
	dir := t.TempDir()
	var docsRun int64
	for _, r := range ds.Runs {
		if r.HasDocsGenerated {
			docsRun = r.ID
		}
	}
	for _, name := range []string{"manifest.json", "catalog.json", "run_results.json"} {
		b, ok := ds.Artifact(docsRun, name)
		require.True(t, ok, name)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	out, stderr, err := runCmd(t, t.Context(), e, "ingest", "--dir", dir, "--project", "shop", "--environment", "prod")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "ingested")
	require.Positive(t, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.columns`))
	require.Positive(t, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.lineage`))
	out, stderr, err = runCmd(t, t.Context(), e, "ingest", "--dir", dir, "--project", "shop", "--environment", "prod")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "(0 inserted, 0 updated")

	_, _, err = runCmd(t, t.Context(), e, "ingest", "--dir", t.TempDir())
	require.ErrorContains(t, err, "no manifest.json")
}

func TestUsage(t *testing.T) {
	out, _, err := runCmd(t, t.Context(), env{}, "version")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "crawler "))
	_, _, err = runCmd(t, t.Context(), env{}, "frobnicate")
	require.Equal(t, 2, exitCode(err))
	_, _, err = runCmd(t, t.Context(), env{}, "run")
	require.ErrorContains(t, err, "DBT_CLOUD_ACCESS_URL")
}

func TestIngestCorpusSets(t *testing.T) {
	shared := sharedtest.Root(t, "dbt-artifacts")
	for _, set := range []string{"cayoty_postgres_1.7.4", "hubspot_postgres_1.8.3_v12", "oracle_1.5.2", "jaffle_legacy_0.19.1_v1"} {
		t.Run(set, func(t *testing.T) {
			dir := filepath.Join(shared, "dbt-artifacts", set)
			if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
				t.Skip("set has no manifest.json")
			}
			e := env{"DATABASE_URL": pgtest.NewDatabase(t), "CRAWLER_LOG_LEVEL": "warn"}
			_, stderr, err := runCmd(t, t.Context(), e, "ingest", "--dir", dir, "--environment", "prod")
			require.NoError(t, err, stderr)
			dsn := e["DATABASE_URL"]
			require.Positive(t, count(t, dsn, `SELECT count(*) FROM catalog.assets`))
			require.Positive(t, count(t, dsn, `SELECT count(*) FROM catalog.lineage`))
			if _, err := os.Stat(filepath.Join(dir, "catalog.json")); err == nil {
				require.Positive(t, count(t, dsn, `SELECT count(*) FROM catalog.columns`))
			}
			out, stderr, err := runCmd(t, t.Context(), e, "ingest", "--dir", dir, "--environment", "prod")
			require.NoError(t, err, stderr)
			require.Contains(t, out, "(0 inserted, 0 updated", "a second ingest of the same files writes no asset row")
		})
	}
}
