// Package store keeps the catalog in PostgreSQL: it applies the embedded
// migrations, writes one environment's snapshot per transaction, and reads
// back the state the crawler needs (watermarks, the Discovery probe stamp).
//
// It is the only package that imports pgx. Every statement is parameterised.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
)

// DefaultArchiveAfter is the number of consecutive complete crawls an asset
// must be missing from before it is archived.
const DefaultArchiveAfter = 2

// Options configure a Store.
type Options struct {
	// ArchiveAfter is how many consecutive complete snapshots must miss an
	// asset before it is archived; 0 means DefaultArchiveAfter.
	ArchiveAfter int
	// MaxConns caps the pool; 0 means pgx's default.
	MaxConns int32
	// StatementTimeout, when positive, is set on every connection.
	StatementTimeout time.Duration
	// Logger receives debug lines; nil means none.
	Logger *zap.Logger
}

// Store is a handle to the catalog database. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	dsn    string
	opts   Options
	log    *zap.Logger
	inject func(phase string) error // test hook: fail Apply at a phase
	// writing admits one Apply of this process at a time (see Apply).
	writing chan struct{}
}

// Open connects to the database at dsn and checks the connection. It does
// not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", redactErr(err))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.StatementTimeout > 0 {
		if cfg.ConnConfig.RuntimeParams == nil {
			cfg.ConnConfig.RuntimeParams = map[string]string{}
		}
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "dbt-crawler"
	if opts.ArchiveAfter <= 0 {
		opts.ArchiveAfter = DefaultArchiveAfter
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the catalog database: %w", translate(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to the catalog database %s: %w", describe(cfg.ConnConfig), translate(err))
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{pool: pool, dsn: dsn, opts: opts, log: log.Named("store"), writing: make(chan struct{}, 1)}, nil
}

// Close closes all connections.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return translate(s.pool.Ping(ctx)) }

func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("(host %s port %d database %s user %s)", c.Host, c.Port, c.Database, c.User)
}

// inTx runs fn in one transaction, committing when fn returns nil and
// rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return translate(pgx.BeginFunc(ctx, s.pool, fn))
}

// Error is a database error with the SQLSTATE code when PostgreSQL gave one.
type Error struct {
	Code    string
	Message string
	err     error
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("database: %s (SQLSTATE %s)", e.Message, e.Code)
	}
	return "database: " + e.Message
}

func (e *Error) Unwrap() error { return e.err }

// translate turns driver errors into *Error, once, at the package boundary.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		msg := pg.Message
		if pg.Detail != "" {
			msg += ": " + pg.Detail
		}
		if pg.Code == "57014" {
			msg += " (statement timeout: raise the database statement_timeout for the crawler role or shrink the crawl scope)"
		}
		return &Error{Code: pg.Code, Message: msg, err: err}
	}
	return &Error{Message: redactErr(err).Error(), err: err}
}

// redactErr drops connection-string passwords from driver errors.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(redactDSN(err.Error()))
}
