package dbtcloudtest

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tokens the emulator accepts unless configured otherwise. They are
// emulator-only values, not secrets.
const (
	// DefaultToken has full read access to both APIs.
	DefaultToken = "dbtc_emulator_default_token"
	// MetadataOnlyToken has the "Metadata Only" permission: the Discovery
	// API accepts it, the Administrative API answers 403.
	MetadataOnlyToken = "dbtc_emulator_metadata_only_token"
)

// Option configures a Server.
type Option func(*serverConfig)

type serverConfig struct {
	tokens          []string
	metadataTokens  []string
	faults          []Fault
	faultSeed       int64
	adminPerMin     int
	discoveryPerMin int
	latency         time.Duration
	graphql         GraphQLOptions
}

// WithTokens replaces the accepted full-access tokens (default
// DefaultToken). Requests with any other token get 401 "Invalid token.".
func WithTokens(tokens ...string) Option {
	return func(c *serverConfig) { c.tokens = append([]string(nil), tokens...) }
}

// WithMetadataOnlyTokens replaces the tokens with only the Metadata Only
// permission (default MetadataOnlyToken): 403 on the Administrative API,
// accepted by the Discovery API.
func WithMetadataOnlyTokens(tokens ...string) Option {
	return func(c *serverConfig) { c.metadataTokens = append([]string(nil), tokens...) }
}

// WithFaults installs faults from the first request on (see SetFaults).
func WithFaults(faults ...Fault) Option {
	return func(c *serverConfig) { c.faults = append([]Fault(nil), faults...) }
}

// WithFaultSeed seeds the random choice of rate-based faults (default 1),
// so a failing sequence reproduces.
func WithFaultSeed(seed int64) Option { return func(c *serverConfig) { c.faultSeed = seed } }

// WithRateLimits enforces request limits per minute, like dbt Cloud's 5,000
// Administrative and 500 Discovery requests per minute per account.
// Requests over the limit get 429 with a Retry-After header giving the
// seconds until the current one-minute window ends. Zero or negative means
// unlimited (the default).
func WithRateLimits(adminPerMin, discoveryPerMin int) Option {
	return func(c *serverConfig) { c.adminPerMin, c.discoveryPerMin = adminPerMin, discoveryPerMin }
}

// WithLatency delays every response by d (or until the request is
// cancelled).
func WithLatency(d time.Duration) Option { return func(c *serverConfig) { c.latency = d } }

// WithGraphQLOptions sets the Discovery endpoint's options. Its Tokens and
// ForbiddenTokens are derived from the server's tokens when left empty.
func WithGraphQLOptions(o GraphQLOptions) Option { return func(c *serverConfig) { c.graphql = o } }

// Server emulates dbt Cloud over HTTP: the Administrative API under /api/
// (see admin_handlers.go for the routes) and the Discovery API at
// /graphql, with faults, rate limits and request accounting in front of
// both. It is safe for concurrent use; the dataset may be mutated
// (AddRuns, RemoveModel) while it serves.
type Server struct {
	// URL is the base URL ("http://127.0.0.1:port") when started by
	// NewServer; empty for New.
	URL string

	ds      *Dataset
	cfg     serverConfig
	mux     *http.ServeMux
	httpSrv *httptest.Server

	mu       sync.Mutex
	faults   []faultState
	rng      *rand.Rand
	requests map[string]int
	bytes    int64
	windows  [2]rateWindow
}

type rateWindow struct {
	start time.Time
	count int
}

// New returns an emulator that is not listening: use it as an
// http.Handler (for example behind `crawler emulate --listen ADDR`).
func New(ds *Dataset, opts ...Option) *Server {
	cfg := serverConfig{tokens: []string{DefaultToken}, metadataTokens: []string{MetadataOnlyToken}, faultSeed: 1}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{ds: ds, cfg: cfg, requests: map[string]int{}}
	s.rng = rand.New(rand.NewPCG(uint64(cfg.faultSeed), 0x9e3779b97f4a7c15))
	s.setFaultsLocked(cfg.faults)
	s.mux = http.NewServeMux()
	s.routes()
	gq := cfg.graphql
	if len(gq.Tokens) == 0 {
		gq.Tokens = append(append([]string(nil), cfg.tokens...), cfg.metadataTokens...)
	}
	gql := NewGraphQLHandler(ds, gq)
	s.mux.Handle("POST /graphql", gql)
	s.mux.Handle("POST /graphql/", gql)
	s.mux.Handle("GET /graphql", gql)
	return s
}

// NewServer starts an emulator on a loopback port, like
// httptest.NewServer. Call Close when done.
func NewServer(ds *Dataset, opts ...Option) *Server {
	s := New(ds, opts...)
	s.httpSrv = httptest.NewServer(s)
	s.URL = s.httpSrv.URL
	return s
}

// Close shuts a server started by NewServer down, blocking until all
// outstanding requests have completed. It does nothing for New.
func (s *Server) Close() {
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
}

// Client returns an HTTP client configured for the server (with a
// timeout), or nil for servers created by New.
func (s *Server) Client() *http.Client {
	if s.httpSrv == nil {
		return nil
	}
	c := s.httpSrv.Client()
	c.Timeout = 2 * time.Minute
	return c
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// Dataset returns the dataset the server serves.
func (s *Server) Dataset() *Dataset { return s.ds }

// Requests returns how many requests each endpoint received, keyed by the
// route pattern (e.g. "GET /api/v2/accounts/{account_id}/runs/"), with
// requests no route matched under "unmatched". Requests refused by faults,
// rate limits or authentication count too.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// TotalRequests returns the number of requests received.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.requests {
		n += v
	}
	return n
}

// BytesServed returns the number of response body bytes written.
func (s *Server) BytesServed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// ResetStats zeroes the request counts, the byte count and the rate-limit
// windows.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = map[string]int{}
	s.bytes = 0
	s.windows = [2]rateWindow{}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = "unmatched"
	}
	cw := &countingWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.bytes += cw.n
		s.mu.Unlock()
	}()
	s.mu.Lock()
	s.requests[pattern]++
	s.mu.Unlock()

	if s.cfg.latency > 0 && !sleepCtx(r, s.cfg.latency) {
		return
	}
	discovery := strings.HasPrefix(r.URL.Path, "/graphql")
	if retry, limited := s.rateLimited(discovery); limited {
		cw.Header().Set("Retry-After", strconv.Itoa(retry))
		if discovery {
			cw.Header().Set("Content-Type", "application/json")
			cw.WriteHeader(http.StatusTooManyRequests)
			cw.Write([]byte(`{"errors":[{"message":"Too many requests, please try again later.","extensions":{"code":"RATE_LIMITED"}}]}` + "\n"))
			return
		}
		writeError(cw, http.StatusTooManyRequests, "Too many requests. Please wait before trying again.")
		return
	}
	if f := s.pickFault(r); f != nil {
		if s.applyFault(cw, r, f) {
			return
		}
	}
	if !discovery {
		if code, msg := s.authorize(r); code != 0 {
			writeError(cw, code, msg)
			return
		}
	}
	s.mux.ServeHTTP(cw, r)
}

// rateLimited counts the request against its API's window and reports
// whether it is over the limit, with the seconds until the window ends.
func (s *Server) rateLimited(discovery bool) (int, bool) {
	limit, i := s.cfg.adminPerMin, 0
	if discovery {
		limit, i = s.cfg.discoveryPerMin, 1
	}
	if limit <= 0 {
		return 0, false
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.windows[i]
	if w.start.IsZero() || now.Sub(w.start) >= time.Minute {
		w.start, w.count = now, 0
	}
	w.count++
	if w.count <= limit {
		return 0, false
	}
	left := time.Minute - now.Sub(w.start)
	return max(1, int((left+time.Second-1)/time.Second)), true
}

// authorize checks the Authorization header of an Administrative API
// request. It returns 0 when the token may use the API.
func (s *Server) authorize(r *http.Request) (int, string) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	if !ok || token == "" || (!strings.EqualFold(scheme, "Token") && !strings.EqualFold(scheme, "Bearer")) {
		return http.StatusUnauthorized, "Invalid token."
	}
	for _, t := range s.cfg.tokens {
		if t == token {
			return 0, ""
		}
	}
	for _, t := range s.cfg.metadataTokens {
		if t == token {
			return http.StatusForbidden, "You do not have permission to perform this action: the token only has the Metadata Only permission."
		}
	}
	return http.StatusUnauthorized, "Invalid token."
}

// sleepCtx waits d or until the request is cancelled; false when cancelled.
func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// countingWriter counts body bytes and passes Flush and Hijack through.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
