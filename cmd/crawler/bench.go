package main

import (
	"context"
	"io"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

func cmdBench(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	return usageError{"bench is not available in this build"}
}
