package main

import (
	"context"
	"fmt"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

func checkDatabase(ctx context.Context, cfg *config.Config) checkResult {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return checkResult{"database", "FAIL", err.Error() + ": check DATABASE_URL, the network and the role's password"}
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return checkResult{"database", "warn", "connected; migrations not applied yet (crawler run and schedule apply them, or run crawler migrate)"}
	}
	return checkResult{"database", "ok", fmt.Sprintf("connected; schema at version %d", v)}
}
