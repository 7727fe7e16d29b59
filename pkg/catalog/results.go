package catalog

import (
	"encoding/json"
	"io"
	"reflect"
	"time"
)

// RunResult is one entry of run_results.json.
type RunResult struct {
	UniqueID string
	// Status as dbt wrote it: success, error, skipped, pass, fail, warn, ...
	Status        string
	Message       string
	ThreadID      string
	ExecutionTime float64
	// Failures is nil when dbt wrote null or nothing.
	Failures *int64
	Timing   []Timing
	// AdapterResponse is nil when dbt wrote {} or null.
	AdapterResponse json.RawMessage
	RelationName    string
}

// Timing is one phase (compile or execute) of a result.
type Timing struct {
	Name        string
	StartedAt   time.Time
	CompletedAt time.Time
}

// ExecutedAt returns the completion time of the execute phase, or the zero
// time when there is none.
func (r RunResult) ExecutedAt() time.Time {
	for _, t := range r.Timing {
		if t.Name == "execute" && !t.CompletedAt.IsZero() {
			return t.CompletedAt
		}
	}
	return time.Time{}
}

type timingJSON struct {
	Name        string   `json:"name"`
	StartedAt   flexTime `json:"started_at"`
	CompletedAt flexTime `json:"completed_at"`
}

type runResultJSON struct {
	UniqueID        string          `json:"unique_id"`
	Status          flexString      `json:"status"`
	Message         flexString      `json:"message"`
	ThreadID        flexString      `json:"thread_id"`
	ExecutionTime   flexFloat       `json:"execution_time"`
	Failures        flexInt         `json:"failures"`
	Timing          []timingJSON    `json:"timing"`
	AdapterResponse json.RawMessage `json:"adapter_response"`
	RelationName    string          `json:"relation_name"`
	Node            *struct {
		UniqueID string `json:"unique_id"`
	} `json:"node"`
}

func timings(in []timingJSON) []Timing {
	if len(in) == 0 {
		return nil
	}
	out := make([]Timing, len(in))
	for i, t := range in {
		out[i] = Timing{Name: t.Name, StartedAt: t.StartedAt.Time, CompletedAt: t.CompletedAt.Time}
	}
	return out
}

func emptyJSON(raw json.RawMessage) bool {
	i := skipSpace(raw, 0)
	if i == len(raw) || isNull(raw[i:]) {
		return true
	}
	return raw[i] == '{' && skipSpace(raw, i+1) < len(raw) && raw[skipSpace(raw, i+1)] == '}'
}

// Field tables of the entry types, built once.
var (
	runResultSpec = newStructSpec(reflect.TypeFor[runResultJSON]())
	freshnessSpec = newStructSpec(reflect.TypeFor[freshnessJSON]())
)

// DecodeRunResults streams run_results.json from r, calling fn once per
// result, one result in memory at a time. ArtifactMeta.Command is
// args.which. Errors are as for DecodeManifest.
func DecodeRunResults(r io.Reader, opts DecodeOptions, fn func(RunResult) error) (ArtifactMeta, error) {
	return walkRunResults(r, opts, func(raw []byte) error {
		var j runResultJSON
		if err := decodeEntry(runResultSpec, &j, raw); err != nil {
			return err
		}
		res := RunResult{
			UniqueID:      j.UniqueID,
			Status:        string(j.Status),
			Message:       string(j.Message),
			ThreadID:      string(j.ThreadID),
			ExecutionTime: float64(j.ExecutionTime),
			Timing:        timings(j.Timing),
			RelationName:  j.RelationName,
		}
		if res.UniqueID == "" && j.Node != nil {
			res.UniqueID = j.Node.UniqueID
		}
		if j.Failures.Set {
			f := j.Failures.V
			res.Failures = &f
		}
		if !emptyJSON(j.AdapterResponse) {
			res.AdapterResponse = j.AdapterResponse
		}
		return fn(res)
	})
}

// walkRunResults streams run_results.json from r, calling fn with the raw
// JSON of every result that is an object (valid during the call only) and
// filling ArtifactMeta as DecodeRunResults documents.
func walkRunResults(r io.Reader, opts DecodeOptions, fn func(raw []byte) error) (ArtifactMeta, error) {
	w := newWalker(r, KindRunResults, opts)
	return w.runRunResults(func(_ string, raw []byte) error {
		if !isObject(raw) {
			return nil
		}
		w.meta.Entries++
		return fn(raw)
	})
}

// runRunResults walks run_results.json: results are handed to results
// when it is not nil (else to the stream handler w.streams names), args
// and elapsed_time fill ArtifactMeta as DecodeRunResults documents.
func (w *walker) runRunResults(results entryFunc) (ArtifactMeta, error) {
	handlers := map[string]entryFunc{
		"args": func(key string, raw []byte) error {
			if key == "which" || (key == "command" && w.meta.Command == "") {
				var s flexString
				_ = s.UnmarshalJSON(raw)
				w.meta.Command = clean(string(s))
			}
			return nil
		},
	}
	if results != nil {
		handlers["results"] = results
	}
	scalar := func(key string, raw []byte) {
		if key == "elapsed_time" {
			var f flexFloat
			_ = f.UnmarshalJSON(raw)
			w.meta.ElapsedSeconds = float64(f)
		}
	}
	foreign := map[string]string{"nodes": "manifest.json or catalog.json", "macros": "manifest.json"}
	return w.run(handlers, foreign, scalar)
}

// FreshnessResult is one entry of sources.json.
type FreshnessResult struct {
	UniqueID string
	// Status is pass, warn, error or runtime error.
	Status        string
	MaxLoadedAt   time.Time
	SnapshottedAt time.Time
	AgeSeconds    float64
	// Criteria is the warn_after/error_after/filter object as JSON.
	Criteria      json.RawMessage
	Error         string
	ExecutionTime float64
	Timing        []Timing
}

type freshnessJSON struct {
	UniqueID      string          `json:"unique_id"`
	Status        flexString      `json:"status"`
	MaxLoadedAt   flexTime        `json:"max_loaded_at"`
	SnapshottedAt flexTime        `json:"snapshotted_at"`
	AgeSeconds    flexFloat       `json:"max_loaded_at_time_ago_in_s"`
	Criteria      json.RawMessage `json:"criteria"`
	Error         flexString      `json:"error"`
	ExecutionTime flexFloat       `json:"execution_time"`
	Timing        []timingJSON    `json:"timing"`
}

// DecodeSources streams sources.json (source freshness) from r, calling fn
// once per result. Errors are as for DecodeManifest.
func DecodeSources(r io.Reader, opts DecodeOptions, fn func(FreshnessResult) error) (ArtifactMeta, error) {
	w := newWalker(r, KindSources, opts)
	handlers := map[string]entryFunc{
		"results": func(_ string, raw []byte) error {
			if !isObject(raw) {
				return nil
			}
			var j freshnessJSON
			if err := decodeEntry(freshnessSpec, &j, raw); err != nil {
				return err
			}
			w.meta.Entries++
			return fn(FreshnessResult{
				UniqueID:      j.UniqueID,
				Status:        string(j.Status),
				MaxLoadedAt:   j.MaxLoadedAt.Time,
				SnapshottedAt: j.SnapshottedAt.Time,
				AgeSeconds:    float64(j.AgeSeconds),
				Criteria:      canonicalJSON(j.Criteria),
				Error:         string(j.Error),
				ExecutionTime: float64(j.ExecutionTime),
				Timing:        timings(j.Timing),
			})
		},
	}
	scalar := func(key string, raw []byte) {
		if key == "elapsed_time" {
			var f flexFloat
			_ = f.UnmarshalJSON(raw)
			w.meta.ElapsedSeconds = float64(f)
		}
	}
	foreign := map[string]string{"nodes": "manifest.json or catalog.json", "macros": "manifest.json"}
	return w.run(handlers, foreign, scalar)
}
