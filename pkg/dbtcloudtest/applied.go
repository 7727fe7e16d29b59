package dbtcloudtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// applied computes an environment's applied state from its current dbt
// project state and the latest run of each of its jobs. The rules, which a
// crawl of the same artifacts must reproduce:
//
//   - Assets: every source, seed, snapshot, model, test and exposure of the
//     environment's newest manifest. Path is original_file_path; Owner is
//     meta.owner; Meta is the node's meta object (nil when empty);
//     Identifier is the alias (models, seeds, snapshots, tests) or the
//     identifier (sources).
//   - Last run fields (models, seeds, snapshots, tests): from the newest
//     non-compile-only run_results.json that contains the node (the daily
//     build's `dbt build` step, or the ci job's `dbt test`). LastRunAt is the
//     execute timing's completed_at, or the file's generated_at for skipped
//     nodes, which have no timing.
//   - Columns: the manifest's declared columns. Nodes with a warehouse
//     relation take the catalog's name (upper case on Snowflake), type and
//     1-based index; ephemeral models keep Ordinal 0 and no type.
//   - Edges: depends_on.nodes of every node and exposure.
//   - TestResults: the latest result of every test (one per test).
//   - Freshness: every source in the newest sources.json. Criteria is the
//     criteria object in dbt's key order.
func (g *generator) applied(ge *genEnv) *AppliedState {
	var latest [3]*runSpec
	for _, spec := range g.runs {
		if spec.env != ge {
			continue
		}
		if l := latest[spec.kind]; l == nil || spec.run.ID > l.run.ID {
			latest[spec.kind] = spec
		}
	}
	var newest *runSpec
	for _, s := range latest {
		if s != nil && (newest == nil || s.run.ID > newest.run.ID) {
			newest = s
		}
	}
	if newest == nil {
		return nil
	}
	st := ge.state
	snap := &catalog.Snapshot{
		Scope: catalog.Scope{
			AccountID: g.cfg.AccountID, ProjectID: ge.project.ID, EnvironmentID: ge.env.ID,
			ProjectName: ge.project.Name, EnvironmentName: ge.env.Name,
			EnvironmentType: ge.env.Type, DeploymentType: ge.env.DeploymentType,
		},
		Complete:    true,
		AdapterType: g.cfg.Adapter,
		GeneratedAt: newest.run.FinishedAt,
	}

	type last struct {
		r    nodeResult
		spec *runSpec
		step stepKind
	}
	lastRun := map[string]last{}
	var ordered []*runSpec
	for _, k := range []jobKind{kindBuild, kindTest} {
		if latest[k] != nil {
			ordered = append(ordered, latest[k])
		}
	}
	slices.SortFunc(ordered, func(a, b *runSpec) int { return cmp.Compare(a.run.ID, b.run.ID) })
	for _, spec := range ordered {
		step := stepBuild
		if spec.kind == kindTest {
			step = stepTest
		}
		for _, r := range g.outcomes(spec) {
			if st.byID[r.node.uniqueID] != nil {
				lastRun[r.node.uniqueID] = last{r: r, spec: spec, step: step}
			}
		}
	}
	executedAt := func(l last) time.Time {
		if l.r.status == "skipped" {
			return l.spec.run.FinishedAt
		}
		return l.r.completed()
	}

	hasCatalog := latest[kindBuild] != nil
	for _, n := range st.nodes {
		a := g.asset(st, ge, n)
		if l, ok := lastRun[n.uniqueID]; ok {
			a.LastRunStatus = l.r.status
			a.LastRunAt = executedAt(l)
			a.LastRunID = l.spec.run.ID
			a.LastJobID = l.spec.run.JobID
			a.ExecutionSeconds = l.r.seconds()
			if n.resourceType == "test" {
				tr := catalog.TestResult{
					TestUniqueID: n.uniqueID, RunID: l.spec.run.ID, JobID: l.spec.run.JobID,
					Status: l.r.status, Message: l.r.message, ExecutedAt: executedAt(l),
					ExecutionSeconds: l.r.seconds(),
					InvocationID:     uuidFor(g.cfg.Seed, invSalt(l.step), l.spec.run.ID),
				}
				if l.r.status == "pass" || l.r.status == "fail" || l.r.status == "warn" {
					f := l.r.failures
					tr.Failures = &f
				}
				snap.TestResults = append(snap.TestResults, tr)
			}
		}
		snap.Assets = append(snap.Assets, a)
		phys := inCatalog(n) && hasCatalog
		for i, c := range n.columns {
			col := catalog.Column{AssetUniqueID: n.uniqueID, Name: c.name, Description: c.description}
			if phys {
				col.Name = g.catalogName(c.name)
				col.DataType = c.kind.typeName(g.cfg.Adapter)
				col.Ordinal = i + 1
			}
			snap.Columns = append(snap.Columns, col)
		}
		for _, d := range n.deps {
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: d, Downstream: n.uniqueID})
		}
	}
	if spec := latest[kindFreshness]; spec != nil {
		for _, f := range g.freshness(spec) {
			if st.byID[f.node.uniqueID] == nil {
				continue
			}
			snap.Freshness = append(snap.Freshness, catalog.Freshness{
				SourceUniqueID: f.node.uniqueID, RunID: spec.run.ID, JobID: spec.run.JobID, Status: f.status,
				MaxLoadedAt: f.maxLoaded, SnapshottedAt: f.snapshotted, AgeSeconds: float64(f.ageMicros) / 1e6,
				Criteria: json.RawMessage(freshnessCriteria),
			})
		}
	}
	sortSnapshot(snap)
	return &AppliedState{
		AdapterType:    g.cfg.Adapter,
		DbtProjectName: ge.pkg,
		LastUpdatedAt:  newest.run.FinishedAt,
		LatestGitSHA:   newest.run.GitSHA,
		Snapshot:       snap,
	}
}

func invSalt(k stepKind) string {
	return fmt.Sprintf("inv/%d", k)
}

func (g *generator) asset(st *envState, ge *genEnv, n *genNode) catalog.Asset {
	a := catalog.Asset{
		UniqueID: n.uniqueID, Type: catalog.ResourceType(n.resourceType), Name: n.name,
		PackageName: ge.pkg, Description: n.description, Database: n.database, Schema: n.schema,
		Identifier: n.alias, RelationName: g.relation(n), Materialization: n.materialized,
		Enabled: true, Tags: slices.Clone(n.tags), Path: n.origPath,
		SourceName: n.sourceName, Loader: n.loader, URL: n.url, Label: n.label,
	}
	if m := n.metaJSON(); m != nil {
		a.Meta = json.RawMessage(m)
		a.Owner = n.owner
	}
	switch n.resourceType {
	case "model", "snapshot", "test":
		a.Language = "sql"
		a.RawCode = catalog.NewText(g.rawCode(st, n))
		a.CompiledCode = catalog.NewText(g.compiledCode(st, n))
		a.Checksum = g.nodeChecksum(st, n)
	case "seed":
		a.Checksum = g.nodeChecksum(st, n)
	}
	if n.resourceType == "model" {
		a.Access = "protected"
	}
	if n.resourceType == "test" {
		a.TestName = n.testKind
		a.TestColumnName = n.testColumn
		a.TestedUniqueID = n.attached
		a.Severity = n.severity
	}
	return a
}

// sortSnapshot puts every slice of s in a canonical order.
func sortSnapshot(s *catalog.Snapshot) {
	slices.SortFunc(s.Assets, func(a, b catalog.Asset) int { return cmp.Compare(a.UniqueID, b.UniqueID) })
	slices.SortStableFunc(s.Columns, func(a, b catalog.Column) int {
		return cmp.Or(cmp.Compare(a.AssetUniqueID, b.AssetUniqueID), cmp.Compare(a.Ordinal, b.Ordinal))
	})
	slices.SortFunc(s.Edges, func(a, b catalog.Edge) int {
		return cmp.Or(cmp.Compare(a.Upstream, b.Upstream), cmp.Compare(a.Downstream, b.Downstream))
	})
	s.Edges = slices.Compact(s.Edges)
	slices.SortFunc(s.TestResults, func(a, b catalog.TestResult) int {
		return cmp.Or(cmp.Compare(a.TestUniqueID, b.TestUniqueID), cmp.Compare(a.RunID, b.RunID))
	})
	slices.SortFunc(s.Freshness, func(a, b catalog.Freshness) int {
		return cmp.Compare(a.SourceUniqueID, b.SourceUniqueID)
	})
}
