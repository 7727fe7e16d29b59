package transport_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a clock whose Sleep advances time instead of waiting.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func response(req *http.Request, status int, body string, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{
		StatusCode: status,
		Status:     strconv.Itoa(status) + " " + http.StatusText(status),
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}
}

// scripted returns a base transport answering with statuses in order (the
// last one repeats) and counting calls.
func scripted(calls *atomic.Int64, steps ...func(*http.Request) (*http.Response, error)) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n := int(calls.Add(1)) - 1
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			_ = r.Body.Close()
		}
		return steps[min(n, len(steps)-1)](r)
	})
}

func status(code int, header ...string) func(*http.Request) (*http.Response, error) {
	return func(r *http.Request) (*http.Response, error) {
		return response(r, code, `{"status":{"code":`+strconv.Itoa(code)+`}}`, header...), nil
	}
}

func fail(err error) func(*http.Request) (*http.Response, error) {
	return func(*http.Request) (*http.Response, error) { return nil, err }
}

func newTestTransport(base http.RoundTripper, clock *fakeClock, mutate func(*transport.Options)) *transport.Transport {
	opts := transport.Options{
		Name:  "test",
		Now:   clock.Now,
		Sleep: clock.Sleep,
		Rand:  rand.New(rand.NewPCG(1, 2)),
	}
	if mutate != nil {
		mutate(&opts)
	}
	return transport.New(base, opts)
}

func get(t *testing.T, ctx context.Context, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token dbtc_secret_value")
	return rt.RoundTrip(req)
}

func TestRetryAfterHonoured(t *testing.T) {
	clock := newFakeClock()
	tests := []struct {
		name   string
		status int
		header string
		want   time.Duration
	}{
		{name: "delta seconds on 429", status: 429, header: "7", want: 7 * time.Second},
		{name: "http date on 429", status: 429, header: clock.Now().Add(30 * time.Second).Format(http.TimeFormat), want: 30 * time.Second},
		{name: "date in the past retries at once", status: 429, header: clock.Now().Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "delta seconds on 503", status: 503, header: "12", want: 12 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			var calls atomic.Int64
			tr := newTestTransport(scripted(&calls, status(tt.status, "Retry-After", tt.header), status(200)), clock, nil)
			resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.EqualValues(t, 2, calls.Load())
			if tt.want > 0 {
				require.Equal(t, []time.Duration{tt.want}, clock.Sleeps())
			} else {
				require.Empty(t, clock.Sleeps())
			}
			st := tr.Stats()
			require.EqualValues(t, 1, st.Retries)
			require.EqualValues(t, 2, st.Requests)
			if tt.status == 429 {
				require.EqualValues(t, 1, st.RateLimited)
			}
		})
	}
}

func TestRetryAfterBeyondMaxDelayIsNotWaited(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int64
	tr := newTestTransport(scripted(&calls, status(429, "Retry-After", "3600"), status(200)), clock, nil)
	resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.EqualValues(t, 1, calls.Load())
	require.Empty(t, clock.Sleeps())
}

func TestServerErrorsRetriedThenSuccess(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int64
	tr := newTestTransport(scripted(&calls, status(500), status(502), status(503), status(504), status(200)), clock, nil)
	resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/runs/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 5, calls.Load())
	sleeps := clock.Sleeps()
	require.Len(t, sleeps, 4)
	for i, d := range sleeps {
		require.LessOrEqual(t, d, transport.DefaultBaseDelay<<i, "retry %d waits within its full-jitter ceiling", i)
		require.GreaterOrEqual(t, d, time.Duration(0))
	}
	st := tr.Stats()
	require.EqualValues(t, 4, st.Retries)
	require.EqualValues(t, 4, st.Waits)
	endpoint := "GET /api/v2/accounts/{id}/runs/"
	require.Equal(t, map[transport.EndpointStatus]int64{
		{Endpoint: endpoint, Status: 500}: 1,
		{Endpoint: endpoint, Status: 502}: 1,
		{Endpoint: endpoint, Status: 503}: 1,
		{Endpoint: endpoint, Status: 504}: 1,
		{Endpoint: endpoint, Status: 200}: 1,
	}, st.Responses)
}

func TestNetworkErrorsRetried(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "unexpected EOF", err: io.ErrUnexpectedEOF},
		{name: "EOF", err: io.EOF},
		{name: "connection reset", err: &wrapped{msg: "read tcp: connection reset by peer", err: syscall.ECONNRESET}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			var calls atomic.Int64
			tr := newTestTransport(scripted(&calls, fail(tt.err), status(200)), clock, nil)
			resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.EqualValues(t, 2, calls.Load())
		})
	}
}

func TestOtherErrorsNotRetried(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int64
	boom := errors.New("no such host")
	tr := newTestTransport(scripted(&calls, fail(boom)), clock, nil)
	_, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
	require.ErrorIs(t, err, boom)
	require.EqualValues(t, 1, calls.Load())

	calls.Store(0)
	tr = newTestTransport(scripted(&calls, status(404)), clock, nil)
	resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.EqualValues(t, 1, calls.Load())
}

func TestRetriesExhausted(t *testing.T) {
	t.Run("last response is returned with its body", func(t *testing.T) {
		clock := newFakeClock()
		var calls atomic.Int64
		tr := newTestTransport(scripted(&calls, status(503)), clock, func(o *transport.Options) { o.MaxRetries = 3 })
		resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Contains(t, string(body), "503")
		require.EqualValues(t, 4, calls.Load())
		require.EqualValues(t, 3, tr.Stats().Retries)
	})
	t.Run("last error is returned with the attempt count", func(t *testing.T) {
		clock := newFakeClock()
		var calls atomic.Int64
		tr := newTestTransport(scripted(&calls, fail(io.ErrUnexpectedEOF)), clock, func(o *transport.Options) { o.MaxRetries = 2 })
		_, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.ErrorContains(t, err, "giving up after 3 attempts")
		require.ErrorContains(t, err, "GET /api/v2/accounts/{id}/")
		require.NotContains(t, err.Error(), "secret")
		require.EqualValues(t, 3, calls.Load())
	})
	t.Run("negative MaxRetries disables retries", func(t *testing.T) {
		clock := newFakeClock()
		var calls atomic.Int64
		tr := newTestTransport(scripted(&calls, status(503)), clock, func(o *transport.Options) { o.MaxRetries = -1 })
		resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.EqualValues(t, 1, calls.Load())
	})
}

func TestRateLimitBackoffGrowsTowardCooldown(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int64
	tr := newTestTransport(scripted(&calls, status(429)), clock, nil)
	resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.EqualValues(t, transport.DefaultMaxRetries+1, calls.Load())
	sleeps := clock.Sleeps()
	require.Len(t, sleeps, transport.DefaultMaxRetries)
	for i, d := range sleeps {
		ceiling := min(transport.DefaultRateLimitDelay<<i, transport.DefaultMaxDelay)
		require.GreaterOrEqual(t, d, ceiling/2, "wait %d", i)
		require.LessOrEqual(t, d, ceiling, "wait %d", i)
	}
	require.GreaterOrEqual(t, tr.Stats().WaitTime, transport.DefaultMaxDelay, "total backoff covers the cooldown")
	require.EqualValues(t, transport.DefaultMaxRetries+1, tr.Stats().RateLimited)
}

func TestRateLimitPausesOtherRequests(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int64
	tr := newTestTransport(scripted(&calls, status(429, "Retry-After", "10"), status(200)), clock, nil)

	// A POST is not retried, but its 429 still starts a cooldown that the
	// next request waits out before it is sent.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://x.us1.dbt.com/graphql", strings.NewReader("{}"))
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	resp, err = get(t, t.Context(), tr, "https://x.us1.dbt.com/api/v2/accounts/1/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, []time.Duration{10 * time.Second}, clock.Sleeps())
}

func TestCancelledContextEndsWaitAtOnce(t *testing.T) {
	t.Run("cancel during a long Retry-After wait", func(t *testing.T) {
		waiting := make(chan struct{})
		var once sync.Once
		var calls atomic.Int64
		tr := transport.New(scripted(&calls, status(429, "Retry-After", "300")), transport.Options{
			Sleep: func(ctx context.Context, d time.Duration) error {
				once.Do(func() { close(waiting) })
				return transport.Sleep(ctx, d)
			},
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			resp, err := get(t, ctx, tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
			if resp != nil {
				_ = resp.Body.Close()
			}
			done <- err
		}()
		<-waiting
		cancel()
		err := <-done
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorContains(t, err, "before retry")
		require.EqualValues(t, 1, calls.Load())
	})
	t.Run("already cancelled context sends nothing", func(t *testing.T) {
		var calls atomic.Int64
		tr := transport.New(scripted(&calls, status(200)), transport.Options{Budget: transport.AdminBudget()})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := get(t, ctx, tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
		require.ErrorIs(t, err, context.Canceled)
		require.EqualValues(t, 0, calls.Load())
	})
	t.Run("cancel while waiting for the budget", func(t *testing.T) {
		var calls atomic.Int64
		waiting := make(chan struct{})
		var once sync.Once
		tr := transport.New(scripted(&calls, status(200)), transport.Options{
			Budget: transport.Budget{PerMinute: 1, Burst: 1},
			Sleep: func(ctx context.Context, d time.Duration) error {
				once.Do(func() { close(waiting) })
				return transport.Sleep(ctx, d)
			},
		})
		resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := get(t, ctx, tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
			done <- err
		}()
		<-waiting
		cancel()
		err = <-done
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorContains(t, err, "request budget")
		require.EqualValues(t, 1, calls.Load())
	})
}

func TestBudgetHoldsUnderConfiguredRate(t *testing.T) {
	tests := []struct {
		name   string
		budget transport.Budget
		limit  int // dbt's documented per-minute limit
		calls  int
	}{
		{name: "admin budget over 10000 calls", budget: transport.AdminBudget(), limit: 5000, calls: 10000},
		{name: "discovery budget over 2000 calls", budget: transport.DiscoveryBudget(), limit: 500, calls: 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			start := clock.Now()
			sent := make([]time.Time, 0, tt.calls)
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = append(sent, clock.Now())
				return response(r, 200, "{}"), nil
			})
			tr := newTestTransport(base, clock, func(o *transport.Options) { o.Budget = tt.budget })
			for range tt.calls {
				resp, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
			}
			require.Len(t, sent, tt.calls)

			// Sliding one-minute windows never exceed the budget's bound, which
			// is itself below dbt's documented limit.
			bound := tt.budget.Burst + int(tt.budget.PerMinute)
			require.Less(t, bound, tt.limit)
			maxInWindow, lo := 0, 0
			for hi := range sent {
				for sent[hi].Sub(sent[lo]) >= time.Minute {
					lo++
				}
				maxInWindow = max(maxInWindow, hi-lo+1)
			}
			require.LessOrEqual(t, maxInWindow, bound)

			// The whole run takes as long as the rate demands, no longer.
			elapsed := sent[len(sent)-1].Sub(start)
			want := time.Duration(float64(tt.calls-tt.budget.Burst) / tt.budget.PerMinute * float64(time.Minute))
			require.InDelta(t, want.Seconds(), elapsed.Seconds(), 1)
			st := tr.Stats()
			require.EqualValues(t, tt.calls, st.Requests)
			require.EqualValues(t, tt.calls-tt.budget.Burst, st.Waits)
			require.InDelta(t, elapsed.Seconds(), st.WaitTime.Seconds(), 1)
		})
	}
}

func TestPOSTRetriedOnlyWhenMarked(t *testing.T) {
	tests := []struct {
		name      string
		ctx       func(context.Context) context.Context
		header    string
		retryPOST bool
		wantCalls int64
	}{
		{name: "plain POST is not retried", wantCalls: 1},
		{name: "context marked retryable", ctx: transport.WithRetryable, wantCalls: 2},
		{name: "RetryPOST option", retryPOST: true, wantCalls: 2},
		{name: "Idempotency-Key header", header: "Idempotency-Key", wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			var calls atomic.Int64
			tr := newTestTransport(scripted(&calls, status(503), status(200)), clock, func(o *transport.Options) { o.RetryPOST = tt.retryPOST })
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://ab123.metadata.us1.dbt.com/graphql", strings.NewReader(`{"query":"{ x }"}`))
			require.NoError(t, err)
			if tt.header != "" {
				req.Header.Set(tt.header, "k1")
			}
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, tt.wantCalls, calls.Load())
		})
	}
}

func TestBodyReplayedOnRetry(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, `{"data":{}}`)
	}))
	defer srv.Close()

	clock := newFakeClock()
	tr := newTestTransport(srv.Client().Transport, clock, func(o *transport.Options) { o.RetryPOST = true })
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	const payload = `{"query":"{ environment(id: 1) { applied { models { totalCount } } } }"}`
	resp, err := client.Post(srv.URL+"/graphql", "application/json", strings.NewReader(payload))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []string{payload, payload}, bodies)
}

func TestBodyWithoutGetBodyIsNotRetried(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int64
	tr := newTestTransport(scripted(&calls, status(503), status(200)), clock, func(o *transport.Options) { o.RetryPOST = true })
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://x/graphql", io.NopCloser(strings.NewReader("{}")))
	require.NoError(t, err)
	require.Nil(t, req.GetBody)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.EqualValues(t, 1, calls.Load())
}

func TestConnectionDroppedByServerIsRetried(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	clock := newFakeClock()
	tr := newTestTransport(srv.Client().Transport, clock, nil)
	defer tr.CloseIdleConnections()
	resp, err := get(t, t.Context(), tr, srv.URL+"/api/v2/accounts/1/")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "ok", string(b))
	require.EqualValues(t, 2, calls.Load())
}

func TestHeaderTimeoutRetriedThenReported(t *testing.T) {
	var calls atomic.Int64
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	clock := newFakeClock()
	tr := newTestTransport(base, clock, func(o *transport.Options) {
		o.Timeout = 10 * time.Millisecond
		o.MaxRetries = 1
	})
	_, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/")
	require.ErrorContains(t, err, "no response headers within 10ms")
	require.ErrorContains(t, err, "giving up after 2 attempts")
	require.EqualValues(t, 2, calls.Load())
}

func TestTimeoutDoesNotCutOffBodyReads(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second")
	}))
	defer srv.Close()
	tr := transport.New(srv.Client().Transport, transport.Options{Timeout: 5 * time.Millisecond})
	defer tr.CloseIdleConnections()
	resp, err := get(t, t.Context(), tr, srv.URL+"/api/v2/accounts/1/runs/2/artifacts/manifest.json")
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString(' ')
	require.NoError(t, err)
	require.Equal(t, "first ", first)
	// Let the body continue only after the header timeout would have fired.
	timer := time.NewTimer(20 * time.Millisecond)
	<-timer.C
	close(release)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "second", string(rest))
}

func TestBytesCounted(t *testing.T) {
	payload := strings.Repeat("x", 12345)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, payload)
	}))
	defer srv.Close()
	tr := transport.New(srv.Client().Transport, transport.Options{})
	defer tr.CloseIdleConnections()
	for range 3 {
		resp, err := get(t, t.Context(), tr, srv.URL+"/api/v2/accounts/1/runs/9/artifacts/manifest.json")
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	st := tr.Stats()
	require.EqualValues(t, 3*len(payload), st.BytesRead)
	require.Equal(t, map[transport.EndpointStatus]int64{
		{Endpoint: "GET /api/v2/accounts/{id}/runs/{id}/artifacts/{path}", Status: 200}: 3,
	}, st.Responses)

	before := st
	resp, err := get(t, t.Context(), tr, srv.URL+"/x")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	diff := tr.Stats().Sub(before)
	require.EqualValues(t, 1, diff.Requests)
	require.EqualValues(t, len(payload), diff.BytesRead)
	require.Equal(t, map[transport.EndpointStatus]int64{{Endpoint: "GET /x", Status: 200}: 1}, diff.Responses)

	tr.Reset()
	require.Equal(t, transport.Stats{Responses: map[transport.EndpointStatus]int64{}}, tr.Stats())
}

func TestAuthorizationNeverLogged(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	clock := newFakeClock()
	var calls atomic.Int64
	tr := newTestTransport(scripted(&calls, status(503), status(429), fail(io.ErrUnexpectedEOF)), clock, func(o *transport.Options) {
		o.Logger = zap.New(core)
		o.MaxRetries = 3
	})
	_, err := get(t, t.Context(), tr, "https://ab123.us1.dbt.com/api/v2/accounts/1/?q=1")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "dbtc_secret_value")
	require.NotZero(t, logs.Len())
	for _, e := range logs.All() {
		require.NotContains(t, e.Message, "secret")
		for k, v := range e.ContextMap() {
			require.NotContains(t, k+"="+toString(v), "secret")
			require.NotContains(t, toString(v), "q=1")
		}
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case error:
		return x.Error()
	default:
		return ""
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/api/v2/accounts/123/", "GET /api/v2/accounts/{id}/"},
		{"GET", "/api/v3/accounts/123/projects/45/environments/", "GET /api/v3/accounts/{id}/projects/{id}/environments/"},
		{"GET", "/api/v2/accounts/1/runs/2/artifacts/", "GET /api/v2/accounts/{id}/runs/{id}/artifacts/"},
		{"GET", "/api/v2/accounts/1/runs/2/artifacts/compiled/p/models/a.sql", "GET /api/v2/accounts/{id}/runs/{id}/artifacts/{path}"},
		{"POST", "/graphql", "POST /graphql"},
		{"", "", "GET /"},
		{"GET", "/api/v2/accounts/12a/", "GET /api/v2/accounts/12a/"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, transport.Endpoint(tt.method, tt.path))
		})
	}
}

func TestBudgetLimiter(t *testing.T) {
	require.Nil(t, transport.Budget{}.Limiter())
	l := transport.Budget{PerMinute: 60}.Limiter()
	require.NotNil(t, l)
	require.Equal(t, 1, l.Burst())
	require.InDelta(t, 1.0, float64(l.Limit()), 1e-9)
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
