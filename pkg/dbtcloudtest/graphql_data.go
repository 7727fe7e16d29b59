package dbtcloudtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// gqlEnvIndex is one environment's applied state, indexed for serving.
type gqlEnvIndex struct {
	key       gqlIndexKey
	applied   *AppliedState
	snap      *catalog.Snapshot
	accountID int64
	projectID int64
	envID     int64

	models, sources, tests, seeds, snapshots, exposures []*catalog.Asset

	byID      map[string]*catalog.Asset
	columns   map[string][]catalog.Column
	parents   map[string][]string
	children  map[string][]string
	testsOf   map[string][]*catalog.Asset
	results   map[string]*catalog.TestResult
	freshness map[string]*catalog.Freshness
	relations map[string]*catalog.Relation
}

// queryRoot is the Query object.
func (h *graphqlHandler) queryRoot() *gqlObject {
	return &gqlObject{typeName: "Query", fields: map[string]any{
		"environment": gqlResolver(func(args map[string]any) (any, error) {
			id, ok := gqlInt64(args["id"])
			if !ok {
				return nil, &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("environment id %v is not an integer", args["id"])}
			}
			return h.environment(id)
		}),
	}}
}

func (h *graphqlHandler) environment(id int64) (any, error) {
	var env *Environment
	for i := range h.ds.Environments {
		if h.ds.Environments[i].ID == id {
			env = &h.ds.Environments[i]
		}
	}
	applied := h.ds.Applied[id]
	if env == nil && applied == nil {
		return nil, &gqlCodedError{code: "NOT_FOUND", msg: fmt.Sprintf("environment %d not found", id)}
	}
	fields := map[string]any{"adapterType": nil, "dbtProjectName": nil, "applied": nil}
	if applied != nil && applied.Snapshot != nil {
		ix := h.index(id, env, applied)
		fields["adapterType"] = gqlOptString(applied.AdapterType)
		fields["dbtProjectName"] = gqlOptString(applied.DbtProjectName)
		fields["applied"] = h.appliedObject(ix)
	}
	return &gqlObject{typeName: "Environment", fields: fields}, nil
}

// gqlIndexKey identifies one version of an applied state: a dataset
// mutated in place (new runs, removed models) gets a new key and a fresh
// index.
type gqlIndexKey struct {
	applied                                    *AppliedState
	snap                                       *catalog.Snapshot
	firstAsset                                 *catalog.Asset
	assets, columns, edges, results, freshness int
	updated                                    time.Time
}

// index returns the (cached) index of one applied state.
func (h *graphqlHandler) index(envID int64, env *Environment, applied *AppliedState) *gqlEnvIndex {
	s := applied.Snapshot
	key := gqlIndexKey{
		applied: applied, snap: s, assets: len(s.Assets), columns: len(s.Columns), edges: len(s.Edges),
		results: len(s.TestResults), freshness: len(s.Freshness), updated: applied.LastUpdatedAt,
	}
	if len(s.Assets) > 0 {
		key.firstAsset = &s.Assets[0]
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ix, ok := h.indexes[envID]; ok && ix.key == key {
		return ix
	}
	ix := gqlBuildIndex(envID, env, applied)
	ix.key = key
	h.indexes[envID] = ix
	return ix
}

func gqlBuildIndex(envID int64, env *Environment, applied *AppliedState) *gqlEnvIndex {
	snap := applied.Snapshot
	ix := &gqlEnvIndex{
		applied: applied, snap: snap, envID: envID,
		accountID: snap.Scope.AccountID, projectID: snap.Scope.ProjectID,
		byID:      map[string]*catalog.Asset{},
		columns:   map[string][]catalog.Column{},
		parents:   map[string][]string{},
		children:  map[string][]string{},
		testsOf:   map[string][]*catalog.Asset{},
		results:   map[string]*catalog.TestResult{},
		freshness: map[string]*catalog.Freshness{},
		relations: map[string]*catalog.Relation{},
	}
	if env != nil {
		if ix.accountID == 0 {
			ix.accountID = env.AccountID
		}
		if ix.projectID == 0 {
			ix.projectID = env.ProjectID
		}
	}
	for i := range snap.Assets {
		a := &snap.Assets[i]
		ix.byID[a.UniqueID] = a
		switch a.Type {
		case catalog.TypeModel:
			ix.models = append(ix.models, a)
		case catalog.TypeSource:
			ix.sources = append(ix.sources, a)
		case catalog.TypeTest, catalog.TypeUnitTest:
			ix.tests = append(ix.tests, a)
			if a.TestedUniqueID != "" {
				ix.testsOf[a.TestedUniqueID] = append(ix.testsOf[a.TestedUniqueID], a)
			}
		case catalog.TypeSeed:
			ix.seeds = append(ix.seeds, a)
		case catalog.TypeSnapshot:
			ix.snapshots = append(ix.snapshots, a)
		case catalog.TypeExposure:
			ix.exposures = append(ix.exposures, a)
		}
	}
	for _, list := range [][]*catalog.Asset{ix.models, ix.sources, ix.tests, ix.seeds, ix.snapshots, ix.exposures} {
		sort.Slice(list, func(i, j int) bool { return list[i].UniqueID < list[j].UniqueID })
	}
	for _, c := range snap.Columns {
		ix.columns[c.AssetUniqueID] = append(ix.columns[c.AssetUniqueID], c)
	}
	for _, cols := range ix.columns {
		sort.SliceStable(cols, func(i, j int) bool { return cols[i].Ordinal < cols[j].Ordinal })
	}
	for _, e := range snap.Edges {
		ix.parents[e.Downstream] = append(ix.parents[e.Downstream], e.Upstream)
		ix.children[e.Upstream] = append(ix.children[e.Upstream], e.Downstream)
	}
	for k := range ix.parents {
		slices.Sort(ix.parents[k])
		ix.parents[k] = slices.Compact(ix.parents[k])
	}
	for k := range ix.children {
		slices.Sort(ix.children[k])
		ix.children[k] = slices.Compact(ix.children[k])
	}
	for i := range snap.TestResults {
		r := &snap.TestResults[i]
		if cur, ok := ix.results[r.TestUniqueID]; !ok || gqlNewerResult(r, cur) {
			ix.results[r.TestUniqueID] = r
		}
	}
	for i := range snap.Freshness {
		f := &snap.Freshness[i]
		if cur, ok := ix.freshness[f.SourceUniqueID]; !ok || f.SnapshottedAt.After(cur.SnapshottedAt) ||
			(f.SnapshottedAt.Equal(cur.SnapshottedAt) && f.RunID > cur.RunID) {
			ix.freshness[f.SourceUniqueID] = f
		}
	}
	rels := map[string]*catalog.Relation{}
	for i := range snap.Relations {
		r := &snap.Relations[i]
		rels[strings.ToLower(r.Key())] = r
	}
	for _, m := range snap.Matches {
		if r, ok := rels[strings.ToLower(m.Database+"."+m.Schema+"."+m.Name)]; ok && m.Status == catalog.MatchMatched {
			ix.relations[m.UniqueID] = r
		}
	}
	for id, a := range ix.byID {
		if _, ok := ix.relations[id]; ok || a.Identifier == "" {
			continue
		}
		if r, ok := rels[strings.ToLower(a.Database+"."+a.Schema+"."+a.Identifier)]; ok {
			ix.relations[id] = r
		}
	}
	return ix
}

func gqlNewerResult(a, b *catalog.TestResult) bool {
	if !a.ExecutedAt.Equal(b.ExecutedAt) {
		return a.ExecutedAt.After(b.ExecutedAt)
	}
	return a.RunID > b.RunID
}

func (h *graphqlHandler) appliedObject(ix *gqlEnvIndex) *gqlObject {
	counts := map[string]any{}
	for _, a := range ix.snap.Assets {
		counts[string(a.Type)] = gqlCount(counts[string(a.Type)]) + 1
	}
	return &gqlObject{typeName: "AppliedState", fields: map[string]any{
		"lastUpdatedAt":  gqlOptTime(ix.applied.LastUpdatedAt),
		"latestGitSha":   gqlOptString(ix.applied.LatestGitSHA),
		"resourceCounts": counts,
		"models":         h.connection(ix, "ModelAppliedStateNode", ix.models, ix.modelNode),
		"sources":        h.connection(ix, "SourceAppliedStateNode", ix.sources, ix.sourceNode),
		"tests":          h.connection(ix, "TestAppliedStateNode", ix.tests, ix.testNode),
		"seeds":          h.connection(ix, "SeedAppliedStateNode", ix.seeds, ix.seedNode),
		"snapshots":      h.connection(ix, "SnapshotAppliedStateNode", ix.snapshots, ix.snapshotNode),
		"exposures":      h.connection(ix, "ExposureAppliedStateNode", ix.exposures, ix.exposureNode),
	}}
}

func gqlCount(v any) int {
	n, _ := v.(int)
	return n
}

// gqlEncodeCursor makes the opaque cursor of a node: base64 of "cursor:" and
// its unique ID, as dbt's own cursors are.
func gqlEncodeCursor(uniqueID string) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:" + uniqueID))
}

func gqlDecodeCursor(c string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "cursor:") {
		return "", &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("invalid cursor %q: pass a pageInfo.endCursor unchanged", c)}
	}
	return strings.TrimPrefix(string(b), "cursor:"), nil
}

// connection resolves a paginated applied-state connection.
func (h *graphqlHandler) connection(ix *gqlEnvIndex, nodeType string, assets []*catalog.Asset, node func(*catalog.Asset) *gqlObject) gqlResolver {
	typePrefix := strings.TrimSuffix(nodeType, "Node") + "Node"
	return func(args map[string]any) (any, error) {
		first := h.opts.MaxPageSize
		if v, ok := args["first"]; ok && v != nil {
			n, ok := gqlInt64(v)
			if !ok {
				return nil, &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("first %v is not an integer", v)}
			}
			if n < 0 {
				return nil, &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("first must not be negative, got %d", n)}
			}
			if n > int64(h.opts.MaxPageSize) {
				return nil, &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("first must be at most %d, got %d: page with after", h.opts.MaxPageSize, n)}
			}
			first = int(n)
		}
		start := 0
		after, _ := args["after"].(string)
		if after != "" {
			id, err := gqlDecodeCursor(after)
			if err != nil {
				return nil, err
			}
			start = sort.Search(len(assets), func(i int) bool { return assets[i].UniqueID > id })
		}
		match, err := ix.filter(args["filter"])
		if err != nil {
			return nil, err
		}
		total := 0
		for _, a := range assets {
			if match(a) {
				total++
			}
		}
		var edges []any
		hasNext := false
		for _, a := range assets[start:] {
			if !match(a) {
				continue
			}
			if len(edges) == first {
				hasNext = true
				break
			}
			edges = append(edges, &gqlObject{typeName: typePrefix + "Edge", fields: map[string]any{
				"cursor": gqlEncodeCursor(a.UniqueID),
				"node":   node(a),
			}})
		}
		page := map[string]any{
			"hasNextPage":     hasNext,
			"hasPreviousPage": after != "",
			"startCursor":     nil,
			"endCursor":       nil,
		}
		if len(edges) > 0 {
			page["startCursor"] = edges[0].(*gqlObject).fields["cursor"]
			page["endCursor"] = edges[len(edges)-1].(*gqlObject).fields["cursor"]
		}
		if edges == nil {
			edges = []any{}
		}
		return &gqlObject{typeName: typePrefix + "Connection", fields: map[string]any{
			"edges":      edges,
			"pageInfo":   &gqlObject{typeName: "PageInfo", fields: page},
			"totalCount": total,
		}}, nil
	}
}

// filter builds the predicate of a connection's filter argument. Every
// field of the filter inputs in the embedded schema is supported; string
// fields match exactly, list fields match any of their values.
func (ix *gqlEnvIndex) filter(v any) (func(*catalog.Asset) bool, error) {
	f, _ := v.(map[string]any)
	if len(f) == 0 {
		return func(*catalog.Asset) bool { return true }, nil
	}
	var preds []func(*catalog.Asset) bool
	str := func(key string, get func(*catalog.Asset) string) {
		if s, ok := f[key].(string); ok {
			preds = append(preds, func(a *catalog.Asset) bool { return get(a) == s })
		}
	}
	set := func(key string, get func(*catalog.Asset) []string) error {
		raw, ok := f[key]
		if !ok || raw == nil {
			return nil
		}
		want := map[string]bool{}
		for _, item := range gqlList(raw) {
			s, ok := item.(string)
			if !ok {
				return &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("filter %s: %v is not a string", key, item)}
			}
			want[s] = true
		}
		preds = append(preds, func(a *catalog.Asset) bool {
			for _, s := range get(a) {
				if want[s] {
					return true
				}
			}
			return false
		})
		return nil
	}
	str("database", func(a *catalog.Asset) string { return a.Database })
	str("schema", func(a *catalog.Asset) string { return a.Schema })
	str("identifier", func(a *catalog.Asset) string { return a.Identifier })
	str("packageName", func(a *catalog.Asset) string { return a.PackageName })
	str("lastRunStatus", func(a *catalog.Asset) string { return a.LastRunStatus })
	str("exposureType", func(a *catalog.Asset) string { return a.ExposureType })
	str("status", func(a *catalog.Asset) string {
		if r := ix.results[a.UniqueID]; r != nil {
			return r.Status
		}
		return a.LastRunStatus
	})
	str("freshnessStatus", func(a *catalog.Asset) string {
		if fr := ix.freshness[a.UniqueID]; fr != nil {
			return gqlFreshnessStatus(fr.Status)
		}
		return ""
	})
	if b, ok := f["freshnessChecked"].(bool); ok {
		preds = append(preds, func(a *catalog.Asset) bool { return (ix.freshness[a.UniqueID] != nil) == b })
	}
	for key, get := range map[string]func(*catalog.Asset) []string{
		"uniqueIds":   func(a *catalog.Asset) []string { return []string{a.UniqueID} },
		"tags":        func(a *catalog.Asset) []string { return a.Tags },
		"sourceNames": func(a *catalog.Asset) []string { return []string{a.SourceName} },
		"testTypes":   func(a *catalog.Asset) []string { return []string{gqlTestType(a)} },
	} {
		if err := set(key, get); err != nil {
			return nil, err
		}
	}
	return func(a *catalog.Asset) bool {
		for _, p := range preds {
			if !p(a) {
				return false
			}
		}
		return true
	}, nil
}

func gqlList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return []any{v}
}

// base returns the EnvironmentAppliedNode fields of an asset.
func (ix *gqlEnvIndex) base(a *catalog.Asset) map[string]any {
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"accountId":     ix.accountID,
		"projectId":     ix.projectID,
		"environmentId": ix.envID,
		"uniqueId":      a.UniqueID,
		"name":          gqlOptString(a.Name),
		"description":   gqlOptString(a.Description),
		"filePath":      a.Path,
		"fqn":           gqlFQN(a.UniqueID),
		"resourceType":  string(a.Type),
		"tags":          tags,
		"meta":          gqlOptJSON(a.Meta),
		"packageName":   gqlOptString(a.PackageName),
		"database":      gqlOptString(a.Database),
		"schema":        gqlOptString(a.Schema),
		"alias":         gqlOptString(a.Identifier),
		"rawCode":       gqlOptString(a.RawCode.String()),
		"compiledCode":  gqlOptString(a.CompiledCode.String()),
	}
}

// fqn derives a fully qualified name from a unique ID ("model.pkg.name" →
// ["pkg", "name"]).
func gqlFQN(uniqueID string) []string {
	parts := strings.Split(uniqueID, ".")
	if len(parts) > 1 {
		return parts[1:]
	}
	return parts
}

func (ix *gqlEnvIndex) modelNode(a *catalog.Asset) *gqlObject {
	f := ix.base(a)
	f["materializedType"] = gqlOptString(a.Materialization)
	f["access"] = gqlOptString(a.Access)
	f["language"] = gqlOptString(a.Language)
	f["version"] = gqlOptString(a.Version)
	f["group"] = gqlOptString(a.Group)
	f["executionInfo"] = ix.modelExecution(a)
	ix.related(a, f)
	return &gqlObject{typeName: "ModelAppliedStateNode", fields: f}
}

func (ix *gqlEnvIndex) sourceNode(a *catalog.Asset) *gqlObject {
	f := ix.base(a)
	f["identifier"] = gqlOptString(a.Identifier)
	f["sourceName"] = gqlOptString(a.SourceName)
	f["loader"] = gqlOptString(a.Loader)
	f["freshness"] = ix.freshnessObject(a.UniqueID)
	ix.related(a, f)
	return &gqlObject{typeName: "SourceAppliedStateNode", fields: f}
}

func (ix *gqlEnvIndex) testNode(a *catalog.Asset) *gqlObject {
	f := ix.base(a)
	f["columnName"] = gqlOptString(a.TestColumnName)
	f["testType"] = gqlTestType(a)
	f["testedNodeUniqueId"] = gqlOptString(a.TestedUniqueID)
	f["testMetadata"] = &gqlObject{typeName: "TestMetadata", fields: map[string]any{
		"name": gqlOptString(a.TestName), "columnName": gqlOptString(a.TestColumnName),
		"namespace": gqlOptString(a.TestNamespace),
	}}
	if a.Severity != "" {
		f["config"] = map[string]any{"severity": a.Severity}
	}
	f["executionInfo"] = ix.testExecution(a)
	ix.related(a, f)
	return &gqlObject{typeName: "TestAppliedStateNode", fields: f}
}

func (ix *gqlEnvIndex) seedNode(a *catalog.Asset) *gqlObject {
	f := ix.base(a)
	info := ix.executionFields(a)
	info["lastRunSkip"] = a.LastRunStatus == "skipped"
	f["executionInfo"] = &gqlObject{typeName: "SeedExecutionInfoNode", fields: info}
	ix.related(a, f)
	return &gqlObject{typeName: "SeedAppliedStateNode", fields: f}
}

func (ix *gqlEnvIndex) snapshotNode(a *catalog.Asset) *gqlObject {
	f := ix.base(a)
	if gqlHasExecution(a) {
		f["executionInfo"] = &gqlObject{typeName: "SnapshotExecutionInfoNode", fields: ix.executionFields(a)}
	}
	ix.related(a, f)
	return &gqlObject{typeName: "SnapshotAppliedStateNode", fields: f}
}

func (ix *gqlEnvIndex) exposureNode(a *catalog.Asset) *gqlObject {
	f := ix.base(a)
	f["label"] = gqlOptString(a.Label)
	f["url"] = gqlOptString(a.URL)
	f["ownerName"] = gqlOptString(a.Owner)
	f["exposureType"] = gqlOptString(a.ExposureType)
	f["maturity"] = gqlOptString(a.Maturity)
	ix.related(a, f)
	return &gqlObject{typeName: "ExposureAppliedStateNode", fields: f}
}

// related adds the lazily computed catalog, parents, children and tests.
func (ix *gqlEnvIndex) related(a *catalog.Asset, f map[string]any) {
	id := a.UniqueID
	f["catalog"] = gqlResolver(func(map[string]any) (any, error) { return ix.catalogObject(a), nil })
	f["parents"] = gqlResolver(func(map[string]any) (any, error) { return ix.nested(ix.parents[id]), nil })
	f["children"] = gqlResolver(func(map[string]any) (any, error) { return ix.nested(ix.children[id]), nil })
	f["tests"] = gqlResolver(func(map[string]any) (any, error) {
		out := []any{}
		for _, t := range ix.testsOf[id] {
			o := ix.testNode(t)
			o.typeName = "TestAppliedStateNestedNode"
			out = append(out, o)
		}
		return out, nil
	})
}

// gqlNestedTypes maps resource types to their applied nested node types.
var gqlNestedTypes = map[string]string{
	"model": "ModelAppliedStateNestedNode", "source": "SourceAppliedStateNestedNode",
	"seed": "SeedAppliedStateNestedNode", "snapshot": "SnapshotAppliedStateNestedNode",
	"test": "TestAppliedStateNestedNode", "unit_test": "TestAppliedStateNestedNode",
	"exposure": "ExposureAppliedStateNestedNode",
}

// nested returns the nested nodes for unique IDs. IDs of resource types
// without an applied nested node type (metrics, macros...) are left out.
func (ix *gqlEnvIndex) nested(ids []string) []any {
	out := []any{}
	for _, id := range ids {
		var o *gqlObject
		if a, ok := ix.byID[id]; ok {
			switch a.Type {
			case catalog.TypeModel:
				o = ix.modelNode(a)
			case catalog.TypeSource:
				o = ix.sourceNode(a)
			case catalog.TypeSeed:
				o = ix.seedNode(a)
			case catalog.TypeSnapshot:
				o = ix.snapshotNode(a)
			case catalog.TypeTest, catalog.TypeUnitTest:
				o = ix.testNode(a)
			case catalog.TypeExposure:
				o = ix.exposureNode(a)
			}
		} else {
			rt, _, _ := strings.Cut(id, ".")
			o = &gqlObject{fields: map[string]any{
				"uniqueId": id, "resourceType": rt, "filePath": "", "fqn": gqlFQN(id),
				"name": gqlOptString(id[strings.LastIndex(id, ".")+1:]),
			}}
		}
		if o == nil {
			continue
		}
		rt, _ := o.fields["resourceType"].(string)
		typeName, ok := gqlNestedTypes[rt]
		if !ok {
			continue
		}
		o.typeName = typeName
		if typeName == "SourceAppliedStateNestedNode" && o.fields["freshness"] == nil {
			o.fields["freshness"] = ix.freshnessObject(id)
		}
		if typeName == "SeedAppliedStateNestedNode" && o.fields["executionInfo"] == nil {
			o.fields["executionInfo"] = &gqlObject{typeName: "SeedExecutionInfoNode", fields: map[string]any{}}
		}
		if typeName == "TestAppliedStateNestedNode" && o.fields["executionInfo"] == nil {
			o.fields["executionInfo"] = &gqlObject{typeName: "TestExecutionInfoNode", fields: map[string]any{}}
			o.fields["testType"] = "SINGULAR_DATA_TEST"
			o.fields["testMetadata"] = &gqlObject{typeName: "TestMetadata", fields: map[string]any{}}
		}
		out = append(out, o)
	}
	return out
}

func (ix *gqlEnvIndex) catalogObject(a *catalog.Asset) any {
	cols := ix.columns[a.UniqueID]
	rel := ix.relations[a.UniqueID]
	if len(cols) == 0 && rel == nil {
		return nil
	}
	f := map[string]any{"environmentId": ix.envID, "uniqueId": a.UniqueID}
	if rel != nil {
		f["type"] = gqlOptString(rel.Kind)
		f["owner"] = gqlOptString(rel.Owner)
		f["comment"] = gqlOptString(rel.Comment)
		if rel.RowCount != nil {
			f["rowCountStat"] = *rel.RowCount
		}
		if rel.Bytes != nil {
			f["bytesStat"] = *rel.Bytes
		}
	}
	list := make([]any, 0, len(cols))
	for _, c := range cols {
		tags := c.Tags
		if tags == nil {
			tags = []string{}
		}
		var index any
		if c.Ordinal > 0 {
			index = c.Ordinal
		}
		list = append(list, &gqlObject{typeName: "CatalogColumn", fields: map[string]any{
			"name": gqlOptString(c.Name), "type": gqlOptString(c.DataType), "index": index,
			"description": gqlOptString(c.Description), "comment": gqlOptString(c.Comment),
			"tags": tags, "meta": gqlOptJSON(c.Meta),
		}})
	}
	f["columns"] = list
	return &gqlObject{typeName: "CatalogNode", fields: f}
}

func gqlHasExecution(a *catalog.Asset) bool {
	return a.LastRunStatus != "" || !a.LastRunAt.IsZero() || a.LastRunID != 0
}

// executionFields are the execution-info fields common to all node types.
func (ix *gqlEnvIndex) executionFields(a *catalog.Asset) map[string]any {
	f := map[string]any{
		"lastRunStatus":       gqlOptString(a.LastRunStatus),
		"lastRunId":           gqlOptInt(a.LastRunID),
		"lastJobDefinitionId": gqlOptInt(a.LastJobID),
		"lastRunGeneratedAt":  gqlOptTime(a.LastRunAt),
		"executeCompletedAt":  gqlOptTime(a.LastRunAt),
		"runGeneratedAt":      gqlOptTime(a.LastRunAt),
	}
	if gqlHasExecution(a) {
		f["executionTime"] = a.ExecutionSeconds
	}
	if a.LastRunStatus == "success" || a.LastRunStatus == "pass" {
		f["lastSuccessRunId"] = gqlOptInt(a.LastRunID)
		f["lastSuccessJobDefinitionId"] = gqlOptInt(a.LastJobID)
	}
	return f
}

func (ix *gqlEnvIndex) modelExecution(a *catalog.Asset) any {
	if !gqlHasExecution(a) {
		return nil
	}
	f := ix.executionFields(a)
	switch a.LastRunStatus {
	case "success", "error", "skipped":
	default:
		f["lastRunStatus"] = nil
	}
	return &gqlObject{typeName: "ModelExecutionInfoNode", fields: f}
}

func (ix *gqlEnvIndex) testExecution(a *catalog.Asset) *gqlObject {
	r := ix.results[a.UniqueID]
	if r == nil {
		return &gqlObject{typeName: "TestExecutionInfoNode", fields: ix.executionFields(a)}
	}
	f := map[string]any{
		"lastRunStatus":       gqlOptString(r.Status),
		"lastRunId":           gqlOptInt(r.RunID),
		"lastJobDefinitionId": gqlOptInt(r.JobID),
		"lastRunError":        gqlOptString(r.Message),
		"lastRunGeneratedAt":  gqlOptTime(r.ExecutedAt),
		"executeCompletedAt":  gqlOptTime(r.ExecutedAt),
		"runGeneratedAt":      gqlOptTime(r.ExecutedAt),
		"executionTime":       r.ExecutionSeconds,
	}
	if r.Failures != nil {
		f["lastRunFailures"] = *r.Failures
	}
	if r.Status == "pass" {
		f["lastSuccessRunId"] = gqlOptInt(r.RunID)
		f["lastSuccessJobDefinitionId"] = gqlOptInt(r.JobID)
	}
	return &gqlObject{typeName: "TestExecutionInfoNode", fields: f}
}

func (ix *gqlEnvIndex) freshnessObject(sourceID string) *gqlObject {
	criteria := &gqlObject{typeName: "Criteria", fields: map[string]any{}}
	fr := ix.freshness[sourceID]
	if fr == nil {
		return &gqlObject{typeName: "SourceFreshnessNode", fields: map[string]any{
			"freshnessChecked": false, "criteria": criteria,
		}}
	}
	var c map[string]struct {
		Count  *int64  `json:"count"`
		Period *string `json:"period"`
	}
	if len(fr.Criteria) > 0 {
		_ = json.Unmarshal(fr.Criteria, &c) // malformed criteria are served as unset
	}
	for key, field := range map[string]string{"warn_after": "warnAfter", "error_after": "errorAfter"} {
		info, ok := c[key]
		if !ok || (info.Count == nil && info.Period == nil) {
			continue
		}
		cf := map[string]any{}
		if info.Count != nil {
			cf["count"] = int(*info.Count)
		}
		if info.Period != nil {
			switch *info.Period {
			case "minute", "hour", "day":
				cf["period"] = *info.Period
			}
		}
		criteria.fields[field] = &gqlObject{typeName: "CriteriaInfo", fields: cf}
	}
	f := map[string]any{
		"freshnessChecked":         true,
		"freshnessStatus":          gqlFreshnessStatus(fr.Status),
		"maxLoadedAt":              gqlOptTime(fr.MaxLoadedAt),
		"snapshottedAt":            gqlOptTime(fr.SnapshottedAt),
		"freshnessRunGeneratedAt":  gqlOptTime(fr.SnapshottedAt),
		"maxLoadedAtTimeAgoInS":    fr.AgeSeconds,
		"freshnessRunId":           gqlOptInt(fr.RunID),
		"freshnessJobDefinitionId": gqlOptInt(fr.JobID),
		"criteria":                 criteria,
	}
	return &gqlObject{typeName: "SourceFreshnessNode", fields: f}
}

// freshnessStatus maps a catalog freshness status to dbt's FreshnessStatus.
func gqlFreshnessStatus(s string) string {
	switch strings.ToLower(s) {
	case "pass":
		return "Pass"
	case "warn":
		return "Warn"
	case "error", "runtime error":
		return "Error"
	}
	return "Unknown"
}

// testType derives dbt's TestType of a test asset.
func gqlTestType(a *catalog.Asset) string {
	switch {
	case a.Type == catalog.TypeUnitTest:
		return "UNIT_TEST"
	case a.TestName != "":
		return "GENERIC_DATA_TEST"
	}
	return "SINGULAR_DATA_TEST"
}

func gqlOptString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func gqlOptInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func gqlOptTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func gqlOptJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// gqlInt64 converts a coerced GraphQL integer (int, int64, float64,
// json.Number or a numeric string) to int64.
func gqlInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<62 {
			return 0, false
		}
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}
