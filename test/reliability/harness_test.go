// Package reliability is the crawler's fault and security suite: it runs
// the real crawl wiring (admin and discovery clients over the retrying
// transport, pkg/crawl, pkg/store) against the dbt Cloud emulator with
// injected faults and a real PostgreSQL, and checks that every crawl either
// produces the same catalog as a fault-free one or fails cleanly, leaving
// the previous catalog intact.
//
// docs/reliability.md is generated from the scenario table in
// scenarios_test.go: run `go test ./test/reliability -run TestDoc -update-doc`
// after adding a scenario.
package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fastTransport is the production retry policy scaled down so that a
// scenario takes seconds: the same retry count, a 1 s cap (the emulator's
// smallest Retry-After is one second, and a Retry-After above the cap is
// not waited for), millisecond backoffs and a short per-attempt timeout.
func fastTransport(name string, log *zap.Logger) transport.Options {
	return transport.Options{
		Name:           name,
		MaxRetries:     10,
		BaseDelay:      5 * time.Millisecond,
		RateLimitDelay: 20 * time.Millisecond,
		MaxDelay:       1500 * time.Millisecond,
		Timeout:        400 * time.Millisecond,
		Logger:         log,
	}
}

// clientSet is what cmd/crawler's newClients builds for one connection.
type clientSet struct {
	admin     *admin.Client
	discovery *discovery.Client
}

// newClients builds the clients the way cmd/crawler does (crawl.Connect),
// with the fast retry settings of fastTransport.
func newClients(t testing.TB, accessURL string, accountID int64, token string, log *zap.Logger) clientSet {
	t.Helper()
	network := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	t.Cleanup(network.CloseIdleConnections)
	retry := fastTransport("", log)
	cl, err := crawl.Connect(config.Connection{Name: "test", AccessURL: accessURL, AccountID: accountID, Token: token},
		crawl.ConnectOptions{RequestTimeout: retry.Timeout, Retry: retry, Network: network, Logger: log})
	require.NoError(t, err)
	return clientSet{admin: cl.Admin, discovery: cl.Discovery}
}

// env is one emulator, one database and the options of the crawls run
// between them.
type env struct {
	t       testing.TB
	srv     *dbtcloudtest.Server
	ds      *dbtcloudtest.Dataset
	dsn     string
	st      *store.Store
	token   string
	log     *zap.Logger
	limits  crawl.Options
	storeOp store.Options
}

type envOption func(*envConfig)

type envConfig struct {
	gen        *dbtcloudtest.GenConfig
	token      string
	log        *zap.Logger
	serverOpts []dbtcloudtest.Option
	handler    func(http.Handler) http.Handler
}

func withToken(tok string) envOption     { return func(c *envConfig) { c.token = tok } }
func withLogger(l *zap.Logger) envOption { return func(c *envConfig) { c.log = l } }

// withHandler wraps the emulator (for example to rewrite artifact bodies).
func withHandler(wrap func(http.Handler) http.Handler) envOption {
	return func(c *envConfig) { c.handler = wrap }
}

// smallGen is the dataset of the fault scenarios: two projects with two
// deployment environments each, a few runs per job.
func smallGen() dbtcloudtest.GenConfig {
	g := dbtcloudtest.DefaultGenConfig()
	g.Models = 20
	g.RunsPerJob = 2
	return g
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	cfg := envConfig{token: dbtcloudtest.DefaultToken}
	for _, o := range opts {
		o(&cfg)
	}
	g := smallGen()
	if cfg.gen != nil {
		g = *cfg.gen
	}
	ds := dbtcloudtest.Generate(g)
	sopts := append([]dbtcloudtest.Option{dbtcloudtest.WithTokens(cfg.token)}, cfg.serverOpts...)
	srv := dbtcloudtest.New(ds, sopts...)
	var h http.Handler = srv
	if cfg.handler != nil {
		h = cfg.handler(srv)
	}
	hs := newLoopbackServer(t, h)
	srv.URL = hs
	log := cfg.log
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))
	}
	e := &env{t: t, srv: srv, ds: ds, dsn: pgtest.NewDatabase(t), token: cfg.token, log: log,
		storeOp: store.Options{ArchiveAfter: 1, Logger: log}}
	e.st = e.openStore(e.storeOp)
	return e
}

// newLoopbackServer serves h on 127.0.0.1 and returns its base URL.
func newLoopbackServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = hs.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

func (e *env) openStore(o store.Options) *store.Store {
	e.t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, e.dsn, o)
	require.NoError(e.t, err)
	e.t.Cleanup(st.Close)
	_, err = st.Migrate(ctx)
	require.NoError(e.t, err)
	return st
}

// crawl runs one crawl of the emulator's account with the given store (nil:
// the env's own) and returns the report.
func (e *env) crawl(ctx context.Context, st *store.Store) *crawl.Report {
	e.t.Helper()
	if st == nil {
		st = e.st
	}
	cl := newClients(e.t, e.srv.URL, e.ds.Account.ID, e.token, e.log)
	opts := e.limits
	opts.Logger = e.log
	return crawl.New(cl.admin, cl.discovery, st, opts).Run(ctx)
}

// mustCrawl crawls and requires success.
func (e *env) mustCrawl(ctx context.Context) *crawl.Report {
	e.t.Helper()
	rep := e.crawl(ctx, nil)
	require.NoError(e.t, rep.Error())
	return rep
}

// volatile are columns that record when the crawler wrote a row, or its
// crawl-to-crawl bookkeeping, rather than what dbt Cloud says.
var volatile = map[string]bool{
	"updated_at": true, "recorded_at": true, "first_seen_at": true, "asset_id": true,
	"missing_count": true, "consecutive_complete_crawls": true, "env_id": true,
	"applied_full_read_at": true,
}

// catalogDump is a canonical dump of the crawler tables, per environment
// (keyed by dbt Cloud environment ID), rows sorted.
type catalogDump map[int64]map[string][]string

// dump reads every crawler.* table except crawls, drops volatile columns,
// turns archived_at into a flag, keys rows by dbt Cloud environment ID and
// sorts them.
func dump(t testing.TB, dsn string) catalogDump {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	envs := map[int64]int64{}
	rows, err := conn.Query(ctx, `SELECT env_id, environment_id FROM crawler.environments`)
	require.NoError(t, err)
	for rows.Next() {
		var a, b int64
		require.NoError(t, rows.Scan(&a, &b))
		envs[a] = b
	}
	require.NoError(t, rows.Err())
	tables, err := pgx.CollectRows(must(conn.Query(ctx, `
		SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = 'crawler' AND table_type = 'BASE TABLE' AND table_name <> 'crawls'
		ORDER BY 1`)), pgx.RowTo[string])
	require.NoError(t, err)
	out := catalogDump{}
	for _, tbl := range tables {
		lines, err := pgx.CollectRows(must(conn.Query(ctx,
			`SELECT row_to_json(t)::text FROM `+pgx.Identifier{"crawler", tbl}.Sanitize()+` t`)), pgx.RowTo[string])
		require.NoError(t, err)
		for _, l := range lines {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &m))
			envID := int64(0)
			if v, ok := m["env_id"].(float64); ok {
				envID = envs[int64(v)]
			}
			if v, ok := m["environment_id"].(float64); ok && tbl == "environments" {
				envID = int64(v)
			}
			if _, ok := m["archived_at"]; ok {
				m["archived_at"] = m["archived_at"] != nil
			}
			if tbl != "runs" {
				delete(m, "created_at")
			}
			for k := range m {
				if volatile[k] {
					delete(m, k)
				}
			}
			b, err := json.Marshal(m) // map keys are sorted
			require.NoError(t, err)
			if out[envID] == nil {
				out[envID] = map[string][]string{}
			}
			out[envID][tbl] = append(out[envID][tbl], string(b))
		}
	}
	for _, byTable := range out {
		for _, v := range byTable {
			sort.Strings(v)
		}
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// requireSameCatalog fails with a readable difference when two dumps differ.
func requireSameCatalog(t testing.TB, want, got catalogDump, msgAndArgs ...any) {
	t.Helper()
	if diff := diffDumps(want, got); diff != "" {
		require.Fail(t, "catalogs differ:\n"+diff, msgAndArgs...)
	}
}

// diffDumps describes the first differences between two dumps.
func diffDumps(want, got catalogDump) string {
	var b strings.Builder
	var envs []int64
	for k := range want {
		envs = append(envs, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			envs = append(envs, k)
		}
	}
	slices.Sort(envs)
	for _, id := range envs {
		if d := diffEnv(want[id], got[id]); d != "" {
			fmt.Fprintf(&b, "environment %d:\n%s", id, d)
		}
	}
	return b.String()
}

func diffEnv(want, got map[string][]string) string {
	var b strings.Builder
	tables := map[string]bool{}
	for k := range want {
		tables[k] = true
	}
	for k := range got {
		tables[k] = true
	}
	names := make([]string, 0, len(tables))
	for k := range tables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, tbl := range names {
		w, g := want[tbl], got[tbl]
		if slices.Equal(w, g) {
			continue
		}
		missing, extra := setDiff(w, g), setDiff(g, w)
		fmt.Fprintf(&b, "  %s: want %d rows, got %d (%d missing, %d unexpected)\n", tbl, len(w), len(g), len(missing), len(extra))
		for i, r := range missing {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "    - %s\n", clip(r))
		}
		for i, r := range extra {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "    + %s\n", clip(r))
		}
	}
	return b.String()
}

func setDiff(a, b []string) []string {
	in := map[string]int{}
	for _, s := range b {
		in[s]++
	}
	var out []string
	for _, s := range a {
		if in[s] > 0 {
			in[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

// archivedSet returns the unique IDs of archived assets per environment.
func archivedSet(d catalogDump) map[int64][]string {
	out := map[int64][]string{}
	for id, byTable := range d {
		for _, r := range byTable["assets"] {
			var m struct {
				UniqueID string `json:"unique_id"`
				Archived bool   `json:"archived_at"`
			}
			_ = json.Unmarshal([]byte(r), &m)
			if m.Archived {
				out[id] = append(out[id], m.UniqueID)
			}
		}
		sort.Strings(out[id])
	}
	return out
}

// syncBuffer is a goroutine-safe buffer for captured output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Sync implements zapcore.WriteSyncer.
func (s *syncBuffer) Sync() error { return nil }
