// Package catalog holds the crawler's domain types: the assets, columns,
// lineage edges, test results, source freshness and warehouse relations that
// one crawl of one dbt environment produces, gathered into a Snapshot.
//
// The package depends on the standard library only. The API clients produce
// its types, the artifact decoders in this package produce them from dbt's
// JSON files, and the store writes them to Postgres.
package catalog

import (
	"encoding/json"
	"time"
)

// ResourceType is a dbt resource type in lower case, as dbt writes it in
// manifest.json ("model", "source", "seed", ...).
type ResourceType string

// The dbt resource types the catalog records as assets.
const (
	TypeModel         ResourceType = "model"
	TypeSource        ResourceType = "source"
	TypeSeed          ResourceType = "seed"
	TypeSnapshot      ResourceType = "snapshot"
	TypeTest          ResourceType = "test"
	TypeUnitTest      ResourceType = "unit_test"
	TypeExposure      ResourceType = "exposure"
	TypeMetric        ResourceType = "metric"
	TypeSemanticModel ResourceType = "semantic_model"
	TypeSavedQuery    ResourceType = "saved_query"
	TypeAnalysis      ResourceType = "analysis"
)

// Scope identifies the dbt environment a snapshot describes. Two environments
// of one project have different EnvironmentIDs, so their assets never collide.
// For dbt Core artifacts loaded with `crawler ingest`, AccountID is 0 and the
// project and environment IDs are derived from their names (see CoreScope).
type Scope struct {
	AccountID       int64
	ProjectID       int64
	EnvironmentID   int64
	ProjectName     string
	EnvironmentName string
	// EnvironmentType is "deployment" or "development" for dbt Cloud, "core"
	// for local artifacts.
	EnvironmentType string
	// DeploymentType is dbt Cloud's "production", "staging" or "" (general).
	DeploymentType string
}

// Asset is one dbt node (model, source, seed, snapshot, test, exposure,
// metric, semantic model, saved query or analysis) in one environment.
type Asset struct {
	UniqueID    string
	Type        ResourceType
	Name        string
	PackageName string
	Description string

	// Database, Schema and Identifier locate the relation the node builds or
	// reads, as dbt configured them (Identifier is the alias for models and
	// the identifier for sources). RelationName is dbt's rendered, quoted
	// relation when it has one.
	Database     string
	Schema       string
	Identifier   string
	RelationName string

	Materialization string
	Language        string
	Access          string
	Version         string
	Enabled         bool

	Owner string
	Tags  []string
	// Meta is the node's merged meta object as JSON (nil when empty).
	Meta json.RawMessage

	Path         string
	RawCode      Text
	CompiledCode Text
	Checksum     string

	// Source fields.
	SourceName string
	Loader     string

	// Test fields.
	TestName       string // generic test name, e.g. "not_null"; "" for singular tests
	TestColumnName string
	TestedUniqueID string // the node a test is attached to
	Severity       string

	// URL of an exposure; Label of a metric or exposure.
	URL   string
	Label string

	// TestNamespace is a generic test's macro namespace ("dbt_utils", ...;
	// "" for built-in tests).
	TestNamespace string
	// Group is the dbt group the node belongs to.
	Group string
	// ExposureType (dashboard, notebook, ...) and Maturity of an exposure.
	ExposureType string
	Maturity     string
	// MetricType of a metric (simple, ratio, derived, ... or the pre-1.6
	// calculation method).
	MetricType string

	// Last execution observed for the node (models, seeds, snapshots, tests).
	LastRunStatus string
	LastRunAt     time.Time
	LastRunID     int64
	LastJobID     int64
	// ExecutionSeconds of that last execution.
	ExecutionSeconds float64
}

// Column is one column of an asset: declared in YAML, found in the warehouse
// catalog, or both.
type Column struct {
	AssetUniqueID string
	Name          string
	DataType      string
	// Ordinal is 1-based; 0 means unknown (declared in YAML only).
	Ordinal     int
	Description string
	Tags        []string
	Meta        json.RawMessage
	Comment     string
}

// Edge is a lineage edge: Downstream depends on Upstream. Both are unique IDs
// in the same environment.
type Edge struct {
	Upstream   string
	Downstream string
}

// TestResult is one execution of one test in one run. A test has at most one
// result per run.
type TestResult struct {
	TestUniqueID string
	RunID        int64
	JobID        int64
	// Status is dbt's result status: pass, fail, warn, error, skipped.
	Status string
	// Failures is the number of failing rows; nil when dbt did not report it.
	Failures         *int64
	Message          string
	ExecutedAt       time.Time
	ExecutionSeconds float64
	InvocationID     string
}

// Freshness is one source freshness check of one source.
type Freshness struct {
	SourceUniqueID string
	RunID          int64
	JobID          int64
	// Status is pass, warn, error or runtime error.
	Status        string
	MaxLoadedAt   time.Time
	SnapshottedAt time.Time
	AgeSeconds    float64
	// Criteria is the warn_after/error_after/filter object as JSON.
	Criteria json.RawMessage
	Message  string
}

// Relation is a warehouse object (table, view, ...) that dbt builds or reads.
type Relation struct {
	Database string
	Schema   string
	Name     string
	// Kind is the relation kind in lower case: table, view,
	// materialized_view, incremental, external, snapshot, seed, ...
	Kind    string
	Owner   string
	Comment string
	// RowCount and Bytes come from catalog stats when the adapter reports them.
	RowCount *int64
	Bytes    *int64
}

// Key returns the relation's identity, "database.schema.name" as stored (not
// re-normalised).
func (r Relation) Key() string { return r.Database + "." + r.Schema + "." + r.Name }

// MatchStatus says whether and how a dbt node was matched to a warehouse
// relation.
type MatchStatus string

// The outcomes of matching a node to a relation.
const (
	MatchMatched        MatchStatus = "matched"
	MatchEphemeral      MatchStatus = "ephemeral"
	MatchDisabled       MatchStatus = "disabled"
	MatchNotBuilt       MatchStatus = "not_built"
	MatchMissingCatalog MatchStatus = "missing_from_catalog"
)

// Match records the relation a dbt node builds or reads, and how it was
// found, or why it was not.
type Match struct {
	UniqueID string
	Status   MatchStatus
	// Rule names the rule that matched, e.g. "relation_name", "exact",
	// "case_insensitive", "catalog_key".
	Rule string
	// Reason explains a non-match in words.
	Reason string
	// Database, Schema and Name are the normalised relation the node maps to.
	Database string
	Schema   string
	Name     string
}

// Job is a dbt Cloud job as crawled.
type Job struct {
	ID            int64
	EnvironmentID int64
	Name          string
	GenerateDocs  bool
	RunFreshness  bool
	ExecuteSteps  []string
	State         int
}

// Run is a dbt Cloud run as crawled.
type Run struct {
	ID                   int64
	JobID                int64
	Status               int
	StatusText           string
	GitSHA               string
	HasDocsGenerated     bool
	HasSourcesGenerated  bool
	CreatedAt            time.Time
	FinishedAt           time.Time
	DurationSeconds      float64
	TriggerCause         string
	ArtifactsSaved       bool
	InProgressOrQueued   bool
	IsCompleteAndSuccess bool
}

// Watermark is the newest run the crawler has fully processed for one job.
type Watermark struct {
	JobID     int64
	LastRunID int64
}

// Warning is a non-fatal problem found while building a snapshot. Warnings
// with the same Code and Message are counted, not repeated.
type Warning struct {
	Code    string
	Message string
	Count   int
}

// Snapshot is everything one crawl learned about one environment. A snapshot
// marked Complete is authoritative: assets missing from it may be archived.
// An incomplete snapshot (a page or artifact failed) only adds and updates.
type Snapshot struct {
	Scope    Scope
	Complete bool
	// AdapterType is the warehouse adapter, e.g. "snowflake", "postgres".
	AdapterType string
	// GeneratedAt is when the newest input was produced.
	GeneratedAt time.Time
	// AppliedUpdatedAt is the Discovery API's applied.lastUpdatedAt of the
	// environment when the snapshot was taken (zero without Discovery).
	AppliedUpdatedAt time.Time

	Assets      []Asset
	Columns     []Column
	Edges       []Edge
	TestResults []TestResult
	Freshness   []Freshness
	Relations   []Relation
	Matches     []Match

	Jobs       []Job
	Runs       []Run
	Watermarks []Watermark
	Warnings   []Warning

	// ArtifactHashes holds, per asset unique_id, the digest of the asset's
	// definition as the run artifacts give it (its fields, columns and
	// upstream edges; not its execution). The store keeps it with the
	// asset, so that the next crawl can tell which assets changed.
	ArtifactHashes map[string][]byte `json:",omitempty"`
	// Kept names the assets an incremental crawl found unchanged (same
	// artifact hash as stored) and therefore did not read again from the
	// Discovery API: the store keeps their stored definition, columns and
	// upstream edges, and applies only their execution. Nil when every
	// asset was read in full.
	Kept map[string]bool `json:",omitempty"`
}

// AddWarning records a warning, counting repeats of the same code and message.
func (s *Snapshot) AddWarning(code, message string) {
	for i := range s.Warnings {
		if s.Warnings[i].Code == code && s.Warnings[i].Message == message {
			s.Warnings[i].Count++
			return
		}
	}
	s.Warnings = append(s.Warnings, Warning{Code: code, Message: message, Count: 1})
}
