package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func get(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestScheduleServesHealthAndMetricsAndStopsCleanly(t *testing.T) {
	_, e := emulated(t)
	addr := freeAddr(t)
	e["CRAWLER_LISTEN"] = addr
	e["CRAWLER_SCHEDULE"] = "*/5 * * * *"
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := runCmd(t, ctx, e, "schedule")
		done <- err
	}()
	// The crawl at start finishes and shows in the metrics.
	require.Eventually(t, func() bool {
		code, body := get(addr, "/metrics")
		return code == 200 && strings.Contains(body, `crawler_environment_crawls_total{connection="default",status="succeeded"}`)
	}, 60*time.Second, 100*time.Millisecond)
	code, _ := get(addr, "/healthz")
	require.Equal(t, 200, code)
	code, _ = get(addr, "/readyz")
	require.Equal(t, 200, code)
	_, body := get(addr, "/metrics")
	require.Contains(t, body, "crawler_api_requests_total")
	require.NotContains(t, body, dbtcloudtest.DefaultToken)
	require.Positive(t, count(t, e["DATABASE_URL"], `SELECT count(*) FROM catalog.assets`))

	cancel() // SIGTERM
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("schedule did not stop after SIGTERM")
	}
}

func TestScheduleRejectsABadCronSpec(t *testing.T) {
	_, e := emulated(t)
	e["CRAWLER_SCHEDULE"] = "every hour"
	e["CRAWLER_LISTEN"] = freeAddr(t)
	_, _, err := runCmd(t, t.Context(), e, "schedule")
	require.ErrorContains(t, err, "cron")
}
