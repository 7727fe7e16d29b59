package reliability

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
)

// secretToken is recognisable anywhere it could leak; secretMark is a part
// of it that a redaction would remove too.
const (
	secretToken = "dbtc_RECOGNISABLE_k7Q2xv9LmZp4Tn8w"
	secretMark  = "RECOGNISABLE_k7Q2"
)

// capture is a logger that records every line, at debug level, as JSON.
type capture struct {
	buf  *syncBuffer
	obs  *observer.ObservedLogs
	logr *zap.Logger
}

func newCapture() *capture {
	buf := &syncBuffer{}
	core, obs := observer.New(zapcore.DebugLevel)
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	l := zap.New(zapcore.NewTee(core, zapcore.NewCore(enc, buf, zapcore.DebugLevel)))
	return &capture{buf: buf, obs: obs, logr: l}
}

// text returns everything logged, including the fields of observed entries.
func (c *capture) text() string {
	var b strings.Builder
	b.WriteString(c.buf.String())
	for _, e := range c.obs.All() {
		fmt.Fprintf(&b, "%s %v\n", e.Message, e.ContextMap())
	}
	return b.String()
}

// dumpDatabase returns every row of every table in every user schema as
// JSON, one per line.
func dumpDatabase(t testing.TB, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT table_schema::text, table_name::text FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`)
	require.NoError(t, err)
	type tbl struct{ schema, name string }
	var tables []tbl
	for rows.Next() {
		var x tbl
		require.NoError(t, rows.Scan(&x.schema, &x.name))
		tables = append(tables, x)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables)
	var b strings.Builder
	for _, x := range tables {
		lines, err := pgx.CollectRows(queryRows(t, conn,
			`SELECT row_to_json(t)::text FROM `+pgx.Identifier{x.schema, x.name}.Sanitize()+` t`), pgx.RowTo[string])
		require.NoError(t, err)
		for _, l := range lines {
			b.WriteString(x.schema + "." + x.name + " " + l + "\n")
		}
	}
	return b.String()
}

func queryRows(t testing.TB, conn *pgx.Conn, sql string) pgx.Rows {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	require.NoError(t, err)
	return rows
}

func requireNoSecret(t testing.TB, where, text string) {
	t.Helper()
	for _, s := range []string{secretToken, secretMark} {
		if i := strings.Index(text, s); i >= 0 {
			lo, hi := max(0, i-120), min(len(text), i+60)
			t.Fatalf("the token appears in %s: …%s…", where, strings.ReplaceAll(text[lo:hi], secretToken, "<TOKEN>"))
		}
	}
}

// echoToken makes the emulator put the request's Authorization header into
// error answers: a 502 HTML page on the first runs listing and a GraphQL
// error on the first Discovery query.
func echoToken(h http.Handler) http.Handler {
	var mu sync.Mutex
	seen := map[string]bool{}
	first := func(k string) bool {
		mu.Lock()
		defer mu.Unlock()
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch {
		case strings.HasSuffix(r.URL.Path, "/runs/") && first("runs"):
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html><title>502 for %s</title></html>", auth)
		case strings.HasPrefix(r.URL.Path, "/graphql") && first("graphql"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"errors":[{"message":"rejected credentials %s","extensions":{"code":"BAD"}}]}`, auth)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func TestTokenNeverLeaks(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{
		{"token never leaks", nil},
		{"token echoed by the server", echoToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireScenario(t, tc.name)
			ctx := t.Context()
			logs := newCapture()
			opts := []envOption{withToken(secretToken), withLogger(logs.logr)}
			if tc.wrap != nil {
				opts = append(opts, withHandler(tc.wrap))
			}
			e := newEnv(t, opts...)
			var reports strings.Builder
			record := func(label string) {
				rep := e.crawl(ctx, nil)
				fmt.Fprintf(&reports, "%s: %+v\n%v\n", label, rep, rep.Error())
				for _, er := range rep.Environments {
					fmt.Fprintf(&reports, "%+v %v\n", er, er.Err)
				}
			}
			record("clean")
			changeDataset(t, e.ds)
			e.srv.SetFaults(
				dbtcloudtest.Fault{Kind: dbtcloudtest.FaultInternalError, Rate: 0.1},
				dbtcloudtest.Fault{Kind: dbtcloudtest.FaultRateLimitNoRetryAfter, Rate: 0.1},
				dbtcloudtest.Fault{Kind: dbtcloudtest.FaultTruncated, Pattern: artifactPath, Rate: 0.2},
				dbtcloudtest.Fault{Kind: dbtcloudtest.FaultInvalidJSON, Pattern: artifactPath, Rate: 0.1},
			)
			record("faults")
			e.srv.SetFaults()
			record("recovery")

			leaks := map[string]string{
				"the logs":         logs.text(),
				"the reports":      reports.String(),
				"the database":     dumpDatabase(t, e.dsn),
				"the test's setup": "",
			}
			if b := buildCrawler(t); b != "" {
				out := runBinary(t, b, e, "run")
				leaks["the output of `crawler run`"] = out
			}
			for where, text := range leaks {
				requireNoSecret(t, where, text)
			}
		})
	}
}

func TestTLSVerification(t *testing.T) {
	requireScenario(t, "TLS verification always on")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request passed the TLS handshake with a self-signed certificate: %s", r.URL)
	}))
	defer srv.Close()
	ctx := t.Context()
	cl := newClients(t, srv.URL, 1, secretToken, zap.NewNop())
	for _, err := range cl.admin.Projects(ctx) {
		require.Error(t, err)
		require.Contains(t, err.Error(), "certificate")
		requireNoSecret(t, "the TLS error", err.Error())
		break
	}
	_, err := cl.discovery.Info(ctx, 1)
	require.ErrorContains(t, err, "certificate")

	// The clients' own defaults verify too.
	ac, err := admin.NewClient(srv.URL, 1, secretToken)
	require.NoError(t, err)
	for _, err := range ac.Projects(crawlCtx(t, 0)) {
		require.Error(t, err)
		break
	}
	dc, err := discovery.NewClient(srv.URL+"/graphql", secretToken)
	require.NoError(t, err)
	_, err = dc.Info(ctx, 1)
	require.ErrorContains(t, err, "certificate")
}

func TestAccessURLValidation(t *testing.T) {
	requireScenario(t, "access URL validation")
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"https account host", "https://ab123.us1.dbt.com", true},
		{"http on 127.0.0.1", "http://127.0.0.1:8080", true},
		{"http on localhost", "http://localhost:8080", true},
		{"http on ::1", "http://[::1]:8080", true},
		{"http on a public host", "http://ab123.us1.dbt.com", false},
		{"http on a private address", "http://10.0.0.5", false},
		{"credentials", "https://user:pw@ab123.us1.dbt.com", false},
		{"user only", "https://user@ab123.us1.dbt.com", false},
		{"path", "https://ab123.us1.dbt.com/api/v2", false},
		{"query", "https://ab123.us1.dbt.com/?token=x", false},
		{"fragment", "https://ab123.us1.dbt.com/#x", false},
		{"ftp scheme", "ftp://ab123.us1.dbt.com", false},
		{"file scheme", "file:///etc/passwd", false},
		{"javascript scheme", "javascript:alert(1)", false},
		{"no scheme", "ab123.us1.dbt.com", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgErr := config.ValidateURL(tc.url)
			_, adminErr := admin.NewClient(tc.url, 1, secretToken)
			if tc.ok {
				require.NoError(t, cfgErr)
				require.NoError(t, adminErr)
				return
			}
			require.Error(t, cfgErr, "config.ValidateURL(%q)", tc.url)
			require.Error(t, adminErr, "admin.NewClient(%q)", tc.url)
			require.NotContains(t, cfgErr.Error()+adminErr.Error(), "pw@")
			requireNoSecret(t, "the validation error", cfgErr.Error()+adminErr.Error())
		})
	}
}

// redirectPair starts a target server on "localhost" that records any
// Authorization header, and a server on 127.0.0.1 that redirects every
// request to it with code.
func redirectPair(t *testing.T, code int) (from string, got func() []string) {
	t.Helper()
	var mu sync.Mutex
	var auths []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(target.Close)
	to := strings.Replace(target.URL, "127.0.0.1", "localhost", 1)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.RequestURI(), code)
	}))
	t.Cleanup(src.Close)
	return src.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), auths...)
	}
}

func TestNoAuthorizationAcrossRedirects(t *testing.T) {
	requireScenario(t, "no Authorization across redirects")
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		t.Run(fmt.Sprintf("%d with the crawler's clients", code), func(t *testing.T) {
			from, got := redirectPair(t, code)
			cl := newClients(t, from, 1, secretToken, zap.NewNop())
			for _, err := range cl.admin.Projects(t.Context()) {
				require.Error(t, err)
				break
			}
			_, err := cl.discovery.Info(t.Context(), 1)
			require.Error(t, err)
			for _, a := range got() {
				require.Empty(t, a, "the Authorization header followed a redirect to another host")
			}
		})
		t.Run(fmt.Sprintf("%d with the library defaults", code), func(t *testing.T) {
			from, got := redirectPair(t, code)
			ac, err := admin.NewClient(from, 1, secretToken, admin.WithHTTPClient(&http.Client{}))
			require.NoError(t, err)
			for range ac.Projects(t.Context()) {
				break
			}
			dc, err := discovery.NewClient(from+"/graphql", secretToken, discovery.WithHTTPClient(&http.Client{}))
			require.NoError(t, err)
			_, _ = dc.Info(t.Context(), 1)
			for _, a := range got() {
				require.Empty(t, a, "the Authorization header followed a redirect to another host")
			}
		})
	}
	t.Run("the crawler binary", func(t *testing.T) {
		b := buildCrawler(t)
		if b == "" {
			t.Skip("crawler binary not built")
		}
		from, got := redirectPair(t, http.StatusFound)
		e := &env{t: t, dsn: "", token: secretToken}
		out := runBinaryAt(t, b, from, 1, pgURLForBinary(t), e.token, "run")
		requireNoSecret(t, "the output of `crawler run`", out)
		for _, a := range got() {
			require.Empty(t, a, "the Authorization header followed a redirect to another host")
		}
	})
}

// sqlMethods are the pgx calls whose first string argument is SQL.
var sqlMethods = map[string]bool{"Exec": true, "Query": true, "QueryRow": true, "Queue": true, "Prepare": true}

// sqlIdentifierHelpers may appear in SQL text: they return identifiers
// (column lists, temp table names) built from constants, never values.
var sqlIdentifierHelpers = map[string]bool{"joinCols": true, "Sanitize": true, "Join": true}

// sqlIdentifierVars are local variables and parameters that pkg/store uses
// to carry identifiers built from constant lists (table and temp table
// names, the SET list of the asset upsert, the query assembled from them).
var sqlIdentifierVars = map[string]bool{"table": true, "name": true, "set": true, "q": true, "c": true, "cols": true,
	"sql": true, "tmp": true, "defs": true, "on": true, "update": true}

func TestSQLIsParameterised(t *testing.T) {
	requireScenario(t, "SQL is parameterised")
	dir := filepath.Join(moduleRoot(t), "pkg", "store")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	fset := token.NewFileSet()
	sqlWord := regexp.MustCompile(`(?i)\b(select|insert|update|delete|where|values)\b`)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Sprint") && len(call.Args) > 0 {
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && sqlWord.MatchString(lit.Value) {
					t.Errorf("%s: fmt.%s builds SQL text", fset.Position(call.Pos()), sel.Sel.Name)
				}
				return true
			}
			if !sqlMethods[sel.Sel.Name] {
				return true
			}
			for _, arg := range call.Args {
				if isContext(arg) {
					continue
				}
				checked++
				if bad := nonStatic(arg); bad != "" {
					t.Errorf("%s: %s builds its SQL from %s, which is neither a literal nor an allow-listed identifier", fset.Position(arg.Pos()), sel.Sel.Name, bad)
				}
				break
			}
			return true
		})
	}
	require.Greater(t, checked, 20, "the check must see pkg/store's queries")
}

func isContext(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "ctx"
}

// nonStatic returns the first part of e that is not a string literal, a
// + of static parts, an allow-listed identifier or helper call, or "".
func nonStatic(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.BasicLit:
		return ""
	case *ast.ParenExpr:
		return nonStatic(x.X)
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return fmt.Sprintf("an expression with %s", x.Op)
		}
		if s := nonStatic(x.X); s != "" {
			return s
		}
		return nonStatic(x.Y)
	case *ast.Ident:
		if sqlIdentifierVars[x.Name] || (x.Obj != nil && x.Obj.Kind == ast.Con) {
			return ""
		}
		return "variable " + x.Name
	case *ast.SelectorExpr:
		if sqlIdentifierVars[x.Sel.Name] {
			return ""
		}
		return "field " + x.Sel.Name
	case *ast.CallExpr:
		switch f := x.Fun.(type) {
		case *ast.Ident:
			if sqlIdentifierHelpers[f.Name] {
				return ""
			}
			return "call " + f.Name
		case *ast.SelectorExpr:
			if sqlIdentifierHelpers[f.Sel.Name] {
				return ""
			}
			return "call " + f.Sel.Name
		}
	}
	return fmt.Sprintf("%T", e)
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found above the test directory")
		dir = parent
	}
}
