// Command crawler keeps a PostgreSQL catalog of a dbt Cloud estate in sync.
//
// Usage:
//
//	crawler run      [--project ID]... [--environment ID]... [--job ID]...
//	crawler schedule
//	crawler check
//	crawler ingest   --dir PATH [--project NAME] [--environment NAME]
//	crawler migrate  [--down]
//	crawler emulate  --listen ADDR
//	crawler demo
//	crawler bench    [--quick] [--out FILE]
//	crawler version
//
// Configuration comes from flags, then environment variables, then the YAML
// file named by --config; see docs/operations.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dbt-crawler/dbt-crawler/internal/gcfloor"
)

// crawlingCommands are the commands that crawl or ingest, whose collector
// runs under a heap floor when a memory limit is set.
var crawlingCommands = map[string]bool{"run": true, "schedule": true, "ingest": true}

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var floor *gcfloor.Floor
	if len(os.Args) > 1 && crawlingCommands[os.Args[1]] {
		// A container's memory limit (GOMEMLIMIT) leaves room the
		// collector may use: see package gcfloor.
		floor = gcfloor.Start(gcfloor.FromLimit())
	}
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if floor != nil {
		floor.Stop()
	}
	stop()
	if err != nil {
		if err != errSilent {
			fmt.Fprintln(os.Stderr, "crawler:", err)
		}
		os.Exit(exitCode(err))
	}
}
