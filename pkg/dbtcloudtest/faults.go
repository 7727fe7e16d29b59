package dbtcloudtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a response.
type FaultKind string

// The fault kinds.
const (
	// FaultRateLimit answers 429 with a Retry-After header (Fault.RetryAfter,
	// default 1 s).
	FaultRateLimit FaultKind = "rate_limit"
	// FaultRateLimitNoRetryAfter answers 429 without Retry-After, as dbt's
	// Admin and Discovery limits do in practice.
	FaultRateLimitNoRetryAfter FaultKind = "rate_limit_no_retry_after"
	// FaultInternalError answers 500.
	FaultInternalError FaultKind = "internal_error"
	// FaultBadGateway answers 502 with an HTML body, as a load balancer does.
	FaultBadGateway FaultKind = "bad_gateway"
	// FaultUnavailable answers 503.
	FaultUnavailable FaultKind = "unavailable"
	// FaultConnReset closes the connection without a response (TCP reset).
	FaultConnReset FaultKind = "conn_reset"
	// FaultSlow delays the response by Fault.Delay, then serves it normally.
	FaultSlow FaultKind = "slow"
	// FaultTruncated sends the headers (with the full Content-Length) and
	// the first part of the body (Fault.TruncateAt bytes, default half),
	// then closes the connection.
	FaultTruncated FaultKind = "truncated"
	// FaultInvalidJSON answers 200 with a body that is not valid JSON.
	FaultInvalidJSON FaultKind = "invalid_json"
)

// Fault injects one kind of failure into the requests it matches.
//
// A fault matches a request when the path starts with PathPrefix (empty
// matches all) and, when Pattern is set, the path matches it too. Of the
// matching requests it fires on:
//   - with Nth > 0: the Nth matching request (1-based) and the Count-1 after
//     it (Count 0 means 1), deterministically;
//   - otherwise: each matching request with probability Rate (0 means
//     always), drawn from the server's seeded generator, at most Count
//     times when Count > 0.
//
// The first firing fault in the list wins.
type Fault struct {
	Kind       FaultKind
	PathPrefix string
	Pattern    *regexp.Regexp
	Rate       float64
	Nth        int
	Count      int
	// RetryAfter for FaultRateLimit (rounded up to whole seconds, default 1 s).
	RetryAfter time.Duration
	// Delay for FaultSlow (default 2 s).
	Delay time.Duration
	// TruncateAt bytes for FaultTruncated (default half the body).
	TruncateAt int
}

type faultState struct {
	Fault
	matched int
	fired   int
}

// SetFaults replaces the installed faults and restarts their counters.
// Passing nothing removes all faults.
func (s *Server) SetFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(faults)
}

func (s *Server) setFaultsLocked(faults []Fault) {
	s.faults = make([]faultState, len(faults))
	for i, f := range faults {
		s.faults[i] = faultState{Fault: f}
	}
}

// FaultsFired returns how many times each installed fault fired, in the
// order they were installed.
func (s *Server) FaultsFired() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.faults))
	for i, f := range s.faults {
		out[i] = f.fired
	}
	return out
}

func (s *Server) pickFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var chosen *Fault
	for i := range s.faults {
		f := &s.faults[i]
		if !strings.HasPrefix(r.URL.Path, f.PathPrefix) || (f.Pattern != nil && !f.Pattern.MatchString(r.URL.Path)) {
			continue
		}
		f.matched++
		if chosen != nil {
			continue
		}
		fire := false
		if f.Nth > 0 {
			n := max(1, f.Count)
			fire = f.matched >= f.Nth && f.matched < f.Nth+n
		} else {
			fire = (f.Count <= 0 || f.fired < f.Count) && (f.Rate <= 0 || f.Rate >= 1 || s.rng.Float64() < f.Rate)
		}
		if fire {
			f.fired++
			c := f.Fault
			chosen = &c
		}
	}
	return chosen
}

// applyFault writes the fault's response. It returns false when the
// request should then be served normally (slow responses).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	switch f.Kind {
	case FaultRateLimit:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
		writeError(w, http.StatusTooManyRequests, "Too many requests. Please wait before trying again.")
	case FaultRateLimitNoRetryAfter:
		writeError(w, http.StatusTooManyRequests, "Too many requests. Please wait before trying again.")
	case FaultInternalError:
		writeError(w, http.StatusInternalServerError, "An unexpected error occurred.")
	case FaultBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"))
	case FaultUnavailable:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "Service temporarily unavailable.")
	case FaultConnReset:
		resetConn(w)
	case FaultSlow:
		d := f.Delay
		if d <= 0 {
			d = 2 * time.Second
		}
		return !sleepCtx(r, d)
	case FaultTruncated:
		rec := httptest.NewRecorder()
		if strings.HasPrefix(r.URL.Path, "/api/") {
			if code, msg := s.authorize(r); code != 0 {
				writeError(rec, code, msg)
			} else {
				s.mux.ServeHTTP(rec, r)
			}
		} else {
			s.mux.ServeHTTP(rec, r)
		}
		body := rec.Body.Bytes()
		cut := f.TruncateAt
		if cut <= 0 || cut >= len(body) {
			cut = len(body) / 2
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:cut])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		// Aborting the handler makes net/http close the connection with the
		// body incomplete.
		panic(http.ErrAbortHandler)
	case FaultInvalidJSON:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"status": {"code": 200, "is_success": true, "user_message": "Success!"}, "data": [{"id": 1,}]` + "\n"))
	default:
		writeError(w, http.StatusInternalServerError, "unknown emulator fault kind "+string(f.Kind))
	}
	return true
}

// resetConn closes the client connection abruptly, with a TCP reset when
// possible.
func resetConn(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
