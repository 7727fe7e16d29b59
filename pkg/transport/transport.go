// Package transport is the retrying, rate-limited http.RoundTripper shared by
// the dbt Cloud API clients.
//
// A Transport wraps a base RoundTripper. It keeps requests under a
// requests-per-minute budget (a token bucket), retries idempotent requests on
// 429, 500, 502, 503 and 504 responses, connection resets, unexpected EOFs and
// timeouts, honours Retry-After, and otherwise backs off exponentially with
// jitter up to a cap (dbt Cloud's documented five-minute cooldown). Every
// wait ends as soon as the request's context is done. Counters describing the
// traffic are read with Stats.
//
// The transport never logs or returns request headers, so the Authorization
// header cannot leak through it.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Defaults used when the corresponding Options field is zero.
const (
	DefaultMaxRetries     = 6
	DefaultBaseDelay      = time.Second
	DefaultRateLimitDelay = 10 * time.Second
	DefaultMaxDelay       = 5 * time.Minute
	DefaultTimeout        = 60 * time.Second
)

// Budget is a request budget: at most PerMinute requests per minute on
// average, with bursts of up to Burst requests. Over any window of length w
// the transport sends at most Burst + PerMinute*w/1min requests.
type Budget struct {
	PerMinute float64
	Burst     int
	// Rolling, when true, enforces the budget as a rolling window instead:
	// at most PerMinute requests in any 60-second interval, with no burst
	// limit inside it (Burst is ignored). This is exactly the shape of
	// dbt Cloud's per-minute limits, so a crawl smaller than one minute's
	// budget never waits, and a larger one still never exceeds the limit.
	Rolling bool
}

// AdminBudget is the budget for dbt Cloud's Administrative API, whose
// documented limit is 5,000 requests per minute per account. It keeps
// headroom so that a full burst plus a minute of steady traffic stays below
// that limit (4,800/min, burst 100: at most 4,900 in any minute).
func AdminBudget() Budget { return Budget{PerMinute: 4800, Burst: 100} }

// DiscoveryBudget is the budget for dbt Cloud's Discovery (GraphQL) API,
// whose documented limit is 500 requests per minute. It keeps headroom like
// AdminBudget (450/min, burst 25: at most 475 in any minute).
func DiscoveryBudget() Budget { return Budget{PerMinute: 450, Burst: 25} }

// Limiter returns a new token-bucket limiter for the budget, or nil when
// PerMinute is not positive (no limit). A Burst below 1 is treated as 1.
func (b Budget) Limiter() *rate.Limiter {
	if b.PerMinute <= 0 || b.Rolling {
		return nil
	}
	burst := max(b.Burst, 1)
	return rate.NewLimiter(rate.Limit(b.PerMinute/60), burst)
}

// Options configures a Transport. The zero value is usable: defaults are
// stated per field.
type Options struct {
	// Name identifies the transport in logs and metrics, e.g. "admin".
	Name string
	// MaxRetries is how many times one request is retried; 0 means
	// DefaultMaxRetries (6) and a negative value disables retries.
	MaxRetries int
	// BaseDelay is the first backoff ceiling for 5xx responses and network
	// errors; it doubles per retry. Default DefaultBaseDelay (1s).
	BaseDelay time.Duration
	// RateLimitDelay is the first backoff ceiling for a 429 without
	// Retry-After; it doubles per retry toward MaxDelay. Default
	// DefaultRateLimitDelay (10s).
	RateLimitDelay time.Duration
	// MaxDelay caps every backoff. A Retry-After longer than MaxDelay is not
	// waited for: the response is returned to the caller. Default
	// DefaultMaxDelay (5 min, dbt Cloud's rate-limit cooldown).
	MaxDelay time.Duration
	// Timeout bounds each attempt until its response headers arrive; reading
	// the body is governed by the request context only, so large downloads
	// are not cut off. 0 means DefaultTimeout (60s); negative disables it.
	Timeout time.Duration
	// Budget limits the request rate; the zero Budget means no limit. Use
	// AdminBudget or DiscoveryBudget.
	Budget Budget
	// Limiter, when set, is used instead of Budget, so several transports
	// can share one budget (dbt Cloud's limits are per account).
	Limiter *rate.Limiter
	// RetryPOST makes POST requests retryable, as for GraphQL queries, which
	// are idempotent. Without it a request is retryable when its method is
	// GET, HEAD, OPTIONS or TRACE, its context was marked by WithRetryable,
	// or it carries an Idempotency-Key or X-Idempotency-Key header.
	RetryPOST bool
	// Logger receives retry and give-up events; nil means no logging.
	Logger *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() in the
	// latter case; nil means Sleep from this package.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand is the jitter source; nil means a randomly seeded source. It is
	// used under the transport's own lock.
	Rand *rand.Rand
}

// Transport is a retrying, rate-limited http.RoundTripper. It is safe for
// concurrent use. Create it with New.
type Transport struct {
	base           http.RoundTripper
	name           string
	maxRetries     int
	baseDelay      time.Duration
	rateLimitDelay time.Duration
	maxDelay       time.Duration
	timeout        time.Duration
	limiter        *rate.Limiter
	window         *window
	retryPOST      bool
	log            *zap.Logger
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error

	randMu sync.Mutex
	rnd    *rand.Rand

	// pausedUntil is the UnixNano time before which no request is sent,
	// set by a 429 so that concurrent requests share its cooldown.
	pausedUntil atomic.Int64

	counters counters
}

// New returns a Transport sending through base (nil means a clone of
// http.DefaultTransport) with opts.
func New(base http.RoundTripper, opts Options) *Transport {
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt.Clone()
		} else {
			base = http.DefaultTransport
		}
	}
	t := &Transport{
		base:           base,
		name:           opts.Name,
		maxRetries:     opts.MaxRetries,
		baseDelay:      opts.BaseDelay,
		rateLimitDelay: opts.RateLimitDelay,
		maxDelay:       opts.MaxDelay,
		timeout:        opts.Timeout,
		limiter:        opts.Limiter,
		retryPOST:      opts.RetryPOST,
		log:            opts.Logger,
		now:            opts.Now,
		sleep:          opts.Sleep,
		rnd:            opts.Rand,
	}
	if t.name == "" {
		t.name = "http"
	}
	switch {
	case t.maxRetries == 0:
		t.maxRetries = DefaultMaxRetries
	case t.maxRetries < 0:
		t.maxRetries = 0
	}
	if t.baseDelay <= 0 {
		t.baseDelay = DefaultBaseDelay
	}
	if t.rateLimitDelay <= 0 {
		t.rateLimitDelay = DefaultRateLimitDelay
	}
	if t.maxDelay <= 0 {
		t.maxDelay = DefaultMaxDelay
	}
	switch {
	case t.timeout == 0:
		t.timeout = DefaultTimeout
	case t.timeout < 0:
		t.timeout = 0
	}
	if t.limiter == nil {
		t.limiter = opts.Budget.Limiter()
	}
	if t.limiter == nil && opts.Budget.Rolling && opts.Budget.PerMinute >= 1 {
		t.window = newWindow(int(opts.Budget.PerMinute), time.Minute)
	}
	if t.log == nil {
		t.log = zap.NewNop()
	}
	t.log = t.log.Named("transport").With(zap.String("transport", t.name))
	if t.now == nil {
		t.now = time.Now
	}
	if t.sleep == nil {
		t.sleep = Sleep
	}
	if t.rnd == nil {
		t.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	t.counters.endpoints = make(map[EndpointStatus]int64)
	return t
}

// Sleep waits for d, or until ctx is done, in which case it returns
// ctx.Err() at once. It never calls time.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

type retryableKey struct{}

// WithRetryable marks requests made with the returned context as safe to
// retry whatever their method, e.g. GraphQL queries sent with POST.
func WithRetryable(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryableKey{}, true)
}

// IsRetryable reports whether ctx was marked by WithRetryable.
func IsRetryable(ctx context.Context) bool {
	v, _ := ctx.Value(retryableKey{}).(bool)
	return v
}

// CloseIdleConnections closes the base transport's idle connections when it
// supports that.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip sends req, waiting for the rate limiter and retrying as the
// Options describe. When retries are exhausted on a retryable status it
// returns that last response; on a network error it returns the last error,
// wrapped with the number of attempts. A done context ends any wait at once
// with an error wrapping ctx.Err().
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	endpoint := Endpoint(req.Method, req.URL.Path)
	retryable := t.isRetryable(req)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	bodyUsed := false
	var waitedUntil time.Time // end of this request's own backoff wait

	for attempt := 0; ; attempt++ {
		if err := t.throttle(ctx, waitedUntil); err != nil {
			if !bodyUsed && req.Body != nil {
				req.Body.Close()
			}
			return nil, fmt.Errorf("%s: wait for the %s request budget: %w", endpoint, t.name, err)
		}

		areq, err := t.attemptRequest(req, attempt)
		if err != nil {
			return nil, fmt.Errorf("%s: replay request body for retry %d: %w", endpoint, attempt, err)
		}
		bodyUsed = true
		resp, err := t.send(areq)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.counters.record(endpoint, status)

		wait, reason, retry := t.decide(ctx, resp, err, attempt)
		if !retry || !retryable || !replayable {
			if err != nil && attempt > 0 {
				return nil, fmt.Errorf("%s: %d attempts: %w", endpoint, attempt+1, err)
			}
			return resp, err
		}
		if attempt >= t.maxRetries {
			t.log.Warn("giving up", zap.String("endpoint", endpoint), zap.Int("status", status),
				zap.Int("attempts", attempt+1), zap.String("reason", reason))
			if err != nil {
				return nil, fmt.Errorf("%s: giving up after %d attempts: %w", endpoint, attempt+1, err)
			}
			return resp, nil
		}

		if resp != nil {
			drainAndClose(resp.Body)
		}
		t.counters.retries.Add(1)
		t.log.Debug("retrying", zap.String("endpoint", endpoint), zap.Int("status", status),
			zap.Int("attempt", attempt+1), zap.Duration("wait", wait), zap.String("reason", reason))
		waitedUntil = t.now().Add(wait)
		if err := t.wait(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: wait %s before retry after %s: %w", endpoint, wait, reason, err)
		}
	}
}

func (t *Transport) isRetryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, "":
		return true
	case http.MethodPost:
		if t.retryPOST {
			return true
		}
	}
	if IsRetryable(req.Context()) {
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// attemptRequest returns the request for one attempt: the caller's own on
// the first, a clone with a fresh body on retries.
func (t *Transport) attemptRequest(req *http.Request, attempt int) (*http.Request, error) {
	if attempt == 0 {
		return req, nil
	}
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// throttle waits for any shared 429 cooldown that ends after waitedUntil
// (when the request's own backoff already covered it), then for the limiter.
func (t *Transport) throttle(ctx context.Context, waitedUntil time.Time) error {
	if until := t.pausedUntil.Load(); until != 0 && until > waitedUntil.UnixNano() {
		if d := time.Unix(0, until).Sub(t.now()); d > 0 {
			if err := t.wait(ctx, d); err != nil {
				return err
			}
		}
	}
	if t.window != nil {
		if d := t.window.reserve(t.now()); d > 0 {
			if err := t.wait(ctx, d); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	if t.limiter == nil {
		return ctx.Err()
	}
	now := t.now()
	r := t.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("the limiter allows no requests")
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := t.wait(ctx, d); err != nil {
			r.CancelAt(t.now())
			return err
		}
	}
	return ctx.Err()
}

// wait sleeps for d through the injected sleep and counts it.
func (t *Transport) wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t.counters.waits.Add(1)
	t.counters.waitNanos.Add(int64(d))
	return t.sleep(ctx, d)
}

// timeoutError reports that response headers did not arrive in time.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no response headers within %s", e.d)
}

// Timeout reports true, so the error satisfies net.Error's contract.
func (e *timeoutError) Timeout() bool { return true }

// Temporary reports true, for net.Error.
func (e *timeoutError) Temporary() bool { return true }

// send performs one attempt, bounding the wait for headers by t.timeout and
// wrapping the response body so bytes are counted and the attempt's context
// is released on Close.
func (t *Transport) send(req *http.Request) (*http.Response, error) {
	t.counters.requests.Add(1)
	if t.timeout <= 0 {
		resp, err := t.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body = &countingBody{rc: resp.Body, n: &t.counters.bytesRead}
		return resp, nil
	}
	terr := &timeoutError{d: t.timeout}
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(t.timeout, func() { cancel(terr) })
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	stopped := timer.Stop()
	if err != nil {
		cancel(nil)
		if !stopped && errors.Is(context.Cause(ctx), terr) {
			return nil, terr
		}
		return nil, err
	}
	if !stopped {
		drainAndClose(resp.Body)
		cancel(nil)
		return nil, terr
	}
	resp.Body = &countingBody{rc: resp.Body, n: &t.counters.bytesRead, onClose: func() { cancel(nil) }}
	return resp, nil
}

// decide says whether an attempt's outcome is worth retrying and after how
// long, leaving the retry limit and the request's retryability to the
// caller. reason names the outcome for logs and errors.
func (t *Transport) decide(ctx context.Context, resp *http.Response, err error, attempt int) (wait time.Duration, reason string, retry bool) {
	if err != nil {
		if ctx.Err() != nil || !retryableError(err) {
			return 0, "", false
		}
		return t.backoff(t.baseDelay, attempt, false), "network error", true
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		t.counters.rateLimited.Add(1)
		reason = "429 Too Many Requests"
		if ra, ok := retryAfter(resp.Header, t.now()); ok {
			if ra > t.maxDelay {
				return 0, "", false
			}
			wait = ra
		} else {
			wait = t.backoff(t.rateLimitDelay, attempt, true)
		}
		t.pause(wait)
		return wait, reason, true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		reason = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
		if ra, ok := retryAfter(resp.Header, t.now()); ok {
			if ra > t.maxDelay {
				return 0, "", false
			}
			return ra, reason, true
		}
		return t.backoff(t.baseDelay, attempt, false), reason, true
	}
	return 0, "", false
}

// pause makes every request through t wait until now+d.
func (t *Transport) pause(d time.Duration) {
	until := t.now().Add(d).UnixNano()
	for {
		cur := t.pausedUntil.Load()
		if cur >= until || t.pausedUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// backoff returns the wait before retry number attempt+1: a random duration
// up to min(maxDelay, base*2^attempt) (full jitter), or for rate limiting
// between half that ceiling and the ceiling, so waits keep growing toward
// the cooldown.
func (t *Transport) backoff(base time.Duration, attempt int, rateLimited bool) time.Duration {
	ceiling := t.maxDelay
	if attempt < 40 {
		if c := base << attempt; c > 0 && c < ceiling {
			ceiling = c
		}
	}
	t.randMu.Lock()
	defer t.randMu.Unlock()
	if rateLimited {
		half := ceiling / 2
		return half + time.Duration(t.rnd.Int64N(int64(ceiling-half)+1))
	}
	return time.Duration(t.rnd.Int64N(int64(ceiling) + 1))
}

// retryAfter parses a Retry-After header given as delta seconds or an HTTP
// date. A date in the past gives 0.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(365*24*time.Hour/time.Second) {
			secs = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// retryableError reports whether a transport error is worth retrying:
// connection resets, broken pipes, unexpected EOFs and timeouts.
func retryableError(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// drainAndClose reads a little of a discarded body so the connection can be
// reused, then closes it.
func drainAndClose(rc io.ReadCloser) {
	if rc == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, rc, 64<<10)
	_ = rc.Close()
}

// countingBody counts the bytes read from a response body.
type countingBody struct {
	rc      io.ReadCloser
	n       *atomic.Int64
	onClose func()
	once    sync.Once
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.n.Add(int64(n))
	}
	return n, err
}

func (b *countingBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		if b.onClose != nil {
			b.onClose()
		}
	})
	return err
}

// window is a rolling-window budget: at most n sends in any interval of
// length per. The i-th send is scheduled no earlier than the (i-n)-th plus
// per, so a burst of up to n goes at once.
type window struct {
	mu    sync.Mutex
	n     int
	per   time.Duration
	times []time.Time // send times, a ring of the last n
	head  int
}

func newWindow(n int, per time.Duration) *window {
	return &window{n: n, per: per, times: make([]time.Time, 0, n)}
}

// reserve books a send slot and returns how long to wait for it.
func (w *window) reserve(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.times) < w.n {
		w.times = append(w.times, now)
		return 0
	}
	at := w.times[w.head].Add(w.per)
	if at.Before(now) {
		at = now
	}
	w.times[w.head] = at
	w.head = (w.head + 1) % w.n
	return at.Sub(now)
}

// Precharge counts n requests sent at time at against a rolling budget,
// for requests another process made on the same account's budget. It does
// nothing for token-bucket budgets.
func (t *Transport) Precharge(n int, at time.Time) {
	if t.window == nil {
		return
	}
	for range n {
		t.window.record(at)
	}
}

// record books a send that already happened at time at.
func (w *window) record(at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.times) < w.n {
		w.times = append(w.times, at)
		return
	}
	if at.After(w.times[w.head]) {
		w.times[w.head] = at
		w.head = (w.head + 1) % w.n
	}
}
