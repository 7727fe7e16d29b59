package reliability

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
)

// jsonObject is a JSON object that keeps its key order, so that a rewritten
// artifact differs from the original only where a scenario changed it.
type jsonObject struct {
	keys []string
	vals map[string]any
}

func (o *jsonObject) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *jsonObject) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *jsonObject) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, x := range o.keys {
		if x == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			return
		}
	}
}

func (o *jsonObject) str(k string) string {
	s, _ := o.vals[k].(string)
	return s
}

// parseJSON decodes a document into *jsonObject, []any, string,
// json.Number, bool and nil values.
func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("trailing data after the document")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			o := &jsonObject{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(kt.(string), v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", d)
	default:
		return tok, nil
	}
}

// writeJSON encodes v; a json.RawMessage is written verbatim, so scenarios
// can place bytes no encoder would write (invalid UTF-8).
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case *jsonObject:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, k)
			b.WriteByte(':')
			writeJSON(b, x.vals[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case json.RawMessage:
		b.Write(x)
	case json.Number:
		b.WriteString(x.String())
	default:
		enc, err := json.Marshal(x)
		if err != nil {
			panic(err)
		}
		b.Write(enc)
	}
}

// walkObjects calls fn for every object in v with the key it is the value
// of ("" for array elements and the root) and the key of its parent. fn
// returns false to skip the object's contents.
func walkObjects(v any, key, parent string, fn func(o *jsonObject, key, parent string) bool) {
	switch x := v.(type) {
	case *jsonObject:
		if !fn(x, key, parent) {
			return
		}
		for _, k := range x.keys {
			walkObjects(x.vals[k], k, key, fn)
		}
	case []any:
		for _, e := range x {
			walkObjects(e, key, parent, fn)
		}
	}
}

// nodeID is the unique ID of a dbt node object (artifact or GraphQL), or "".
func nodeID(o *jsonObject) string {
	if s := o.str("unique_id"); s != "" {
		return s
	}
	return o.str("uniqueId")
}

// artifactRequest matches artifact downloads: account, run and file name.
var artifactRequest = regexp.MustCompile(`^/api/v2/accounts/\d+/runs/(\d+)/artifacts/(.+)$`)

// rewriter changes what the emulator answers. Each function gets the
// decoded document and changes it in place; a nil function leaves those
// answers alone.
type rewriter struct {
	// artifact rewrites artifact downloads (name such as "manifest.json").
	artifact func(runID int64, name string, doc any)
	// graphql rewrites Discovery API answers.
	graphql func(doc any)
	// runs rewrites Admin API run listings and run details.
	runs func(doc any)
	// raw, when set, rewrites the encoded body last (artifact and GraphQL
	// answers only).
	raw func(body []byte) []byte

	mu      sync.Mutex
	touched int // answers rewritten
	errs    []string
}

// wrap is the envOption handler wrapper.
func (rw *rewriter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var change func(any)
		withRaw := false
		switch m := artifactRequest.FindStringSubmatch(r.URL.Path); {
		case m != nil && strings.HasSuffix(m[2], ".json"):
			if rw.artifact != nil {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				change = func(doc any) { rw.artifact(id, m[2], doc) }
			}
			withRaw = true
		case strings.HasPrefix(r.URL.Path, "/graphql"):
			change = rw.graphql
			withRaw = true
		case strings.Contains(r.URL.Path, "/runs/"):
			change = rw.runs
		}
		if change == nil && !(withRaw && rw.raw != nil) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK && change != nil {
			doc, err := parseJSON(body)
			if err != nil {
				rw.fail(fmt.Sprintf("%s: %v", r.URL.Path, err))
			} else {
				change(doc)
				var b bytes.Buffer
				writeJSON(&b, doc)
				body = b.Bytes()
			}
		}
		if rec.Code == http.StatusOK && withRaw && rw.raw != nil {
			body = rw.raw(body)
		}
		rw.mu.Lock()
		rw.touched++
		rw.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func (rw *rewriter) fail(msg string) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.errs = append(rw.errs, msg)
}

// check requires that the rewriter ran and understood every answer.
func (rw *rewriter) check(t testing.TB) {
	t.Helper()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	require.Empty(t, rw.errs, "answers the rewriter could not parse")
	require.Positive(t, rw.touched, "the rewriter must see answers")
}

// pick selects about one node in n by unique ID, the same in every
// artifact and GraphQL answer.
func pick(uniqueID string, n uint32) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(uniqueID))
	return h.Sum32()%n == 0
}

// Keys whose values are maps keyed by names (nodes by unique ID, columns by
// column name): the map itself gets no unknown field, its entries do.
var mapKeys = map[string]bool{
	"nodes": true, "sources": true, "macros": true, "docs": true, "exposures": true, "metrics": true,
	"groups": true, "disabled": true, "saved_queries": true, "semantic_models": true, "unit_tests": true,
	"columns": true, "stats": true,
}

// freeForm are keys whose values are user data stored or read verbatim (an
// extra key there is a real change, not drift) or maps of names.
var freeForm = map[string]bool{
	"meta": true, "source_meta": true, "env": true, "parent_map": true, "child_map": true, "group_map": true,
	"criteria": true, "adapter_response": true, "unrendered_config": true, "persist_docs": true,
	"column_types": true, "grants": true, "selectors": true, "x_future_field": true,
}

// futureField is what a future dbt version might add anywhere.
func futureField() any {
	o := &jsonObject{vals: map[string]any{}}
	inner := &jsonObject{vals: map[string]any{}}
	inner.set("b", nil)
	o.set("a", []any{json.Number("1"), inner})
	return o
}

// addUnknownFields adds x_future_field to every schema object of doc.
func addUnknownFields(doc any) {
	walkObjects(doc, "", "", func(o *jsonObject, key, _ string) bool {
		if freeForm[key] {
			return false
		}
		if !mapKeys[key] {
			o.set("x_future_field", futureField())
		}
		return true
	})
}

// definedNode reports whether a unique ID names a model, seed or snapshot:
// assets whose description, tags and meta come only from their definition.
func definedNode(id string) bool {
	for _, p := range []string{"model.", "seed.", "snapshot."} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// victim is the selection of nodes a scenario changes.
func victim(id string) bool { return definedNode(id) && pick(id, 3) }

// dropOptional removes the optional fields of the victims: description,
// tags, meta, columns, config.meta and config.tags from manifest nodes;
// description, tags and meta from GraphQL nodes and their columns.
func dropOptional(doc any, manifest bool) {
	walkObjects(doc, "", "", func(o *jsonObject, key, _ string) bool {
		id := nodeID(o)
		if id == "" || !victim(id) {
			return true
		}
		if manifest {
			if _, ok := o.get("resource_type"); !ok {
				return true
			}
			for _, k := range []string{"description", "tags", "meta", "columns"} {
				o.del(k)
			}
			if c, ok := o.vals["config"].(*jsonObject); ok {
				c.del("meta")
				c.del("tags")
			}
			return false
		}
		walkObjects(o, "", "", func(x *jsonObject, _, _ string) bool {
			for _, k := range []string{"description", "tags", "meta"} {
				x.del(k)
			}
			return true
		})
		return false
	})
}

// nullKeys are the optional values the nulls scenario sets to null.
var nullKeys = []string{"description", "tags", "meta", "depends_on", "failures", "timing"}

func nullOptional(doc any) {
	walkObjects(doc, "", "", func(o *jsonObject, key, _ string) bool {
		if freeForm[key] {
			return false
		}
		for _, k := range nullKeys {
			if _, ok := o.get(k); ok {
				o.set(k, nil)
			}
		}
		return true
	})
}

// rows parses the dump rows of one table of one environment.
func rows(t testing.TB, d catalogDump, envID int64, table string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range d[envID][table] {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(r), &m))
		out = append(out, m)
	}
	return out
}

// byID indexes rows by a column.
func byID(rs []map[string]any, col string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range rs {
		s, _ := r[col].(string)
		out[s] = r
	}
	return out
}

// requireAllSucceeded requires every environment of the report to have
// written a complete snapshot.
func requireAllSucceeded(t testing.TB, rep *crawl.Report) {
	t.Helper()
	require.NoError(t, rep.Error())
	require.NotEmpty(t, rep.Environments)
	for _, er := range rep.Environments {
		require.Equal(t, "succeeded", er.Status, "environment %d", er.Scope.EnvironmentID)
		require.True(t, er.Complete, "environment %d complete (warnings %v)", er.Scope.EnvironmentID, er.Warnings)
	}
}

// referenceCatalog is the catalog of one fault-free crawl of the default
// dataset.
func referenceCatalog(t *testing.T) catalogDump {
	t.Helper()
	e := newEnv(t)
	e.mustCrawl(t.Context())
	return dump(t, e.dsn)
}

// driftEnv starts an environment whose emulator answers through rw.
func driftEnv(t *testing.T, rw *rewriter) *env {
	t.Helper()
	return newEnv(t, withHandler(rw.wrap))
}

func TestSchemaDrift(t *testing.T) {
	ref := referenceCatalog(t)

	t.Run("unknown fields in every artifact and GraphQL node", func(t *testing.T) {
		requireScenario(t, "unknown fields in every artifact and GraphQL node")
		rw := &rewriter{
			artifact: func(_ int64, _ string, doc any) { addUnknownFields(doc) },
			graphql:  addUnknownFields,
		}
		e := driftEnv(t, rw)
		rep := e.crawl(t.Context(), nil)
		rw.check(t)
		requireAllSucceeded(t, rep)
		requireSameCatalog(t, ref, dump(t, e.dsn))
	})

	t.Run("missing optional fields", func(t *testing.T) {
		requireScenario(t, "missing optional fields")
		rw := &rewriter{
			artifact: func(_ int64, name string, doc any) { dropOptional(doc, name == "manifest.json") },
			graphql:  func(doc any) { dropOptional(doc, false) },
		}
		e := driftEnv(t, rw)
		rep := e.crawl(t.Context(), nil)
		rw.check(t)
		requireAllSucceeded(t, rep)
		got := dump(t, e.dsn)
		victims := 0
		for envID := range ref {
			want := byID(rows(t, ref, envID, "assets"), "unique_id")
			have := byID(rows(t, got, envID, "assets"), "unique_id")
			require.Len(t, have, len(want), "environment %d keeps every asset", envID)
			for id, a := range have {
				if !victim(id) {
					require.Equal(t, want[id], a, "untouched asset %s", id)
					continue
				}
				victims++
				require.Empty(t, a["description"], "%s description", id)
				require.Empty(t, a["tags"], "%s tags", id)
				require.Empty(t, a["meta"], "%s meta", id)
			}
			for _, c := range rows(t, got, envID, "columns") {
				if id, _ := c["unique_id"].(string); victim(id) {
					require.Empty(t, c["description"], "column %s.%s description", id, c["name"])
					require.NotEmpty(t, c["data_type"], "catalog.json still supplies column %s.%s", id, c["name"])
				}
			}
		}
		require.Positive(t, victims)
	})

	t.Run("nulls for optional values", func(t *testing.T) {
		requireScenario(t, "nulls for optional values")
		rw := &rewriter{
			artifact: func(_ int64, _ string, doc any) { nullOptional(doc) },
			graphql:  nullOptional,
		}
		e := driftEnv(t, rw)
		rep := e.crawl(t.Context(), nil)
		rw.check(t)
		requireAllSucceeded(t, rep)
		got := dump(t, e.dsn)
		for envID := range ref {
			want := byID(rows(t, ref, envID, "assets"), "unique_id")
			have := byID(rows(t, got, envID, "assets"), "unique_id")
			require.Len(t, have, len(want), "environment %d keeps every asset", envID)
			for id, a := range have {
				if definedNode(id) {
					require.Empty(t, a["description"], "%s description", id)
					require.Empty(t, a["tags"], "%s tags", id)
					require.Empty(t, a["meta"], "%s meta", id)
				}
			}
		}
	})
}

// futureRunStatus is a run status code dbt Cloud does not document.
const futureRunStatus = 99

func TestNewEnumValues(t *testing.T) {
	requireScenario(t, "new enum values")
	var futureRun int64 // the run whose status the Admin API reports as 99
	rw := &rewriter{
		artifact: func(_ int64, name string, doc any) {
			switch name {
			case "manifest.json":
				root := doc.(*jsonObject)
				nodes := root.vals["nodes"].(*jsonObject)
				meta := root.vals["metadata"].(*jsonObject)
				pkg := meta.str("project_name")
				n := &jsonObject{vals: map[string]any{}}
				n.set("unique_id", "ai_agent."+pkg+".concierge")
				n.set("resource_type", "ai_agent")
				n.set("name", "concierge")
				n.set("package_name", pkg)
				n.set("path", "agents/concierge.yml")
				n.set("original_file_path", "agents/concierge.yml")
				n.set("fqn", []any{pkg, "concierge"})
				n.set("description", "A node type from a future dbt.")
				nodes.set("ai_agent."+pkg+".concierge", n)
				walkObjects(nodes, "", "", func(o *jsonObject, _, _ string) bool {
					if id := nodeID(o); strings.HasPrefix(id, "model.") && pick(id, 3) {
						if c, ok := o.vals["config"].(*jsonObject); ok {
							c.set("materialized", "dynamic_table")
						}
						return false
					}
					return true
				})
			case "run_results.json":
				walkObjects(doc, "", "", func(o *jsonObject, _, _ string) bool {
					if id := nodeID(o); (strings.HasPrefix(id, "model.") || strings.HasPrefix(id, "test.")) && pick(id, 3) {
						o.set("status", "partial_success")
						return false
					}
					return true
				})
			}
		},
		graphql: func(doc any) {
			walkObjects(doc, "", "", func(o *jsonObject, _, _ string) bool {
				id := nodeID(o)
				if !strings.HasPrefix(id, "model.") || !pick(id, 3) {
					return true
				}
				if _, ok := o.get("materializedType"); ok {
					o.set("materializedType", "dynamic_table")
				}
				if x, ok := o.vals["executionInfo"].(*jsonObject); ok {
					x.set("lastRunStatus", "partial_success")
				}
				return false
			})
		},
		runs: func(doc any) {
			walkObjects(doc, "", "", func(o *jsonObject, _, _ string) bool {
				if id, _ := o.vals["id"].(json.Number); id.String() == strconv.FormatInt(futureRun, 10) {
					if _, ok := o.get("job_definition_id"); ok {
						o.set("status", json.Number(strconv.Itoa(futureRunStatus)))
						o.set("status_humanized", "Paused")
					}
				}
				return true
			})
		},
	}
	e := driftEnv(t, rw)
	e.ds.RLock()
	futureRun = e.ds.Runs[0].ID
	e.ds.RUnlock()
	rep := e.crawl(t.Context(), nil)
	rw.check(t)
	requireAllSucceeded(t, rep)
	got := dump(t, e.dsn)

	warned := false
	for _, er := range rep.Environments {
		for _, w := range er.Warnings {
			if strings.Contains(w.Message, "ai_agent") {
				warned = true
			}
		}
	}
	materialized, partialModels, partialTests := 0, 0, 0
	for envID := range got {
		for id, a := range byID(rows(t, got, envID, "assets"), "unique_id") {
			require.False(t, strings.HasPrefix(id, "ai_agent."), "the unknown node type must not become an asset")
			if strings.HasPrefix(id, "model.") && pick(id, 3) {
				require.Equal(t, "dynamic_table", a["materialization"], "%s", id)
				materialized++
			}
		}
		for _, s := range rows(t, got, envID, "asset_status") {
			if id, _ := s["unique_id"].(string); strings.HasPrefix(id, "model.") && pick(id, 3) && s["last_run_status"] != "" {
				require.Equal(t, "partial_success", s["last_run_status"], "%s", id)
				partialModels++
			}
		}
		for _, r := range rows(t, got, envID, "test_results") {
			if id, _ := r["test_unique_id"].(string); pick(id, 3) {
				require.Equal(t, "partial_success", r["status"], "%s", id)
				partialTests++
			}
		}
		for _, r := range rows(t, got, envID, "runs") {
			if id, _ := r["run_id"].(float64); int64(id) == futureRun {
				require.EqualValues(t, futureRunStatus, r["status"], "run %d", futureRun)
			}
		}
	}
	require.Positive(t, materialized)
	require.Positive(t, partialModels)
	require.Positive(t, partialTests)
	require.True(t, warned, "a node of an unknown resource_type is skipped with a warning naming the type; warnings: %v", warningsOf(rep))
}

func warningsOf(rep *crawl.Report) []string {
	var out []string
	for _, er := range rep.Environments {
		for _, w := range er.Warnings {
			out = append(out, w.Code+": "+w.Message)
		}
	}
	return out
}

// Strings a scenario puts into descriptions and meta.
var (
	nulText     = "before\u0000after"
	badUTF8     = json.RawMessage("\"bad \xff\xfe bytes\"")
	megabyteDoc = strings.Repeat("All work and no play. ", 1<<20/22+1)[:1<<20]
)

// oddText gives models odd text: picks of 5 by remainder get a NUL, invalid
// UTF-8 or a 1 MiB description, and meta values with NUL and invalid UTF-8.
func oddText(doc any, graphql bool) {
	walkObjects(doc, "", "", func(o *jsonObject, _, _ string) bool {
		id := nodeID(o)
		if !strings.HasPrefix(id, "model.") {
			return true
		}
		if !graphql {
			if _, ok := o.get("resource_type"); !ok {
				return true
			}
		} else if _, ok := o.get("description"); !ok {
			return true
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(id))
		switch h.Sum32() % 5 {
		case 0:
			o.set("description", nulText)
		case 1:
			o.set("description", badUTF8)
		case 2:
			o.set("description", megabyteDoc)
		default:
			return false
		}
		m := &jsonObject{vals: map[string]any{}}
		m.set("note", nulText)
		m.set("bad", badUTF8)
		o.set("meta", m)
		if c, ok := o.vals["config"].(*jsonObject); ok {
			c.set("meta", m)
		}
		return false
	})
}

func TestOddText(t *testing.T) {
	requireScenario(t, "NUL bytes, invalid UTF-8 and 1 MB strings")
	rw := &rewriter{
		artifact: func(_ int64, name string, doc any) {
			if name == "manifest.json" {
				oddText(doc, false)
			}
		},
		graphql: func(doc any) { oddText(doc, true) },
	}
	e := driftEnv(t, rw)
	ctx := t.Context()
	rep := e.crawl(ctx, nil)
	rw.check(t)
	requireAllSucceeded(t, rep)
	got := dump(t, e.dsn)
	seen := map[string]int{}
	for envID := range got {
		for id, a := range byID(rows(t, got, envID, "assets"), "unique_id") {
			d, _ := a["description"].(string)
			require.True(t, utf8Valid(d) && !strings.Contains(d, "\x00"), "%s description must be clean text", id)
			meta, _ := json.Marshal(a["meta"])
			require.NotContains(t, string(meta), `\u0000`, "%s meta", id)
			switch {
			case d == "beforeafter":
				seen["nul"]++
			case strings.HasPrefix(d, "bad ") && strings.Contains(d, "\uFFFD"):
				seen["utf8"]++
			case len(d) == len(megabyteDoc):
				require.Equal(t, megabyteDoc, d, "%s: the 1 MiB description is stored whole", id)
				seen["big"]++
			}
		}
	}
	require.Positive(t, seen["nul"], "a description with NUL is stored without it")
	require.Positive(t, seen["utf8"], "invalid UTF-8 is stored as U+FFFD")
	require.Positive(t, seen["big"], "the 1 MiB description is stored")

	require.NotEmpty(t, e.ds.AddRuns(11, 0))
	rep = e.crawl(ctx, nil)
	requireAllSucceeded(t, rep)
	for _, er := range rep.Environments {
		require.Zero(t, er.Result.AssetRowsWritten(), "environment %d: unchanged odd text must not rewrite assets (%+v)", er.Scope.EnvironmentID, er.Result)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// nest returns an object nested depth levels deep.
func nest(depth int) json.RawMessage {
	return json.RawMessage(strings.Repeat(`{"level":`, depth-1) + `{"leaf":true}` + strings.Repeat("}", depth-1))
}

func TestDeepMeta(t *testing.T) {
	requireScenario(t, "deeply nested meta")
	ctx := t.Context()
	depth := 100
	setMeta := func(doc any, graphql bool) {
		walkObjects(doc, "", "", func(o *jsonObject, _, _ string) bool {
			id := nodeID(o)
			if !strings.HasPrefix(id, "model.") {
				return true
			}
			if _, ok := o.get("meta"); ok && (graphql || o.vals["resource_type"] != nil) {
				o.set("meta", nest(depth))
				if c, ok := o.vals["config"].(*jsonObject); ok {
					c.set("meta", nest(depth))
				}
			}
			return false
		})
	}
	rw := &rewriter{
		artifact: func(_ int64, name string, doc any) {
			if name == "manifest.json" {
				setMeta(doc, false)
			}
		},
		graphql: func(doc any) {
			if depth <= 100 {
				setMeta(doc, true)
			}
		},
	}
	e := driftEnv(t, rw)
	rep := e.crawl(ctx, nil)
	rw.check(t)
	requireAllSucceeded(t, rep)
	before := dump(t, e.dsn)
	models := 0
	for envID := range before {
		for id, a := range byID(rows(t, before, envID, "assets"), "unique_id") {
			if strings.HasPrefix(id, "model.") {
				b, err := json.Marshal(a["meta"])
				require.NoError(t, err)
				require.JSONEq(t, string(nest(100)), string(b), "%s: meta nested 100 levels is stored whole", id)
				models++
			}
		}
	}
	require.Positive(t, models)

	depth = 10_000
	require.NotEmpty(t, e.ds.AddRuns(13, 0.2))
	rep = e.crawl(crawlCtx(t, time.Minute), nil)
	require.NoError(t, rep.Err)
	for _, er := range rep.Environments {
		require.Equal(t, crawl.StatusFailed, er.Status, "environment %d", er.Scope.EnvironmentID)
		require.ErrorIs(t, er.Err, catalog.ErrTooDeep)
		require.Contains(t, er.Err.Error(), "manifest.json")
		require.Contains(t, er.Err.Error(), strconv.Itoa(catalog.DefaultMaxDepth))
		require.Contains(t, er.Err.Error(), "depth limit")
	}
	requireSameCatalog(t, before, dump(t, e.dsn), "a refused manifest leaves the catalog as it was")
}
