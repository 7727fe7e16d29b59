package reliability

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

// TestDatabaseFaults injects failures on the database side during the
// second crawl of the fault history.
func TestDatabaseFaults(t *testing.T) {
	ref := referenceHistory(t)

	t.Run("statement timeout while writing", func(t *testing.T) {
		requireScenario(t, "statement timeout while writing")
		ctx := t.Context()
		e := newEnv(t)
		e.mustCrawl(ctx)
		changeDataset(t, e.ds)
		tight := e.storeOp
		tight.StatementTimeout = time.Millisecond
		st := e.openStoreNoMigrate(tight)
		rep := e.crawl(ctx, st)
		require.Error(t, rep.Error(), "a 1 ms statement timeout must fail the crawl")
		require.Contains(t, rep.Error().Error(), "statement timeout")
		checkFaultyCrawl(t, rep, ref, dump(t, e.dsn))
		e.mustCrawl(ctx)
		requireSameCatalog(t, ref.after, dump(t, e.dsn))
	})

	t.Run("PostgreSQL restarted during a crawl", func(t *testing.T) {
		requireScenario(t, "PostgreSQL restarted during a crawl")
		cl := pgtest.Cluster()
		if cl == nil {
			t.Skip("TEST_DATABASE_URL is set: the suite cannot restart that server")
		}
		ctx := t.Context()
		// The restart starts when the first artifact is requested and the
		// artifact answers are slowed so the crawl is still running.
		var once sync.Once
		started := make(chan struct{})
		e := newEnv(t, withHandler(func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/artifacts/") {
					select {
					case <-started:
						time.Sleep(50 * time.Millisecond)
					default:
					}
				}
				h.ServeHTTP(w, r)
			})
		}))
		e.mustCrawl(ctx)
		changeDataset(t, e.ds)
		close(started)
		restarted := make(chan error, 1)
		go func() {
			time.Sleep(200 * time.Millisecond)
			once.Do(func() { restarted <- cl.Restart(context.WithoutCancel(ctx)) })
		}()
		rep := e.crawl(ctx, nil)
		require.NoError(t, <-restarted)
		t.Logf("crawl during the restart: %v", rep.Error())
		checkFaultyCrawl(t, rep, ref, dump(t, e.dsn))
		// A fresh pool: the old one may hold connections the restart cut.
		st := e.openStoreNoMigrate(e.storeOp)
		require.NoError(t, e.crawl(ctx, st).Error())
		requireSameCatalog(t, ref.after, dump(t, e.dsn))
	})
}

func (e *env) openStoreNoMigrate(o store.Options) *store.Store {
	e.t.Helper()
	st, err := store.Open(context.Background(), e.dsn, o)
	require.NoError(e.t, err)
	e.t.Cleanup(st.Close)
	return st
}
