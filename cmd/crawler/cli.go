package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

// errSilent is returned when the failure was already reported in full.
var errSilent = errors.New("failed")

// usageError is a command-line mistake: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

const usage = `crawler keeps a PostgreSQL catalog of a dbt Cloud estate in sync.

Commands:
  run       crawl once (--project/--environment/--job narrow it); non-zero exit on failure
  schedule  crawl on each connection's cron schedule; serves /healthz /readyz /metrics
  check     preflight: configuration, both APIs, permissions; prints what to fix
  ingest    load dbt Core artifacts from a target/ directory (--dir)
  migrate   apply database migrations
  emulate   serve the dbt Cloud emulator (--listen)
  demo      emulator + embedded PostgreSQL + crawl + summary
  bench     run the benchmark scenarios
  version   print the version

Run "crawler COMMAND -h" for a command's flags. Configuration: flags, then
environment variables (DBT_CLOUD_ACCESS_URL, DBT_CLOUD_ACCOUNT_ID,
DBT_CLOUD_TOKEN or DBT_CLOUD_TOKEN_FILE, DATABASE_URL, CRAWLER_DATA_DIR),
then the YAML file given by --config. See docs/operations.md.
`

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return usageError{"no command given"}
		}
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "crawler", version)
		return nil
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "ingest":
		return cmdIngest(ctx, rest, getenv, stdout, stderr)
	case "emulate":
		return cmdEmulate(ctx, rest, getenv, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, getenv, stdout, stderr)
	case "schedule":
		return cmdSchedule(ctx, rest, getenv, stdout, stderr)
	case "check":
		return cmdCheck(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, getenv, stdout, stderr)
	default:
		return usageError{fmt.Sprintf("unknown command %q: run \"crawler help\"", cmd)}
	}
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// common are the flags every command that touches the database accepts.
type common struct {
	configFile  string
	databaseURL string
	dataDir     string
	logLevel    string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configFile, "config", "", "YAML configuration file (or CRAWLER_CONFIG)")
	fs.StringVar(&c.databaseURL, "database-url", "", "PostgreSQL DSN (or DATABASE_URL); empty runs an embedded PostgreSQL")
	fs.StringVar(&c.dataDir, "data-dir", "", "where embedded state lives (or CRAWLER_DATA_DIR)")
	fs.StringVar(&c.logLevel, "log-level", "", "debug, info, warn or error (or CRAWLER_LOG_LEVEL)")
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

var errHelp = errors.New("help requested")

// loadConfig loads and validates the configuration.
func loadConfig(c common, fl config.Flags, getenv config.Env, needConnections bool, log *zap.Logger) (*config.Config, error) {
	fl.ConfigFile, fl.DatabaseURL, fl.DataDir = c.configFile, c.databaseURL, c.dataDir
	cfg, err := config.Load(fl, getenv)
	if err != nil {
		return nil, err
	}
	if c.logLevel != "" {
		cfg.LogLevel = c.logLevel
	}
	if err := cfg.Validate(needConnections); err != nil {
		return nil, fmt.Errorf("configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	return cfg, nil
}

// newLogger writes structured logs to stderr.
func newLogger(level, format string, stderr io.Writer) *zap.Logger {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		lvl = zapcore.InfoLevel
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(stderr), lvl))
}
