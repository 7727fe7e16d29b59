package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

// metrics are the Prometheus series of `crawler schedule`.
type metrics struct {
	crawls       *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	assets       *prometheus.CounterVec
	requests     *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	lastSuccess  *prometheus.GaugeVec
	running      prometheus.Gauge
	testsAdded   *prometheus.CounterVec
	skippedSlots *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		crawls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crawler_environment_crawls_total",
			Help: "Environment crawls by outcome (succeeded, unchanged, failed, skipped)."}, []string{"connection", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crawler_crawl_duration_seconds",
			Help: "Duration of one crawl of a connection.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}, []string{"connection"}),
		assets: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crawler_assets_written_total",
			Help: "Asset rows written, by kind of write (inserted, updated, archived)."}, []string{"connection", "kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crawler_api_requests_total",
			Help: "Requests sent to dbt Cloud, by API, endpoint and HTTP status (0: network error)."}, []string{"connection", "api", "endpoint", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crawler_rate_limit_waits_total",
			Help: "Waits for the client-side budget, a 429 cooldown or a backoff."}, []string{"connection", "api"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crawler_api_bytes_total",
			Help: "Response bytes read from dbt Cloud."}, []string{"connection", "api"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crawler_last_success_timestamp_seconds",
			Help: "Unix time of the last crawl of a connection in which no environment failed."}, []string{"connection"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "crawler_crawls_running", Help: "Crawls in progress."}),
		testsAdded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crawler_test_results_added_total",
			Help: "Test results appended to the history."}, []string{"connection"}),
		skippedSlots: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crawler_schedule_skipped_total",
			Help: "Scheduled crawls skipped because the previous one was still running."}, []string{"connection"}),
	}
	reg.MustRegister(m.crawls, m.duration, m.assets, m.requests, m.rateLimited, m.bytes, m.lastSuccess, m.running, m.testsAdded, m.skippedSlots)
	return m
}

func cmdSchedule(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("schedule", flag.ContinueOnError)
	var c common
	c.register(fs)
	once := fs.Bool("run-at-start", true, "crawl every connection once at start, then on schedule")
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	boot := newLogger("info", "json", stderr)
	cfg, err := loadConfig(c, config.Flags{}, getenv, true, boot)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	defer log.Sync() //nolint:errcheck

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)
	var ready atomic.Bool
	var st *store.Store

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "starting: database not migrated yet", http.StatusServiceUnavailable)
			return
		}
		pctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (CRAWLER_LISTEN): %w", cfg.Listen, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health and metrics server", zap.Error(err))
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	log.Info("serving /healthz /readyz /metrics", zap.String("listen", ln.Addr().String()))

	st, _, closeFn, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	ready.Store(true)

	// Crawls run under their own context, cancelled only after the shutdown
	// deadline, so that SIGTERM lets the transaction in flight finish.
	crawlCtx, cancelCrawls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCrawls()
	var wg sync.WaitGroup
	sched := cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.Recover(cronLogger{log})))
	for _, conn := range cfg.Connections {
		var busy atomic.Bool
		job := func() {
			if !busy.CompareAndSwap(false, true) {
				m.skippedSlots.WithLabelValues(conn.Name).Inc()
				log.Warn("previous crawl still running; this slot is skipped", zap.String("connection", conn.Name))
				return
			}
			defer busy.Store(false)
			wg.Add(1)
			defer wg.Done()
			runScheduled(crawlCtx, cfg, conn, st, log, m)
		}
		if _, err := sched.AddFunc(conn.Schedule, job); err != nil {
			return fmt.Errorf("connection %q: schedule %q: %w", conn.Name, conn.Schedule, err)
		}
		if *once {
			go job()
		}
		log.Info("scheduled", zap.String("connection", conn.Name), zap.String("schedule", conn.Schedule))
	}
	sched.Start()
	<-ctx.Done()
	log.Info("shutting down: waiting for crawls in flight", zap.Duration("deadline", cfg.ShutdownTimeout))
	stopCtx := sched.Stop()
	done := make(chan struct{})
	go func() { <-stopCtx.Done(); wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.ShutdownTimeout):
		log.Warn("shutdown deadline reached: cancelling crawls in flight (their transactions roll back)")
		cancelCrawls()
		<-done
	}
	return nil
}

func runScheduled(ctx context.Context, cfg *config.Config, conn config.Connection, st *store.Store, log *zap.Logger, m *metrics) {
	m.running.Inc()
	defer m.running.Dec()
	started := time.Now()
	cl, err := newClients(cfg, conn, log)
	if err != nil {
		log.Error("connection", zap.String("connection", conn.Name), zap.Error(err))
		return
	}
	rep, err := crawlConnectionWith(ctx, cfg, conn, cl, st, log, nil)
	m.duration.WithLabelValues(conn.Name).Observe(time.Since(started).Seconds())
	if rep != nil {
		for _, e := range rep.Environments {
			m.crawls.WithLabelValues(conn.Name, e.Status).Inc()
			m.assets.WithLabelValues(conn.Name, "inserted").Add(float64(e.Result.Inserted))
			m.assets.WithLabelValues(conn.Name, "updated").Add(float64(e.Result.Updated))
			m.assets.WithLabelValues(conn.Name, "archived").Add(float64(e.Result.Archived))
			m.testsAdded.WithLabelValues(conn.Name).Add(float64(e.Result.TestResultsAdded))
		}
	}
	recordTransport(m, conn.Name, "admin", cl.AdminT.Stats())
	if cl.DiscoveryT != nil {
		recordTransport(m, conn.Name, "discovery", cl.DiscoveryT.Stats())
	}
	if err != nil {
		log.Error("crawl finished with failures", zap.String("connection", conn.Name), zap.Error(err))
		return
	}
	m.lastSuccess.WithLabelValues(conn.Name).SetToCurrentTime()
}

// cronLogger adapts zap to cron's logger for panic recovery.
type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Sugar().Infow(msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Sugar().Errorw(msg, append(kv, "error", err)...)
}
