package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

func cmdEmulate(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9090", "address to serve the emulated dbt Cloud on")
	seed := fs.Int64("seed", 42, "generator seed: the same seed serves the same account")
	projects := fs.Int("projects", 2, "projects to generate")
	models := fs.Int("models", 120, "models per environment")
	runs := fs.Int("runs-per-job", 5, "runs per job")
	adapter := fs.String("adapter", "snowflake", "warehouse adapter of the generated projects (postgres, snowflake)")
	dir := fs.String("dir", "", "serve the artifacts of this dbt target/ directory instead of a generated account")
	rate := fs.Bool("enforce-rate-limits", true, "answer 429 above dbt's documented limits (Admin 5,000/min, Discovery 500/min)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	var ds *dbtcloudtest.Dataset
	if *dir != "" {
		var err error
		ds, err = dbtcloudtest.LoadDir(*dir, dbtcloudtest.LoadConfig{})
		if err != nil {
			return err
		}
	} else {
		cfg := dbtcloudtest.DemoGenConfig()
		cfg.Seed, cfg.Projects, cfg.Models, cfg.RunsPerJob, cfg.Adapter = *seed, *projects, *models, *runs, *adapter
		ds = dbtcloudtest.Generate(cfg)
	}
	var opts []dbtcloudtest.Option
	if *rate {
		opts = append(opts, dbtcloudtest.WithRateLimits(5000, 500))
	}
	srv := dbtcloudtest.New(ds, opts...)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "dbt Cloud emulator on http://%s\n  DBT_CLOUD_ACCESS_URL=http://%s\n  DBT_CLOUD_ACCOUNT_ID=%d\n  DBT_CLOUD_TOKEN=%s\n",
		ln.Addr(), ln.Addr(), ds.Account.ID, dbtcloudtest.DefaultToken)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
