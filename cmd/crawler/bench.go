package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/dbt-crawler/dbt-crawler/internal/bench"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

// goMemLimit is the syntax the Go runtime accepts in GOMEMLIMIT.
var goMemLimit = regexp.MustCompile(`^[0-9]+(B|KiB|MiB|GiB|TiB)?$`)

// cmdBench runs the benchmark scenarios (internal/bench), prints the table
// and writes the JSON results. Missed targets are reported, not failed,
// unless --strict is given.
func cmdBench(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "use the development sizes (minutes instead of a quarter hour)")
	var scenarios listFlag
	fs.Var(&scenarios, "scenario", "run only this scenario (repeatable): "+strings.Join(bench.Scenarios(), ", "))
	out := fs.String("out", "bench/results.json", "write the results as JSON to this file (empty: do not)")
	dbURL := fs.String("database-url", "", "PostgreSQL server to create the benchmark databases on (or DATABASE_URL; the role needs CREATEDB); empty starts a private one")
	profile := fs.String("profile", "", "crawl in this process under the profiler and write CPU and allocation profiles to this directory")
	binary := fs.String("crawler", "", "crawler binary to measure as a child process (default: this executable)")
	strict := fs.Bool("strict", false, "exit non-zero when a target is missed")
	crawlerLog := fs.String("crawler-log", "", "append the measured crawler's output (its stderr and stdout, e.g. GODEBUG=gctrace=1 lines) to this file")
	samples := fs.Int("crawl-samples", 0, "crawl account this many times, each from an empty catalog, and report the medians (0: 5, or 3 with -quick)")
	memLimit := fs.String("crawler-memory-limit", "460MiB", "GOMEMLIMIT of the measured crawler, as a deployment sets it from its container limit (here a 512 MiB container, less 10%); \"off\" for the Go runtime's default")
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	opts := bench.Options{
		Quick:        *quick,
		Scenarios:    scenarios,
		DatabaseURL:  *dbURL,
		CrawlerPath:  *binary,
		ProfileDir:   *profile,
		Progress:     stderr,
		CrawlerLog:   *crawlerLog,
		CrawlSamples: *samples,
	}
	if *memLimit != "off" {
		if !goMemLimit.MatchString(*memLimit) {
			return fmt.Errorf("--crawler-memory-limit %q: want a size such as 460MiB or 2GiB (B, KiB, MiB, GiB, TiB), or off", *memLimit)
		}
		opts.CrawlerMemoryLimit = *memLimit
	}
	if opts.DatabaseURL == "" {
		opts.DatabaseURL = getenv("DATABASE_URL")
	}
	if opts.CrawlerPath == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the crawler executable (pass --crawler): %w", err)
		}
		opts.CrawlerPath = exe
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG", "PG_BINDIR"} {
		if v := getenv(k); v != "" {
			opts.Environ = append(opts.Environ, k+"="+v)
		}
	}
	res, err := bench.Run(ctx, opts)
	if res != nil && len(res.Scenarios) > 0 {
		if werr := res.WriteTable(stdout); werr != nil && err == nil {
			err = werr
		}
		if *out != "" {
			if werr := res.WriteJSON(*out); werr != nil && err == nil {
				err = werr
			} else if werr == nil {
				fmt.Fprintf(stdout, "\nresults written to %s\n", *out)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if *strict && !res.Passed() {
		return fmt.Errorf("bench: targets missed (see the table above)")
	}
	return nil
}
