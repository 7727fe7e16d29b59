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
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if err != errSilent {
			fmt.Fprintln(os.Stderr, "crawler:", err)
		}
		os.Exit(exitCode(err))
	}
}
