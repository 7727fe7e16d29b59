package crawl

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// Meter counts the HTTP traffic of one environment's crawl: requests sent
// (attempts, retries included), 429 answers, bytes read. A crawl puts its
// Meter in the request context; the RoundTripper from MeterTransport
// records into it.
type Meter struct {
	Requests    atomic.Int64
	RateLimited atomic.Int64
	Bytes       atomic.Int64
	Artifacts   atomic.Int64
	// Discovery counts the attempts sent to the Discovery API.
	Discovery atomic.Int64
	// Logical counts requests made by the clients before retries; Requests
	// minus Logical is the number of retries.
	Logical atomic.Int64
}

type meterKey struct{}

// WithMeter returns a context whose HTTP requests are counted in m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterFrom(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

// MeterTransport wraps base so that requests carrying a Meter in their
// context are counted. Install it twice: outside the retrying transport
// with logical true (counting client calls), and inside it, around the
// network transport, with logical false (counting attempts and bytes).
func MeterTransport(base http.RoundTripper, logical bool) http.RoundTripper {
	return &meterRT{base: base, logical: logical}
}

type meterRT struct {
	base    http.RoundTripper
	logical bool
}

func (t *meterRT) RoundTrip(req *http.Request) (*http.Response, error) {
	m := meterFrom(req.Context())
	if m == nil {
		return t.base.RoundTrip(req)
	}
	if t.logical {
		m.Logical.Add(1)
		return t.base.RoundTrip(req)
	}
	m.Requests.Add(1)
	if strings.HasSuffix(req.URL.Path, "/graphql") {
		m.Discovery.Add(1)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		m.RateLimited.Add(1)
	}
	resp.Body = &countBody{ReadCloser: resp.Body, m: m}
	return resp, nil
}

type countBody struct {
	io.ReadCloser
	m *Meter
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.m.Bytes.Add(int64(n))
	return n, err
}
