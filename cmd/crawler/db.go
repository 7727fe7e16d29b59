package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/internal/pgcluster"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

// openStore connects to DATABASE_URL, or starts the embedded PostgreSQL under
// the data dir when it is unset, and applies pending migrations. close stops
// the embedded server (when this process started it).
func openStore(ctx context.Context, cfg *config.Config, log *zap.Logger) (st *store.Store, dsn string, closeFn func(), err error) {
	dsn = cfg.DatabaseURL
	stopCluster := func() {}
	if dsn == "" {
		dir := filepath.Join(cfg.DataDir, "postgres")
		log.Info("no DATABASE_URL: starting the embedded PostgreSQL", zap.String("dir", dir))
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Durable: true})
		if err != nil {
			return nil, "", nil, fmt.Errorf("embedded database (set DATABASE_URL to use your own PostgreSQL): %w", err)
		}
		stopCluster = func() {
			if err := c.Stop(); err != nil {
				log.Warn("stop embedded PostgreSQL", zap.Error(err))
			}
		}
		if err := ensureDatabase(ctx, c.URL("postgres"), "crawler"); err != nil {
			stopCluster()
			return nil, "", nil, err
		}
		dsn = c.URL("crawler")
	}
	st, err = store.Open(ctx, dsn, store.Options{
		ArchiveAfter:     cfg.ArchiveAfter,
		StatementTimeout: cfg.StatementTimeout,
		Logger:           log,
	})
	if err != nil {
		stopCluster()
		return nil, "", nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		stopCluster()
		return nil, "", nil, err
	}
	for _, m := range applied {
		log.Info("applied migration", zap.Int64("version", m.Version), zap.String("file", filepath.Base(m.Source)))
	}
	return st, dsn, func() { st.Close(); stopCluster() }, nil
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to the embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func cmdMigrate(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var c common
	c.register(fs)
	down := fs.Bool("down", false, "roll back every migration (drops the catalog)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	boot := newLogger("info", "json", stderr)
	cfg, err := loadConfig(c, config.Flags{}, getenv, false, boot)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	st, _, closeFn, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	if *down {
		res, err := st.MigrateDownAll(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rolled back %d migrations\n", len(res))
		return nil
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema at version %d\n", v)
	return nil
}

func helpOK(err error) error {
	if err == errHelp {
		return nil
	}
	return err
}
