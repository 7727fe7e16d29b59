package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// request is one HTTP request the crawl sent to the emulator.
type request struct {
	Method string
	Path   string // path and query
	Body   []byte
	Status int
	Bytes  int64
}

// emulator serves one dataset twice over loopback: with dbt's documented
// rate limits for the crawl (recording every request), and without limits
// for the plain-client floor. Both share the dataset, so the floor sees
// the same bytes and the same artifact cache.
type emulator struct {
	ds      *dbtcloudtest.Dataset
	limited *dbtcloudtest.Server
	crawl   *httptest.Server
	floor   *httptest.Server

	mu  sync.Mutex
	log []request
}

// startEmulator serves ds on two loopback ports (see emulator).
func startEmulator(ds *dbtcloudtest.Dataset) *emulator {
	e := &emulator{ds: ds, limited: dbtcloudtest.New(ds, dbtcloudtest.WithRateLimits(adminPerMinute, discoveryPerMinute))}
	e.crawl = httptest.NewServer(http.HandlerFunc(e.record))
	e.floor = httptest.NewServer(dbtcloudtest.New(ds))
	return e
}

// Documented dbt Cloud limits, per account and minute.
const (
	adminPerMinute     = 5000
	discoveryPerMinute = 500
)

// URL is the base URL the crawler talks to.
func (e *emulator) URL() string { return e.crawl.URL }

func (e *emulator) close() {
	e.crawl.Close()
	e.floor.Close()
}

// record serves one request through the rate-limited emulator and logs it.
func (e *emulator) record(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil && r.Method == http.MethodPost {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	e.limited.ServeHTTP(sw, r)
	e.mu.Lock()
	e.log = append(e.log, request{Method: r.Method, Path: r.URL.RequestURI(), Body: body, Status: sw.status, Bytes: sw.n})
	e.mu.Unlock()
}

// take returns the requests logged since the last call and clears the log.
func (e *emulator) take() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.log
	e.log = nil
	return out
}

// statusWriter remembers the status code and counts body bytes.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	n, err := s.ResponseWriter.Write(b)
	s.n += int64(n)
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// prewarm generates, into the emulator's artifact cache, the artifacts a
// crawl of runs is expected to download: run_results.json of every step,
// and manifest, catalog and sources of each environment's newest run that
// has them. The crawl and the floor then both read cached bytes, so neither
// pays for generation.
func prewarm(ds *dbtcloudtest.Dataset, runs []dbtcloudtest.Run) {
	newestDocs := map[int64]dbtcloudtest.Run{}
	newestSources := map[int64]dbtcloudtest.Run{}
	for _, r := range runs {
		if r.Status != 10 && r.Status != 20 || !r.ArtifactsSaved {
			continue
		}
		if r.HasDocsGenerated && r.ID > newestDocs[r.EnvironmentID].ID {
			newestDocs[r.EnvironmentID] = r
		}
		if r.HasSourcesGenerated && r.ID > newestSources[r.EnvironmentID].ID {
			newestSources[r.EnvironmentID] = r
		}
		ds.StepArtifact(r.ID, 0, "run_results.json")
		for _, st := range r.Steps {
			ds.StepArtifact(r.ID, st.Index, "run_results.json")
		}
	}
	for _, r := range newestDocs {
		ds.StepArtifact(r.ID, 0, "manifest.json")
		ds.StepArtifact(r.ID, 0, "catalog.json")
	}
	for _, r := range newestSources {
		ds.StepArtifact(r.ID, 0, "sources.json")
		for _, st := range r.Steps {
			ds.StepArtifact(r.ID, st.Index, "sources.json")
		}
	}
}

// Endpoint names for the request table: the path with numbers replaced.
var (
	numberSegment = regexp.MustCompile(`/[0-9]+(/|$)`)
	artifactPath  = regexp.MustCompile(`/artifacts/.*$`)
)

// endpointOf names the endpoint of a logged request, e.g.
// "GET /api/v2/accounts/{id}/runs/" or "POST /graphql (appliedModels)".
func endpointOf(r request) string {
	p, _, _ := strings.Cut(r.Path, "?")
	p = artifactPath.ReplaceAllString(p, "/artifacts/{path}")
	for numberSegment.MatchString(p) {
		p = numberSegment.ReplaceAllString(p, "/{id}$1")
	}
	name := r.Method + " " + p
	if op := graphQLOperation(r.Body); op != "" {
		name += " (" + op + ")"
	}
	return name
}

// graphQLRequest is the part of a GraphQL request body the benchmark reads.
type graphQLRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

var operationName = regexp.MustCompile(`^\s*(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)`)

func parseGraphQL(body []byte) (graphQLRequest, bool) {
	var q graphQLRequest
	if len(body) == 0 || json.Unmarshal(body, &q) != nil {
		return q, false
	}
	return q, true
}

func graphQLOperation(body []byte) string {
	q, ok := parseGraphQL(body)
	if !ok {
		return ""
	}
	if q.OperationName != "" {
		return q.OperationName
	}
	if m := operationName.FindStringSubmatch(q.Query); m != nil {
		return m[1]
	}
	return "anonymous"
}

// listEndpoints are the Administrative API collections that page with
// limit and offset.
var listEndpoint = regexp.MustCompile(`^/api/v[23]/accounts/(?:[0-9]+/(?:projects/(?:[0-9]+/environments/)?|environments/|jobs/|runs/))?$`)

// pageSizes tallies the page sizes the crawl asked for: Admin list calls
// by their limit parameter ("none" when absent) and Discovery paged
// queries by their `first` variable.
func pageSizes(reqs []request) (admin, discovery map[string]int) {
	admin, discovery = map[string]int{}, map[string]int{}
	for _, r := range reqs {
		p, rawQuery, _ := strings.Cut(r.Path, "?")
		switch {
		case r.Method == http.MethodGet && listEndpoint.MatchString(p):
			q, _ := url.ParseQuery(rawQuery)
			l := q.Get("limit")
			if l == "" {
				l = "none"
			}
			admin[l]++
		case r.Method == http.MethodPost && strings.HasPrefix(p, "/graphql"):
			q, ok := parseGraphQL(r.Body)
			if !ok {
				continue
			}
			if f, ok := q.Variables["first"]; ok {
				discovery[fmt.Sprint(f)]++
			}
		}
	}
	return admin, discovery
}

// onlyKey reports whether m has exactly the key want (or is empty).
func onlyKey(m map[string]int, want int) bool {
	for k := range m {
		if k != strconv.Itoa(want) {
			return false
		}
	}
	return true
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
