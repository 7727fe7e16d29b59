package discovery

import (
	"encoding/json"
	"strings"
	"time"
)

// The structs below are both the query documents (graphql tags, read by
// the library's query builder) and the response shapes (json tags, read
// by github.com/goccy/go-json, which ignores fields a response adds).
// Every field name is checked against dbt's schema in schema_test.go.
//
// Decoded strings share the response's buffer: the conversions in
// applied.go copy every string they keep (see strs).

// Variable names shared by every paged query.
const (
	varEnvironmentID = "environmentId"
	varFirst         = "first"
	varAfter         = "after"
	// varFilter is the {uniqueIds: [...]} filter of the by-ID queries.
	varFilter = "filter"
)

// Names of the applied-state connections' filter input types in dbt's
// schema; the by-ID queries declare $filter with them.
const (
	filterModels    = "ModelAppliedFilter"
	filterSources   = "SourceAppliedFilter"
	filterTests     = "TestAppliedFilter"
	filterExposures = "ExposureFilter"
	// filterMaterialized filters seeds and snapshots.
	filterMaterialized = "GenericMaterializedFilter"
)

// idFilter is the $filter variable of a by-ID query: {uniqueIds: [...]},
// declared as the connection's filter input type. The query builder takes
// the type from GetGraphQLType; passed as a pointer, the variable is
// nullable, like the connection's filter argument.
type idFilter struct {
	typ       string
	UniqueIDs []string `json:"uniqueIds"`
}

// GetGraphQLType returns the filter's input type name for the query
// builder.
func (f *idFilter) GetGraphQLType() string { return f.typ }

// newIDFilter returns the filter selecting ids, or nil (no filter: the
// whole connection) when ids is nil.
func newIDFilter(typ string, ids []string) *idFilter {
	if ids == nil {
		return nil
	}
	return &idFilter{typ: typ, UniqueIDs: ids}
}

// envQuery is `environment(id: $environmentId) { applied { ... } }`.
type envQuery[A any] struct {
	Environment struct {
		Applied *A `graphql:"applied" json:"applied"`
	} `graphql:"environment(id: $environmentId)" json:"environment"`
}

type pageInfo struct {
	HasNextPage bool   `graphql:"hasNextPage" json:"hasNextPage"`
	EndCursor   string `graphql:"endCursor" json:"endCursor"`
}

type edge[N any] struct {
	Node N `graphql:"node" json:"node"`
}

type connection[N any] struct {
	TotalCount int       `graphql:"totalCount" json:"totalCount"`
	PageInfo   pageInfo  `graphql:"pageInfo" json:"pageInfo"`
	Edges      []edge[N] `graphql:"edges" json:"edges"`
}

type modelsApplied[N any] struct {
	Conn connection[N] `graphql:"models(first: $first, after: $after)" json:"models"`
}

type sourcesApplied[N any] struct {
	Conn connection[N] `graphql:"sources(first: $first, after: $after)" json:"sources"`
}

type testsApplied[N any] struct {
	Conn connection[N] `graphql:"tests(first: $first, after: $after)" json:"tests"`
}

type seedsApplied[N any] struct {
	Conn connection[N] `graphql:"seeds(first: $first, after: $after)" json:"seeds"`
}

type snapshotsApplied[N any] struct {
	Conn connection[N] `graphql:"snapshots(first: $first, after: $after)" json:"snapshots"`
}

type exposuresApplied[N any] struct {
	Conn connection[N] `graphql:"exposures(first: $first, after: $after)" json:"exposures"`
}

// The same connections restricted to the unique IDs in $filter.

type modelsByIDApplied[N any] struct {
	Conn connection[N] `graphql:"models(first: $first, after: $after, filter: $filter)" json:"models"`
}

type sourcesByIDApplied[N any] struct {
	Conn connection[N] `graphql:"sources(first: $first, after: $after, filter: $filter)" json:"sources"`
}

type testsByIDApplied[N any] struct {
	Conn connection[N] `graphql:"tests(first: $first, after: $after, filter: $filter)" json:"tests"`
}

type seedsByIDApplied[N any] struct {
	Conn connection[N] `graphql:"seeds(first: $first, after: $after, filter: $filter)" json:"seeds"`
}

type snapshotsByIDApplied[N any] struct {
	Conn connection[N] `graphql:"snapshots(first: $first, after: $after, filter: $filter)" json:"snapshots"`
}

type exposuresByIDApplied[N any] struct {
	Conn connection[N] `graphql:"exposures(first: $first, after: $after, filter: $filter)" json:"exposures"`
}

func (a *modelsApplied[N]) conn() *connection[N]    { return &a.Conn }
func (a *sourcesApplied[N]) conn() *connection[N]   { return &a.Conn }
func (a *testsApplied[N]) conn() *connection[N]     { return &a.Conn }
func (a *seedsApplied[N]) conn() *connection[N]     { return &a.Conn }
func (a *snapshotsApplied[N]) conn() *connection[N] { return &a.Conn }
func (a *exposuresApplied[N]) conn() *connection[N] { return &a.Conn }

func (a *modelsByIDApplied[N]) conn() *connection[N]    { return &a.Conn }
func (a *sourcesByIDApplied[N]) conn() *connection[N]   { return &a.Conn }
func (a *testsByIDApplied[N]) conn() *connection[N]     { return &a.Conn }
func (a *seedsByIDApplied[N]) conn() *connection[N]     { return &a.Conn }
func (a *snapshotsByIDApplied[N]) conn() *connection[N] { return &a.Conn }
func (a *exposuresByIDApplied[N]) conn() *connection[N] { return &a.Conn }

// nodeBase holds the EnvironmentAppliedNode interface fields.
type nodeBase struct {
	AccountID    BigInt          `graphql:"accountId" json:"accountId"`
	ProjectID    BigInt          `graphql:"projectId" json:"projectId"`
	UniqueID     string          `graphql:"uniqueId" json:"uniqueId"`
	Name         string          `graphql:"name" json:"name"`
	Description  string          `graphql:"description" json:"description"`
	ResourceType string          `graphql:"resourceType" json:"resourceType"`
	FilePath     string          `graphql:"filePath" json:"filePath"`
	Tags         []string        `graphql:"tags" json:"tags"`
	Meta         json.RawMessage `graphql:"meta" json:"meta" scalar:"true"`
}

type catalogColumn struct {
	Index       int             `graphql:"index" json:"index"`
	Name        string          `graphql:"name" json:"name"`
	Type        string          `graphql:"type" json:"type"`
	Description string          `graphql:"description" json:"description"`
	Comment     string          `graphql:"comment" json:"comment"`
	Tags        []string        `graphql:"tags" json:"tags"`
	Meta        json.RawMessage `graphql:"meta" json:"meta" scalar:"true"`
}

type catalogInfo struct {
	Columns []catalogColumn `graphql:"columns" json:"columns"`
}

type parentRef struct {
	UniqueID string `graphql:"uniqueId" json:"uniqueId"`
}

// execInfo holds the execution-info fields common to models, seeds,
// snapshots and tests.
type execInfo struct {
	LastRunStatus       string    `graphql:"lastRunStatus" json:"lastRunStatus"`
	LastRunID           BigInt    `graphql:"lastRunId" json:"lastRunId"`
	LastJobDefinitionID BigInt    `graphql:"lastJobDefinitionId" json:"lastJobDefinitionId"`
	ExecuteCompletedAt  time.Time `graphql:"executeCompletedAt" json:"executeCompletedAt"`
	ExecutionTime       float64   `graphql:"executionTime" json:"executionTime"`
}

type testExecInfo struct {
	execInfo
	LastRunError    string  `graphql:"lastRunError" json:"lastRunError"`
	LastRunFailures *BigInt `graphql:"lastRunFailures" json:"lastRunFailures"`
}

// code holds the fields dropped from the lighter field set.
type code struct {
	RawCode      string `graphql:"rawCode" json:"rawCode"`
	CompiledCode string `graphql:"compiledCode" json:"compiledCode"`
}

// owned returns the code copied out of the response buffer.
func (c code) owned() code {
	return code{RawCode: strings.Clone(c.RawCode), CompiledCode: strings.Clone(c.CompiledCode)}
}

type modelLight struct {
	nodeBase
	PackageName      string       `graphql:"packageName" json:"packageName"`
	Database         string       `graphql:"database" json:"database"`
	Schema           string       `graphql:"schema" json:"schema"`
	Alias            string       `graphql:"alias" json:"alias"`
	MaterializedType string       `graphql:"materializedType" json:"materializedType"`
	Access           string       `graphql:"access" json:"access"`
	Language         string       `graphql:"language" json:"language"`
	Version          string       `graphql:"version" json:"version"`
	Group            string       `graphql:"group" json:"group"`
	Catalog          *catalogInfo `graphql:"catalog" json:"catalog"`
	ExecutionInfo    *execInfo    `graphql:"executionInfo" json:"executionInfo"`
	Parents          []parentRef  `graphql:"parents" json:"parents"`
}

type modelFull struct {
	modelLight
	code
}

type sourceFreshness struct {
	FreshnessChecked         *bool     `graphql:"freshnessChecked" json:"freshnessChecked"`
	FreshnessStatus          string    `graphql:"freshnessStatus" json:"freshnessStatus"`
	MaxLoadedAt              time.Time `graphql:"maxLoadedAt" json:"maxLoadedAt"`
	SnapshottedAt            time.Time `graphql:"snapshottedAt" json:"snapshottedAt"`
	MaxLoadedAtTimeAgoInS    float64   `graphql:"maxLoadedAtTimeAgoInS" json:"maxLoadedAtTimeAgoInS"`
	FreshnessRunID           BigInt    `graphql:"freshnessRunId" json:"freshnessRunId"`
	FreshnessJobDefinitionID BigInt    `graphql:"freshnessJobDefinitionId" json:"freshnessJobDefinitionId"`
	Criteria                 struct {
		WarnAfter  *criteriaInfo `graphql:"warnAfter" json:"warnAfter"`
		ErrorAfter *criteriaInfo `graphql:"errorAfter" json:"errorAfter"`
	} `graphql:"criteria" json:"criteria"`
}

type criteriaInfo struct {
	Count  *int    `graphql:"count" json:"count"`
	Period *string `graphql:"period" json:"period"`
}

type sourceNode struct {
	nodeBase
	SourceName string          `graphql:"sourceName" json:"sourceName"`
	Identifier string          `graphql:"identifier" json:"identifier"`
	Database   string          `graphql:"database" json:"database"`
	Schema     string          `graphql:"schema" json:"schema"`
	Loader     string          `graphql:"loader" json:"loader"`
	Freshness  sourceFreshness `graphql:"freshness" json:"freshness"`
	Catalog    *catalogInfo    `graphql:"catalog" json:"catalog"`
}

type testLight struct {
	nodeBase
	ColumnName         string `graphql:"columnName" json:"columnName"`
	TestType           string `graphql:"testType" json:"testType"`
	TestedNodeUniqueID string `graphql:"testedNodeUniqueId" json:"testedNodeUniqueId"`
	TestMetadata       struct {
		Name      string `graphql:"name" json:"name"`
		Namespace string `graphql:"namespace" json:"namespace"`
	} `graphql:"testMetadata" json:"testMetadata"`
	Config        json.RawMessage `graphql:"config" json:"config" scalar:"true"`
	ExecutionInfo testExecInfo    `graphql:"executionInfo" json:"executionInfo"`
	Parents       []parentRef     `graphql:"parents" json:"parents"`
}

type testFull struct {
	testLight
	code
}

type seedNode struct {
	nodeBase
	PackageName   string       `graphql:"packageName" json:"packageName"`
	Database      string       `graphql:"database" json:"database"`
	Schema        string       `graphql:"schema" json:"schema"`
	Alias         string       `graphql:"alias" json:"alias"`
	Catalog       *catalogInfo `graphql:"catalog" json:"catalog"`
	ExecutionInfo execInfo     `graphql:"executionInfo" json:"executionInfo"`
}

type snapshotLight struct {
	nodeBase
	PackageName   string       `graphql:"packageName" json:"packageName"`
	Database      string       `graphql:"database" json:"database"`
	Schema        string       `graphql:"schema" json:"schema"`
	Alias         string       `graphql:"alias" json:"alias"`
	Catalog       *catalogInfo `graphql:"catalog" json:"catalog"`
	ExecutionInfo *execInfo    `graphql:"executionInfo" json:"executionInfo"`
	Parents       []parentRef  `graphql:"parents" json:"parents"`
}

type snapshotFull struct {
	snapshotLight
	code
}

type exposureNode struct {
	nodeBase
	PackageName  string      `graphql:"packageName" json:"packageName"`
	Label        string      `graphql:"label" json:"label"`
	URL          string      `graphql:"url" json:"url"`
	ExposureType string      `graphql:"exposureType" json:"exposureType"`
	Maturity     string      `graphql:"maturity" json:"maturity"`
	OwnerName    string      `graphql:"ownerName" json:"ownerName"`
	OwnerEmail   string      `graphql:"ownerEmail" json:"ownerEmail"`
	Parents      []parentRef `graphql:"parents" json:"parents"`
}

// infoQuery reads an environment's summary.
type infoQuery struct {
	Environment struct {
		AdapterType    string `graphql:"adapterType" json:"adapterType"`
		DbtProjectName string `graphql:"dbtProjectName" json:"dbtProjectName"`
		Applied        *struct {
			LastUpdatedAt time.Time `graphql:"lastUpdatedAt" json:"lastUpdatedAt"`
			LatestGitSha  string    `graphql:"latestGitSha" json:"latestGitSha"`
		} `graphql:"applied" json:"applied"`
	} `graphql:"environment(id: $environmentId)" json:"environment"`
}

// lastUpdatedQuery is the cheap probe of incremental crawls.
type lastUpdatedQuery struct {
	Environment struct {
		Applied *struct {
			LastUpdatedAt time.Time `graphql:"lastUpdatedAt" json:"lastUpdatedAt"`
		} `graphql:"applied" json:"applied"`
	} `graphql:"environment(id: $environmentId)" json:"environment"`
}
