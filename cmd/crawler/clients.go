package main

import (
	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
)

// newClients builds one connection's API clients with the configured
// request timeout.
func newClients(cfg *config.Config, conn config.Connection, log *zap.Logger) (*crawl.Clients, error) {
	return crawl.Connect(conn, crawl.ConnectOptions{
		RequestTimeout: cfg.RequestTimeout,
		UserAgent:      "dbt-crawler/" + version,
		Logger:         log,
	})
}
