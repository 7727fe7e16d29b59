package reliability

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
)

// binaryCache builds cmd/crawler once per test binary.
type binaryCache struct {
	once sync.Once
	dir  string
	path string
	err  error
}

var crawlerBinary binaryCache

// buildCrawler returns the path of a freshly built crawler binary, or ""
// after logging why it could not be built (testing.Short skips it).
func buildCrawler(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		return ""
	}
	crawlerBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "crawler-bin-")
		if err != nil {
			crawlerBinary.err = err
			return
		}
		crawlerBinary.dir = dir
		crawlerBinary.path = filepath.Join(dir, "crawler")
		cmd := exec.Command("go", "build", "-o", crawlerBinary.path, "./cmd/crawler")
		cmd.Dir = moduleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			crawlerBinary.err = fmt.Errorf("go build ./cmd/crawler: %v\n%s", err, out)
		}
	})
	if crawlerBinary.err != nil {
		t.Logf("crawler binary unavailable: %v", crawlerBinary.err)
		return ""
	}
	return crawlerBinary.path
}

// pgURLForBinary returns a fresh database for a child process.
func pgURLForBinary(t testing.TB) string { return pgtest.NewDatabase(t) }

// runBinary runs the crawler binary against the env's emulator and
// database and returns its combined output.
func runBinary(t testing.TB, bin string, e *env, args ...string) string {
	return runBinaryAt(t, bin, e.srv.URL, e.ds.Account.ID, e.dsn, e.token, args...)
}

func binaryCmd(ctx context.Context, bin, accessURL string, account int64, dsn, token string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"DBT_CLOUD_ACCESS_URL=" + accessURL,
		"DBT_CLOUD_ACCOUNT_ID=" + strconv.FormatInt(account, 10),
		"DBT_CLOUD_TOKEN=" + token,
		"DATABASE_URL=" + dsn,
		"CRAWLER_LOG_LEVEL=debug",
		"CRAWLER_CRAWL_TIMEOUT=60s",
	}
	return cmd
}

func runBinaryAt(t testing.TB, bin, accessURL string, account int64, dsn, token string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, _ := binaryCmd(ctx, bin, accessURL, account, dsn, token, args...).CombinedOutput()
	return string(out)
}

func TestSIGKILLWhileWriting(t *testing.T) {
	requireScenario(t, "crawler killed with SIGKILL while writing")
	if testing.Short() {
		t.Skip("builds and kills the crawler binary; skipped in -short mode")
	}
	bin := buildCrawler(t)
	if bin == "" {
		t.Skip("crawler binary could not be built")
	}
	ctx := t.Context()
	ref := newEnv(t)
	ref.mustCrawl(ctx)
	want := dump(t, ref.dsn)

	e := newEnv(t)
	conn, err := pgx.Connect(ctx, e.dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var started time.Time
	require.NoError(t, conn.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&started))

	cmd := binaryCmd(ctx, bin, e.srv.URL, e.ds.Account.ID, e.dsn, e.token, "run")
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
poll:
	for {
		select {
		case <-exited:
			break poll
		default:
		}
		var writing bool
		err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE application_name = 'dbt-crawler' AND datname = current_database()
			AND (query ILIKE 'COPY%' OR query ILIKE '%INSERT INTO crawler.%' OR query ILIKE 'CREATE TEMP TABLE%'))`).Scan(&writing)
		require.NoError(t, err)
		if writing {
			require.NoError(t, cmd.Process.Kill())
			<-exited
			killed = true
			break
		}
	}
	t.Logf("killed while writing: %v", killed)
	// The killed process's sessions end when their backends notice the
	// closed sockets, which under load can take a moment; until then they
	// hold its environment locks, and a crawl started at once would
	// (rightly) skip those environments.
	require.Eventually(t, func() bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'dbt-crawler' AND datname = current_database() AND backend_start >= $1`, started).Scan(&n)
		return err == nil && n == 0
	}, 30*time.Second, 10*time.Millisecond, "the killed crawler's sessions end")
	// Whatever was committed is whole; the next crawl converges.
	e.mustCrawl(ctx)
	requireSameCatalog(t, want, dump(t, e.dsn))
}
