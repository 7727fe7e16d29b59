package reliability

import (
	"testing"
)

// scenario is one row of docs/reliability.md.
type scenario struct {
	Area     string
	Name     string
	Injected string
	Verified string
	Result   string
}

const (
	sameCatalog = "catalog equals the fault-free one (per environment: failed → previous catalog intact, incomplete → nothing archived); next crawl completes it"
)

// scenarios lists every scenario the suite runs; TestDoc keeps
// docs/reliability.md in step with it and requireScenario keeps the tests
// honest.
var scenarios = []scenario{
	{"faults", "429 storm with Retry-After", "4 consecutive 429 answers with Retry-After: 1 on all endpoints", sameCatalog, "pass"},
	{"faults", "429 storm without Retry-After", "8 consecutive 429 answers without Retry-After", sameCatalog, "pass"},
	{"faults", "20% of requests answer 500, 502 or 503", "random 500 (8%), 502 HTML page (8%), 503 with Retry-After (4%)", sameCatalog, "pass"},
	{"faults", "connection resets", "15% of requests reset the TCP connection without a response", sameCatalog, "pass"},
	{"faults", "responses slower than the request timeout", "10% of responses delayed 3 s against a 400 ms per-attempt timeout", sameCatalog, "pass"},
	{"faults", "truncated artifact bodies", "30% of artifact downloads cut at half their Content-Length", sameCatalog, "pass"},
	{"faults", "truncated manifest of every run", "every manifest.json download cut at half", sameCatalog, "pass"},
	{"faults", "invalid JSON from list endpoints", "the second runs listing answers 200 with malformed JSON", sameCatalog, "pass"},
	{"faults", "invalid JSON instead of artifacts", "30% of artifact downloads answer 200 with malformed JSON", sameCatalog, "pass"},
	{"faults", "Discovery API answers 502", "every GraphQL request answers 502", sameCatalog, "pass"},
	{"database", "statement timeout while writing", "store opened with a 1 ms statement_timeout for the second crawl", "crawl fails naming the statement timeout; previous catalog intact, nothing archived; a normal crawl then converges", "pass"},
	{"database", "PostgreSQL restarted during a crawl", "pg_ctl restart (fast) 200 ms into the second crawl, artifact answers slowed", "per-environment outcome as for faults; a later crawl with a fresh pool converges to the fault-free catalog", "pass"},
	{"database", "crawler killed with SIGKILL while writing", "`crawler run` child process killed when pg_stat_activity shows it writing", "no partial environment visible; the next crawl converges to the fault-free catalog", "pass"},
	{"security", "token never leaks", "recognisable token; crawls with 500/429/truncation/invalid-JSON faults; the binary's `run` output", "token absent from every zap line, report, error, stdout/stderr and every row of every table", "pass"},
	{"security", "token echoed by the server", "emulator echoes the Authorization header into error bodies (Admin 502 page, GraphQL errors)", "token absent from errors, logs, reports and rows", "pass"},
	{"security", "TLS verification always on", "self-signed httptest TLS server", "Admin and Discovery clients refuse the certificate", "pass"},
	{"security", "access URL validation", "http:// on non-loopback hosts, credentials, paths, queries, odd schemes", "admin.NewClient and config.ValidateURL refuse each with a message naming the fix", "pass"},
	{"security", "no Authorization across redirects", "302/307 from 127.0.0.1 to a second server on localhost", "the second server never sees the Authorization header", "pass"},
	{"security", "SQL is parameterised", "static analysis of pkg/store Go sources", "every query string is built from literals, constants and allow-listed identifier helpers; no fmt.Sprintf builds SQL", "pass"},
}

// requireScenario fails the test when name is not in the scenario table.
func requireScenario(t *testing.T, name string) {
	t.Helper()
	for _, s := range scenarios {
		if s.Name == name {
			return
		}
	}
	t.Fatalf("scenario %q is not listed in scenarios_test.go (and so not in docs/reliability.md)", name)
}
