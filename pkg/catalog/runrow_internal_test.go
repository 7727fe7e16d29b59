package catalog

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
)

// runRowDocs are run_results.json documents exercising the corners of
// rowDecoder: duplicates, type mismatches, escapes, case folding, invalid
// UTF-8, timestamps near the shape parseUTCStamp reads.
var runRowDocs = func() []string {
	const head = `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","generated_at":"2025-03-01T10:00:00Z","invocation_id":"i"},"results":[`
	results := []string{
		`{"unique_id":"model.p.a","status":"success","timing":[{"name":"compile","started_at":"2025-03-01T09:00:00Z","completed_at":"2025-03-01T09:00:01Z"},{"name":"execute","started_at":"2025-03-01T09:00:01Z","completed_at":"2025-03-01T09:00:05.123456Z"}],"execution_time":4.2,"adapter_response":{"rows_affected":3},"message":"SELECT 3","failures":null}`,
		`{"unique_id":"test.p.t","status":"fail","failures":3,"message":"Got 3 results","timing":[{"name":"execute","completed_at":"2025-03-01 09:00:05"}],"adapter_response":{}}`,
		`{"unique_id":"test.p.t","status":"pass","failures":"7","execution_time":"1.5","adapter_response":null}`,
		`{"unique_id":"test.p.t","status":"warn","failures":2.0,"execution_time":"x","adapter_response":[]}`,
		`{"unique_id":"test.p.t","status":"warn","failures":true,"execution_time":true}`,
		`{"unique_id":"test.p.t","status":"warn","failures":1e400,"execution_time":1e400}`,
		`{"unique_id":"test.p.t","status":"warn","failures":"NaN","execution_time":"NaN"}`,
		`{"unique_id":"test.p.t","status":null,"message":{"a":1},"failures":{}}`,
		`{"unique_id":"test.p.t","status":12,"message":false}`,
		`{"unique_id":"test.p.t","status":"pa\u0073s","message":"a\u0000b\n"}`,
		`{"unique_id":"te\u0073t.p.esc","status":"pass"}`,
		`{"UNIQUE_ID":"test.p.upper","STATUS":"pass","Timing":[{"NAME":"execute","Completed_At":"2025-03-01T09:00:09Z"}]}`,
		`{"unique_id":"a","unique_id":"b","unique_id":5,"status":"x","status":"success"}`,
		`{"unique_id":"","node":{"unique_id":"model.p.from_node"},"status":"success"}`,
		`{"node":{"unique_id":"model.p.n1"},"node":{},"status":"success"}`,
		`{"node":{"unique_id":"model.p.n1"},"node":null,"status":"success"}`,
		`{"node":{"unique_id":"model.p.n1"},"node":7,"status":"success"}`,
		`{"node":{"unique_id":5},"status":"success"}`,
		`{"node":{"unique_id":"model.p.n1"},"node":null,"node":{},"status":"success"}`,
		`{"node":{"unique_id":"model.p.n1"},"node":{"unique_id":7},"status":"success"}`,
		`{"NODE":{"Unique_ID":"model.p.n1","config":{"a":[{"b":{}}]}},"status":"success"}`,
		`{"unique_id":null,"node":{"unique_id":"model.p.n1"},"status":"success"}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2024-02-29T09:00:05Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-02-29T09:00:05Z"},{"name":"execute","completed_at":"2025-04-31T09:00:05.5Z"},{"name":"execute","completed_at":"2025-04-30T24:00:05Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-04-30T09:00:05.1234567891Z"},{"name":"execute","completed_at":"2025-04-30T09:00:05.Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"0000-01-01T00:00:00Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":" 2025-04-30T09:00:05Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-04-30T09:00:05,25Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-04-30t09:00:05z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-04-30T09:00:05.000000"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-04-30T09:00:05\u005a"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":1745999999}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-04-30T09:00:05+00:00"}],"message":"SELECT 1"}`,
		`{"unique_id":"model.p.a","message":"SELECT 1","message":"SELECT 1","message":"SELECT\u00201"}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-03-01T09:00:05Z"}],"timing":null}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-03-01T09:00:05Z"}],"timing":"x"}`,
		`{"unique_id":"model.p.a","timing":[{"name":"execute","completed_at":"2025-03-01T09:00:05Z"}],"timing":[]}`,
		`{"unique_id":"model.p.a","timing":[1,null,{"name":"execute"},{"name":"execute","completed_at":null},{"name":"execute","completed_at":"bad"},{"name":"execute","completed_at":"2025-03-01T09:00:06+02:00"},{"name":"execute","completed_at":"2025-03-01T09:00:07Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"completed_at":"2025-03-01T09:00:05Z","name":"execute","name":7}]}`,
		`{"unique_id":"model.p.a","timing":[{"completed_at":"2025-03-01T09:00:05Z","name":"compile","name":"execute","completed_at":"2025-03-01T09:00:08Z"}]}`,
		`{"unique_id":"model.p.a","timing":[{"name":"exec\u0075te","completed_at":"0001-01-01T00:00:00Z"},{"name":"execute","completed_at":"9999-12-31T23:59:59.999999999Z"}]}`,
		`{"unique_id":"model.p.a","adapter_response":{"a":1},"adapter_response":{ }}`,
		`{"unique_id":"model.p.a","adapter_response":{},"adapter_response":0}`,
		`{"unique_id":"model.p.\xff","status":"succ\xffess","message":"\xfe"}`,
		"{\"unique_id\":\"model.p.\xff\",\"status\":\"succ\xffess\",\"message\":\"\xfe\"}",
		"{\"unique_id\":\"model.p.a\",\"message\":\"ok \xe2\x82\"}",
		`{"unique_id":"model.p.a","failures":-3,"failures":null}`,
		`{"unique_id":"model.p.a","failures":9223372036854775807,"execution_time":-0.0}`,
		`{}`,
		`[]`,
		`"x"`,
	}
	docs := []string{head + strings.Join(results, ",") + `],"args":{"which":"build"}}`}
	for _, r := range results {
		docs = append(docs, head+r+`]}`)
	}
	// No args: compile-only detection by statuses and adapter responses.
	docs = append(docs,
		head+`{"unique_id":"a","status":"success","adapter_response":{}},{"unique_id":"b","status":"success"}]}`,
		head+`{"unique_id":"a","status":"success","adapter_response":{"x":1}}]}`,
		head+`]}`,
		`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":{"x":{"unique_id":"a"}}}`,
		`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[{"unique_id":"a"`,
	)
	return docs
}()

// requireRunRowsMatch checks that decodeRunRows agrees with
// DecodeRunResults on doc.
func requireRunRowsMatch(t testing.TB, doc []byte, opts DecodeOptions) {
	var want []RunResult
	wantMeta, wantErr := DecodeRunResults(bytes.NewReader(doc), opts, func(r RunResult) error {
		want = append(want, r)
		return nil
	})
	var strs strTable
	gotMeta, rows, quiet, gotErr := decodeRunRows(bytes.NewReader(doc), opts, &strs, nil)
	if wantErr != nil {
		require.EqualError(t, gotErr, wantErr.Error())
		return
	}
	require.NoError(t, gotErr)
	require.Equal(t, wantMeta, gotMeta)
	require.Len(t, rows, len(want))
	wantQuiet := true
	for i, w := range want {
		r := rows[i]
		require.Equal(t, w.UniqueID, strs.get(r.id), "result %d unique_id", i)
		require.Equal(t, w.Status, strs.get(r.status), "result %d status", i)
		require.Equal(t, w.Message, r.message, "result %d message", i)
		require.Equal(t, w.ExecutedAt(), r.executedAt(), "result %d executed at", i)
		require.Equal(t, math.Float64bits(w.ExecutionTime), math.Float64bits(r.seconds), "result %d execution time", i)
		require.Equal(t, w.Failures != nil, r.flags&rowFailures != 0, "result %d failures set", i)
		if w.Failures != nil {
			require.Equal(t, *w.Failures, r.failures, "result %d failures", i)
		}
		require.Equal(t, w.AdapterResponse != nil, r.flags&rowAdapter != 0, "result %d adapter response", i)
		if w.Status != "success" || w.AdapterResponse != nil {
			wantQuiet = false
		}
	}
	require.Equal(t, wantQuiet, quiet)
}

func TestDecodeRunRowsMatchesDecodeRunResults(t *testing.T) {
	t.Run("edge cases", func(t *testing.T) {
		for _, doc := range runRowDocs {
			requireRunRowsMatch(t, []byte(doc), DecodeOptions{})
		}
	})
	t.Run("shop fixture", func(t *testing.T) {
		doc, err := os.ReadFile(filepath.Join("testdata", "shop", "run_results.json"))
		require.NoError(t, err)
		requireRunRowsMatch(t, doc, DecodeOptions{})
	})
	t.Run("corpus", func(t *testing.T) {
		root := sharedtest.Path(t, "dbt-artifacts")
		files, err := filepath.Glob(filepath.Join(root, "*", "run_results*.json"))
		require.NoError(t, err)
		if len(files) == 0 {
			t.Skipf("no run_results.json under %s", root)
		}
		for _, f := range files {
			doc, err := os.ReadFile(f)
			require.NoError(t, err)
			requireRunRowsMatch(t, doc, DecodeOptions{})
		}
	})
}

func TestStrTable(t *testing.T) {
	var s strTable
	require.Equal(t, int32(0), s.str(""))
	require.Equal(t, "", s.get(0))
	a := s.str("a")
	require.Equal(t, a, s.bytes([]byte("a")))
	require.Equal(t, a, s.literal([]byte(`"\u0061"`)))
	require.Equal(t, a, s.flex([]byte(`"a"`)))
	require.Equal(t, int32(0), s.flex([]byte(`null`)))
	require.Equal(t, "12", s.get(s.flex([]byte(`12`))))
	require.Equal(t, "a", s.get(a))
	require.Len(t, s.list, 3)
}

func FuzzDecodeRunRows(f *testing.F) {
	for _, doc := range runRowDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		requireRunRowsMatch(t, doc, DecodeOptions{MaxBytes: 1 << 20, MaxDepth: 64})
	})
}

// stampCases are completed_at values around the shape parseUTCStamp reads.
var stampCases = []string{
	`"2025-03-01T09:00:05Z"`, `"2025-03-01T09:00:05.1Z"`, `"2025-03-01T09:00:05.123456789Z"`,
	`"2025-03-01T09:00:05.1234567891Z"`, `"2025-03-01T09:00:05.Z"`, `"2025-03-01T09:00:05,5Z"`,
	`"2024-02-29T00:00:00Z"`, `"2025-02-29T00:00:00Z"`, `"2100-02-29T00:00:00Z"`, `"2000-02-29T00:00:00Z"`,
	`"2025-04-31T00:00:00Z"`, `"2025-12-31T23:59:59.999999999Z"`, `"2025-13-01T00:00:00Z"`, `"2025-00-01T00:00:00Z"`,
	`"2025-01-00T00:00:00Z"`, `"2025-01-01T24:00:00Z"`, `"2025-01-01T00:60:00Z"`, `"2025-01-01T00:00:60Z"`,
	`"0000-01-01T00:00:00Z"`, `"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59Z"`, `"2025-01-01t00:00:00Z"`,
	`"2025-01-01T00:00:00z"`, `"2025-01-01 00:00:00Z"`, `"2025-1-01T00:00:00Z"`, `"+025-01-01T00:00:00Z"`,
	`"2025-01-01T00:00:00"`, `"2025-01-01T00:00:00+02:00"`, `" 2025-01-01T00:00:00Z"`, `"2025-01-01T00:00:00Z "`,
	`"2025-01-01T00:00:00.-1Z"`, `"2025-01-01T00:00:00.1e3Z"`, `"2025-01-01T00:00:00\u005a"`, `"2025-01-01T00:0a:00Z"`,
	`"x025-01-01T00:00:00Z"`, `2025`, `null`, `""`, `"Z"`,
}

func TestParseUTCStampMatchesFlexTime(t *testing.T) {
	for _, q := range stampCases {
		t.Run(q, func(t *testing.T) {
			requireStampMatches(t, []byte(q))
		})
	}
}

// requireStampMatches checks that parseUTCStamp, when it reads q, gives
// what flexTime gives.
func requireStampMatches(t *testing.T, q []byte) {
	var want flexTime
	require.NoError(t, want.UnmarshalJSON(q))
	got, ok := parseUTCStamp(q)
	if !ok {
		return
	}
	require.Equal(t, want.Time, got, "%s", q)
}

func FuzzParseUTCStamp(f *testing.F) {
	for _, q := range stampCases {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, s string) {
		requireStampMatches(t, []byte(`"`+s+`"`))
		requireStampMatches(t, []byte(s))
	})
}
