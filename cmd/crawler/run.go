package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

func cmdRun(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs)
	var projects, envs, jobs listFlag
	fs.Var(&projects, "project", "crawl only this project (ID or name glob; repeatable)")
	fs.Var(&envs, "environment", "crawl only this environment (ID or name glob; repeatable)")
	fs.Var(&jobs, "job", "use only this job's runs (ID or name glob; repeatable)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	boot := newLogger("info", "json", stderr)
	cfg, err := loadConfig(c, config.Flags{Projects: projects, Environments: envs, Jobs: jobs}, getenv, true, boot)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	defer log.Sync() //nolint:errcheck
	st, _, closeFn, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	reports, err := crawlAll(ctx, cfg, st, log, progressFor(stderr))
	printSummary(stdout, reports)
	if err != nil {
		return err
	}
	return nil
}

// crawlAll crawls every connection once and returns their reports; the
// error joins every failure.
func crawlAll(ctx context.Context, cfg *config.Config, st *store.Store, log *zap.Logger, progress func(crawl.Progress)) ([]*crawl.Report, error) {
	var reports []*crawl.Report
	var errs []error
	for _, conn := range cfg.Connections {
		rep, err := crawlConnection(ctx, cfg, conn, st, log, progress)
		if rep != nil {
			reports = append(reports, rep)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("connection %q: %w", conn.Name, err))
		}
	}
	return reports, errors.Join(errs...)
}

func crawlConnection(ctx context.Context, cfg *config.Config, conn config.Connection, st *store.Store, log *zap.Logger, progress func(crawl.Progress)) (*crawl.Report, error) {
	cl, err := newClients(cfg, conn, log)
	if err != nil {
		return nil, err
	}
	return crawlConnectionWith(ctx, cfg, conn, cl, st, log, progress)
}

func crawlConnectionWith(ctx context.Context, cfg *config.Config, conn config.Connection, cl *crawl.Clients, st *store.Store, log *zap.Logger, progress func(crawl.Progress)) (*crawl.Report, error) {
	log = log.With(zap.String("connection", conn.Name))
	ctx, cancel := context.WithTimeout(ctx, cfg.CrawlTimeout)
	defer cancel()
	cr := crawl.New(cl.Admin, cl.Discovery, st, crawl.Options{
		Projects:           conn.Projects,
		Environments:       conn.Environments,
		Jobs:               conn.Jobs,
		IncludeDevelopment: conn.IncludeDevelopment,
		Concurrency:        cfg.Concurrency,
		MaxArtifactBytes:   cfg.MaxArtifactBytes,
		MaxJSONDepth:       cfg.MaxJSONDepth,
		Logger:             log,
		Progress:           progress,
		DiscoveryBudget:    budgetOf(cl),
		FullReadEvery:      cfg.AppliedFullReadEvery,
	})
	rep := cr.Run(ctx)
	return rep, rep.Error()
}

// printSummary writes the human summary of a crawl.
func printSummary(w io.Writer, reports []*crawl.Report) {
	for _, rep := range reports {
		if rep.Err != nil {
			fmt.Fprintf(w, "account %d: crawl failed before any environment: %v\n", rep.AccountID, rep.Err)
			continue
		}
		fmt.Fprintf(w, "account %d: %d environments in %s\n", rep.AccountID, len(rep.Environments), rep.FinishedAt.Sub(rep.StartedAt).Round(time.Millisecond))
		fmt.Fprintf(w, "  %-28s %-10s %8s %8s %8s %9s %8s %8s %6s %9s\n", "environment", "status", "inserted", "updated", "archived", "unchanged", "tests+", "requests", "runs", "bytes")
		for _, e := range rep.Environments {
			name := e.Scope.ProjectName + " / " + e.Scope.EnvironmentName
			if len(name) > 28 {
				name = name[:27] + "…"
			}
			fmt.Fprintf(w, "  %-28s %-10s %8d %8d %8d %9d %8d %8d %6d %9s\n", name, e.Status, e.Result.Inserted, e.Result.Updated,
				e.Result.Archived, e.Result.Unchanged, e.Result.TestResultsAdded, e.Requests, e.NewRuns, humanBytes(e.Bytes))
			for _, wn := range e.Warnings {
				fmt.Fprintf(w, "      warning %s (x%d): %s\n", wn.Code, wn.Count, wn.Message)
			}
			if e.Err != nil {
				fmt.Fprintf(w, "      error: %s\n", strings.ReplaceAll(e.Err.Error(), "\n", "\n             "))
			}
			if e.Status != crawl.StatusFailed && !e.Discovery {
				fmt.Fprintf(w, "      note: crawled from artifacts alone (no Discovery API applied state)\n")
			}
		}
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// budgetOf returns the Discovery transport to precharge, or nil.
func budgetOf(cl *crawl.Clients) interface{ Precharge(int, time.Time) } {
	if cl.DiscoveryT == nil {
		return nil
	}
	return cl.DiscoveryT
}
