package main

import (
	"fmt"

	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// recordTransport adds one crawl's transport counters to the metrics. Each
// crawl builds fresh clients, so the counters are that crawl's.
func recordTransport(m *metrics, conn, api string, s transport.Stats) {
	for k, n := range s.Responses {
		m.requests.WithLabelValues(conn, api, k.Endpoint, fmt.Sprint(k.Status)).Add(float64(n))
	}
	m.rateLimited.WithLabelValues(conn, api).Add(float64(s.Waits))
	m.bytes.WithLabelValues(conn, api).Add(float64(s.BytesRead))
}
