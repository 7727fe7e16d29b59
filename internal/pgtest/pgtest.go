// Package pgtest gives tests a real, throwaway PostgreSQL.
//
// A test binary calls Main from its TestMain: Main starts one private cluster
// (initdb into a temporary directory, a free loopback port, fsync off), runs
// the tests and removes the cluster, even when tests fail. Each test asks for
// its own database with NewDatabase. When TEST_DATABASE_URL is set, that
// server is used instead and no cluster is started.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dbt-crawler/dbt-crawler/internal/pgcluster"
)

var (
	adminURL string // the maintenance database of the server, set by Main
	mainErr  error  // why the cluster could not start, reported per test
	cluster  *pgcluster.Cluster
	dbSeq    atomic.Int64
)

// Main starts a cluster (unless TEST_DATABASE_URL is set), runs m, removes the
// cluster and exits. Use it as `func TestMain(m *testing.M) { pgtest.Main(m) }`.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		adminURL = u
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "crawler-pgtest-")
	if err != nil {
		mainErr = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir})
	if err != nil {
		mainErr = err
		return m.Run()
	}
	defer c.Stop()
	cluster = c
	adminURL = c.URL("postgres")
	return m.Run()
}

// Cluster returns the cluster Main started, or nil when TEST_DATABASE_URL is
// used. Tests that restart the server use it.
func Cluster() *pgcluster.Cluster { return cluster }

// NewDatabase creates an empty database for the calling test and returns its
// connection URL. The database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if mainErr != nil {
		t.Fatalf("test PostgreSQL: %v", mainErr)
	}
	if adminURL == "" {
		t.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbSeq.Add(1))
	exec(t, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() { exec(t, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") })
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("pgtest: admin URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func exec(t testing.TB, sql string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}
