package transport_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// BenchmarkRoundTrip measures the transport's own overhead per request
// (limiter, counters, body wrapper) over an in-memory base transport.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name   string
		budget transport.Budget
	}{
		{name: "no budget"},
		{name: "huge budget", budget: transport.Budget{PerMinute: 1e12, Burst: 1 << 30}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}, Request: r}, nil
			})
			tr := transport.New(base, transport.Options{Budget: bc.budget})
			req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, "https://ab123.us1.dbt.com/api/v2/accounts/1/runs/2/", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := tr.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
}
