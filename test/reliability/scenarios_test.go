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
	{"drift", "unknown fields in every artifact and GraphQL node", "`x_future_field: {a: [1, {b: null}]}` added to every schema object of every artifact and every GraphQL answer object (not inside meta-like free-form maps)", "every environment complete; catalog equals the fault-free one", "pass"},
	{"drift", "missing optional fields", "a third of models, seeds and snapshots lose description, tags, meta, columns, config.meta, config.tags in manifest.json, and description, tags, meta (columns included) in GraphQL", "every environment complete; those assets and their columns have empty description, tags and meta, columns keep warehouse types from catalog.json; other assets equal the fault-free ones", "pass"},
	{"drift", "nulls for optional values", "`description`, `tags`, `meta`, `depends_on`, `failures`, `timing` set to null wherever present, in artifacts and GraphQL", "every environment complete, no panic; every asset kept; models, seeds and snapshots have empty description, tags and meta", "pass"},
	{"drift", "new enum values", "a node with `resource_type: ai_agent`; `status: partial_success` in run_results and GraphQL; `materialized: dynamic_table`; run status 99 in Admin run answers", "every environment complete; the unknown node skipped with a warning naming it; statuses and materialisation stored as given; a stored run keeps status 99", "pass"},
	{"drift", "NUL bytes, invalid UTF-8 and 1 MB strings", "`\\u0000`, raw 0xFF 0xFE bytes and a 1 MiB description in descriptions and meta of a few models (manifest.json and GraphQL)", "every environment complete; stored text has no NUL and is valid UTF-8; the 1 MiB description stored whole; a second crawl of new runs writes 0 asset rows", "pass"},
	{"drift", "deeply nested meta", "meta nested 100 levels in every model (stored), then 10,000 levels in the manifest of new runs", "100 levels: meta stored whole; 10,000 levels: each environment fails naming the depth limit, previous catalog intact, nothing archived", "pass"},
	{"limits", "artifact larger than max_artifact_bytes", "crawl.Options.MaxArtifactBytes set below the manifest size for the second crawl", "each environment fails with an error naming the byte limit and the `max_artifact_bytes` setting; previous catalog intact", "pass"},
	{"limits", "artifact deeper than max_json_depth", "crawl.Options.MaxJSONDepth set to 3 for the second crawl", "each environment fails with an error naming the depth limit and the `max_json_depth` setting; previous catalog intact", "pass"},
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
