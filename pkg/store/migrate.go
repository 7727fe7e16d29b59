package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/dbt-crawler/dbt-crawler/migrations"
)

// MigrationResult describes one applied or rolled back migration.
type MigrationResult struct {
	Version int64
	Source  string
	Seconds float64
}

func (s *Store) provider() (*goose.Provider, *sql.DB, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithTableName("crawler_schema_migrations"),
	)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, db, nil
}

// Migrate applies every pending migration, each in its own transaction,
// while holding a PostgreSQL advisory lock so that two replicas never
// migrate at once.
func (s *Store) Migrate(ctx context.Context) ([]MigrationResult, error) {
	p, db, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", translate(err))
	}
	return results(res), nil
}

// MigrateDownAll rolls every migration back, newest first. It drops the
// catalog; only tests and `crawler migrate --down` use it.
func (s *Store) MigrateDownAll(ctx context.Context) ([]MigrationResult, error) {
	p, db, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := p.DownTo(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("roll back migrations: %w", translate(err))
	}
	return results(res), nil
}

// SchemaVersion returns the newest applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	p, db, err := s.provider()
	if err != nil {
		return 0, err
	}
	defer db.Close()
	v, err := p.GetDBVersion(ctx)
	return v, translate(err)
}

func results(in []*goose.MigrationResult) []MigrationResult {
	out := make([]MigrationResult, 0, len(in))
	for _, r := range in {
		if r == nil || r.Source == nil {
			continue
		}
		out = append(out, MigrationResult{Version: r.Source.Version, Source: r.Source.Path, Seconds: r.Duration.Seconds()})
	}
	return out
}
