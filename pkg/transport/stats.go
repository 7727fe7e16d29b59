package transport

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EndpointStatus keys per-endpoint response counts: Endpoint as returned by
// the Endpoint function and the HTTP status, 0 for a network error.
type EndpointStatus struct {
	Endpoint string
	Status   int
}

// Stats is a snapshot of a Transport's counters.
type Stats struct {
	// Requests counts attempts sent to the server, retries included.
	Requests int64
	// Retries counts attempts that were repeated.
	Retries int64
	// RateLimited counts 429 responses.
	RateLimited int64
	// Waits counts waits for the rate limiter, a 429 cooldown or a backoff.
	Waits int64
	// WaitTime is the total time of those waits.
	WaitTime time.Duration
	// BytesRead counts response body bytes read by callers.
	BytesRead int64
	// Responses counts attempts per endpoint and status.
	Responses map[EndpointStatus]int64
}

// Sub returns the counts accrued between prev and s, for reporting one crawl
// out of a long-lived transport. Endpoints with no new responses are left out.
func (s Stats) Sub(prev Stats) Stats {
	d := Stats{
		Requests:    s.Requests - prev.Requests,
		Retries:     s.Retries - prev.Retries,
		RateLimited: s.RateLimited - prev.RateLimited,
		Waits:       s.Waits - prev.Waits,
		WaitTime:    s.WaitTime - prev.WaitTime,
		BytesRead:   s.BytesRead - prev.BytesRead,
		Responses:   make(map[EndpointStatus]int64, len(s.Responses)),
	}
	for k, v := range s.Responses {
		if n := v - prev.Responses[k]; n != 0 {
			d.Responses[k] = n
		}
	}
	return d
}

type counters struct {
	requests    atomic.Int64
	retries     atomic.Int64
	rateLimited atomic.Int64
	waits       atomic.Int64
	waitNanos   atomic.Int64
	bytesRead   atomic.Int64

	mu        sync.Mutex
	endpoints map[EndpointStatus]int64
}

func (c *counters) record(endpoint string, status int) {
	c.mu.Lock()
	c.endpoints[EndpointStatus{Endpoint: endpoint, Status: status}]++
	c.mu.Unlock()
}

// Stats returns a snapshot of the transport's counters since New or the last
// Reset.
func (t *Transport) Stats() Stats {
	c := &t.counters
	c.mu.Lock()
	responses := maps.Clone(c.endpoints)
	c.mu.Unlock()
	return Stats{
		Requests:    c.requests.Load(),
		Retries:     c.retries.Load(),
		RateLimited: c.rateLimited.Load(),
		Waits:       c.waits.Load(),
		WaitTime:    time.Duration(c.waitNanos.Load()),
		BytesRead:   c.bytesRead.Load(),
		Responses:   responses,
	}
}

// Reset sets every counter to zero. Prefer Stats.Sub when several readers
// share the transport.
func (t *Transport) Reset() {
	c := &t.counters
	c.requests.Store(0)
	c.retries.Store(0)
	c.rateLimited.Store(0)
	c.waits.Store(0)
	c.waitNanos.Store(0)
	c.bytesRead.Store(0)
	c.mu.Lock()
	clear(c.endpoints)
	c.mu.Unlock()
}

// Endpoint names a request for metrics: the method, a space and the URL path
// with every all-digit segment replaced by "{id}" and whatever follows an
// "artifacts" segment replaced by "{path}", e.g.
// "GET /api/v2/accounts/{id}/runs/{id}/artifacts/{path}". The query string is
// never included.
func Endpoint(method, path string) string {
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/"
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s == "artifacts" && i+1 < len(segs) && segs[i+1] != "" {
			segs = append(segs[:i+1], "{path}")
			break
		}
		if isDigits(s) {
			segs[i] = "{id}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
