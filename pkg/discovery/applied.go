package discovery

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// Operation names, as sent in each request's operationName.
const (
	opInfo          = "EnvironmentInfo"
	opLastUpdated   = "EnvironmentLastUpdated"
	opModels        = "AppliedModels"
	opModelsLight   = "AppliedModelsLight"
	opSources       = "AppliedSources"
	opTests         = "AppliedTests"
	opTestsLight    = "AppliedTestsLight"
	opSeeds         = "AppliedSeeds"
	opSnapshots     = "AppliedSnapshots"
	opSnapshotLight = "AppliedSnapshotsLight"
	opExposures     = "AppliedExposures"

	// The same connections restricted to a list of unique IDs.
	opModelsByID         = "AppliedModelsByID"
	opModelsLightByID    = "AppliedModelsLightByID"
	opSourcesByID        = "AppliedSourcesByID"
	opTestsByID          = "AppliedTestsByID"
	opTestsLightByID     = "AppliedTestsLightByID"
	opSeedsByID          = "AppliedSeedsByID"
	opSnapshotsByID      = "AppliedSnapshotsByID"
	opSnapshotsLightByID = "AppliedSnapshotsLightByID"
	opExposuresByID      = "AppliedExposuresByID"
)

// EnvironmentInfo summarises an environment in the Discovery API.
type EnvironmentInfo struct {
	EnvironmentID  int64
	AdapterType    string
	DbtProjectName string
	// HasAppliedState is false until a job in the environment has run.
	HasAppliedState bool
	// LastUpdatedAt is when the applied state last changed.
	LastUpdatedAt time.Time
	LatestGitSHA  string
}

// Node is one applied-state node converted to catalog types.
type Node struct {
	Asset catalog.Asset
	// Columns come from the warehouse catalog (nil when no docs-generate
	// run covered the node).
	Columns []catalog.Column
	// Parents are the unique IDs of the nodes this one depends on (models,
	// snapshots, tests and exposures; sources and seeds have none).
	Parents []string
	// TestResult is a test's latest result; nil for other nodes and for
	// tests that never ran.
	TestResult *catalog.TestResult
	// Freshness is a source's latest freshness check; nil for other nodes
	// and for sources never checked.
	Freshness *catalog.Freshness

	accountID, projectID int64
}

// Info returns the environment's adapter type, dbt project name and
// applied-state summary in one request.
func (c *Client) Info(ctx context.Context, envID int64) (EnvironmentInfo, error) {
	var q infoQuery
	if err := query(ctx, c, opInfo, &q, map[string]any{varEnvironmentID: BigInt(envID)}); err != nil {
		return EnvironmentInfo{}, fmt.Errorf("environment %d: %w", envID, err)
	}
	info := EnvironmentInfo{
		EnvironmentID:  envID,
		AdapterType:    strings.Clone(q.Environment.AdapterType),
		DbtProjectName: strings.Clone(q.Environment.DbtProjectName),
	}
	if a := q.Environment.Applied; a != nil {
		info.HasAppliedState = true
		info.LastUpdatedAt = a.LastUpdatedAt.UTC()
		info.LatestGitSHA = strings.Clone(a.LatestGitSha)
	}
	return info, nil
}

// LastUpdatedAt returns when the environment's applied state last changed:
// the cheap probe an incremental crawl makes before fetching everything.
// It returns ErrNoAppliedState (wrapped) when the environment has none.
func (c *Client) LastUpdatedAt(ctx context.Context, envID int64) (time.Time, error) {
	var q lastUpdatedQuery
	if err := query(ctx, c, opLastUpdated, &q, map[string]any{varEnvironmentID: BigInt(envID)}); err != nil {
		return time.Time{}, fmt.Errorf("environment %d: %w", envID, err)
	}
	if q.Environment.Applied == nil {
		return time.Time{}, fmt.Errorf("environment %d: %w", envID, ErrNoAppliedState)
	}
	return q.Environment.Applied.LastUpdatedAt.UTC(), nil
}

// Models iterates over the environment's applied models. Like every
// iterator here it pages with the client's page size, stops when the caller
// breaks, yields a wrapped ErrNoAppliedState when the environment has no
// applied state, and yields a *PartialError after the last node when some
// page came back partial.
func (c *Client) Models(ctx context.Context, envID int64) iter.Seq2[Node, error] {
	return c.models(ctx, envID, nil, nil, nil)
}

// Sources iterates over the environment's applied sources, with their
// latest freshness.
func (c *Client) Sources(ctx context.Context, envID int64) iter.Seq2[Node, error] {
	return c.sources(ctx, envID, nil, nil, nil)
}

// Tests iterates over the environment's applied data and unit tests, with
// their latest results.
func (c *Client) Tests(ctx context.Context, envID int64) iter.Seq2[Node, error] {
	return c.tests(ctx, envID, nil, nil, nil)
}

// Seeds iterates over the environment's applied seeds.
func (c *Client) Seeds(ctx context.Context, envID int64) iter.Seq2[Node, error] {
	return c.seeds(ctx, envID, nil, nil, nil)
}

// Snapshots iterates over the environment's applied snapshots.
func (c *Client) Snapshots(ctx context.Context, envID int64) iter.Seq2[Node, error] {
	return c.snapshots(ctx, envID, nil, nil, nil)
}

// Exposures iterates over the environment's applied exposures.
func (c *Client) Exposures(ctx context.Context, envID int64) iter.Seq2[Node, error] {
	return c.exposures(ctx, envID, nil, nil, nil)
}

// convert maps an iterator of response nodes to catalog nodes, copying
// their strings out of the response pages through in (a new one per
// iteration when nil).
func convert[N any](seq iter.Seq2[N, error], in *strs, f func(*strs, N) Node) iter.Seq2[Node, error] {
	return func(yield func(Node, error) bool) {
		owner := in
		if owner == nil {
			owner = newStrs()
		}
		for n, err := range seq {
			if err != nil {
				yield(Node{}, err)
				return
			}
			if !yield(f(owner, n), nil) {
				return
			}
		}
	}
}

// withLight combines a full and a lighter fetch into one fetchFunc. Like
// the fetches it combines, it returns each page's nodes in the same slice.
func withLight[F, L any](full func(context.Context, int, string) (page[F], error),
	light func(context.Context, int, string) (page[L], error), lift func(L) F) fetchFunc[F] {
	var lifted []F
	return func(ctx context.Context, first int, after string, isLight bool) (page[F], error) {
		if !isLight {
			return full(ctx, first, after)
		}
		p, err := light(ctx, first, after)
		out := page[F]{total: p.total, hasNext: p.hasNext, endCursor: p.endCursor, applied: p.applied}
		clear(lifted)
		lifted = lifted[:0]
		for _, n := range p.nodes {
			lifted = append(lifted, lift(n))
		}
		out.nodes = lifted
		return out, err
	}
}

func fullOnly[N any](f func(context.Context, int, string) (page[N], error)) fetchFunc[N] {
	return func(ctx context.Context, first int, after string, _ bool) (page[N], error) {
		return f(ctx, first, after)
	}
}

// The functions below iterate over one connection: the whole connection
// when ids is nil, otherwise only the nodes with those unique IDs (at most
// a chunk of them; see byIDChunks).

func (c *Client) models(ctx context.Context, envID int64, ids []string, st *pageStats, in *strs) iter.Seq2[Node, error] {
	f := newIDFilter(filterModels, ids)
	fetch := withLight(
		connFetch[modelFull, modelsApplied[modelFull], modelsByIDApplied[modelFull]](c, envID, f, opModels, opModelsByID),
		connFetch[modelLight, modelsApplied[modelLight], modelsByIDApplied[modelLight]](c, envID, f, opModelsLight, opModelsLightByID),
		func(m modelLight) modelFull { return modelFull{modelLight: m} })
	return convert(paginate(ctx, c, opName(f, opModels, opModelsByID), fetch, true, st), in, modelToNode)
}

func (c *Client) sources(ctx context.Context, envID int64, ids []string, st *pageStats, in *strs) iter.Seq2[Node, error] {
	f := newIDFilter(filterSources, ids)
	fetch := fullOnly(connFetch[sourceNode, sourcesApplied[sourceNode], sourcesByIDApplied[sourceNode]](c, envID, f, opSources, opSourcesByID))
	return convert(paginate(ctx, c, opName(f, opSources, opSourcesByID), fetch, false, st), in, sourceToNode)
}

func (c *Client) tests(ctx context.Context, envID int64, ids []string, st *pageStats, in *strs) iter.Seq2[Node, error] {
	f := newIDFilter(filterTests, ids)
	fetch := withLight(
		connFetch[testFull, testsApplied[testFull], testsByIDApplied[testFull]](c, envID, f, opTests, opTestsByID),
		connFetch[testLight, testsApplied[testLight], testsByIDApplied[testLight]](c, envID, f, opTestsLight, opTestsLightByID),
		func(t testLight) testFull { return testFull{testLight: t} })
	return convert(paginate(ctx, c, opName(f, opTests, opTestsByID), fetch, true, st), in, testToNode)
}

func (c *Client) seeds(ctx context.Context, envID int64, ids []string, st *pageStats, in *strs) iter.Seq2[Node, error] {
	f := newIDFilter(filterMaterialized, ids)
	fetch := fullOnly(connFetch[seedNode, seedsApplied[seedNode], seedsByIDApplied[seedNode]](c, envID, f, opSeeds, opSeedsByID))
	return convert(paginate(ctx, c, opName(f, opSeeds, opSeedsByID), fetch, false, st), in, seedToNode)
}

func (c *Client) snapshots(ctx context.Context, envID int64, ids []string, st *pageStats, in *strs) iter.Seq2[Node, error] {
	f := newIDFilter(filterMaterialized, ids)
	fetch := withLight(
		connFetch[snapshotFull, snapshotsApplied[snapshotFull], snapshotsByIDApplied[snapshotFull]](c, envID, f, opSnapshots, opSnapshotsByID),
		connFetch[snapshotLight, snapshotsApplied[snapshotLight], snapshotsByIDApplied[snapshotLight]](c, envID, f, opSnapshotLight, opSnapshotsLightByID),
		func(s snapshotLight) snapshotFull { return snapshotFull{snapshotLight: s} })
	return convert(paginate(ctx, c, opName(f, opSnapshots, opSnapshotsByID), fetch, true, st), in, snapshotToNode)
}

func (c *Client) exposures(ctx context.Context, envID int64, ids []string, st *pageStats, in *strs) iter.Seq2[Node, error] {
	f := newIDFilter(filterExposures, ids)
	fetch := fullOnly(connFetch[exposureNode, exposuresApplied[exposureNode], exposuresByIDApplied[exposureNode]](c, envID, f, opExposures, opExposuresByID))
	return convert(paginate(ctx, c, opName(f, opExposures, opExposuresByID), fetch, false, st), in, exposureToNode)
}

// opName is op for a whole connection and opByID for a filtered one.
func opName(f *idFilter, op, opByID string) string {
	if f == nil {
		return op
	}
	return opByID
}

// AppliedState fetches the environment's whole applied state (models,
// sources, tests, seeds, snapshots and exposures) into a snapshot with
// assets, columns, lineage edges, latest test results and source
// freshness, sorted by unique ID. Scope carries the environment, account
// and project IDs and the dbt project name.
//
// When some page came back partial, it returns the snapshot with Complete
// false together with a *PartialError; callers may store the snapshot but
// must not archive from it. Any other error returns a nil snapshot; an
// environment without applied state returns a wrapped ErrNoAppliedState.
func (c *Client) AppliedState(ctx context.Context, envID int64) (*catalog.Snapshot, error) {
	return c.AppliedStateWith(ctx, envID, AppliedOptions{})
}

// AppliedOptions tune AppliedStateWith.
type AppliedOptions struct {
	// Info, when set, is the environment's Info from a request just made
	// (the crawler's probe), so it is not asked again.
	Info *EnvironmentInfo
	// WithoutCode leaves raw and compiled SQL out of the queries, for
	// callers that take the code from manifest.json: the pages are smaller
	// and the client holds less in memory.
	WithoutCode bool
	// UniqueIDs, when not nil, restricts the read to the nodes with these
	// unique IDs, for incremental crawls that know which assets changed.
	// An ID's resource type (its prefix before the first dot) picks the
	// connection that is asked: model, source, test and unit_test, seed,
	// snapshot, exposure. IDs of other types (metric., semantic_model.,
	// ...) and duplicates are ignored, connections with no IDs are not
	// asked, and the IDs go out in chunks of at most 500 per walk of a
	// connection. A unique ID the environment does not hold is absent from
	// the snapshot, without error.
	//
	// When no ID is left to ask for (an empty list, or only ignored IDs),
	// no request is made at all: the snapshot is empty and Complete, and
	// its adapter type, project name and GeneratedAt come from Info when
	// set. Otherwise Scope's account and project IDs come from the nodes
	// returned, so they are zero when none came back.
	UniqueIDs []string
}

// connectionsAtOnce is how many connections of one environment are paged
// at the same time.
const connectionsAtOnce = 3

// AppliedStateWith is AppliedState with options. With
// AppliedOptions.UniqueIDs it reads only the nodes with those unique IDs,
// through the same paging, retries and partial-error handling.
func (c *Client) AppliedStateWith(ctx context.Context, envID int64, opts AppliedOptions) (*catalog.Snapshot, error) {
	// byKind holds the unique IDs to read per connection; nil reads every
	// connection whole.
	var byKind map[string][]string
	if opts.UniqueIDs != nil {
		var ignored int
		byKind, ignored = routeIDs(opts.UniqueIDs)
		if ignored > 0 {
			c.log.Debug("unique IDs no applied-state connection holds are ignored",
				zap.Int64("environment", envID), zap.Int("ignored", ignored))
		}
		if len(byKind) == 0 {
			if opts.Info != nil && !opts.Info.HasAppliedState {
				return nil, fmt.Errorf("environment %d: %w", envID, ErrNoAppliedState)
			}
			var info EnvironmentInfo
			if opts.Info != nil {
				info = *opts.Info
			}
			return newSnapshot(envID, info), nil
		}
	}
	var info EnvironmentInfo
	if opts.Info != nil {
		info = *opts.Info
	} else {
		var err error
		if info, err = c.Info(ctx, envID); err != nil {
			return nil, err
		}
	}
	if !info.HasAppliedState {
		return nil, fmt.Errorf("environment %d: %w", envID, ErrNoAppliedState)
	}
	snap := newSnapshot(envID, info)
	type kind struct {
		name  string
		op    string // the by-ID operation, named in joined partial errors
		fetch func(context.Context, int64, []string, *pageStats, *strs) iter.Seq2[Node, error]
	}
	kinds := []kind{
		{"models", opModelsByID, c.models}, {"sources", opSourcesByID, c.sources}, {"tests", opTestsByID, c.tests},
		{"seeds", opSeedsByID, c.seeds}, {"snapshots", opSnapshotsByID, c.snapshots}, {"exposures", opExposuresByID, c.exposures},
	}
	// The connections are paged at the same time (a few at once): each is
	// a chain of round trips, and one after another they were the longest
	// part of a crawl that downloads little else. Each connection collects
	// its nodes in a part of its own; fill merges the parts in order once
	// all are read. A unique_id belongs to one resource type, so no two
	// connections should hold the same node.
	var (
		mu      sync.Mutex // guards partial
		partial []*PartialError
		parts   = make([]*part, len(kinds))
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(connectionsAtOnce)
	for i, k := range kinds {
		ids := byKind[k.name]
		if byKind != nil && len(ids) == 0 {
			continue // no ID this connection could hold
		}
		g.Go(func() error {
			st := pageStats{light: opts.WithoutCode}
			// Per connection: strs is not safe for concurrent use. The
			// nodes it converts are copied into the part at once, so their
			// columns and parents may share its scratch space.
			in := newStrs()
			in.scratch = true
			var nodes iter.Seq2[Node, error]
			if byKind == nil {
				nodes = k.fetch(gctx, envID, nil, &st, in)
			} else {
				nodes = c.byIDChunks(k.op, ids, &st, func(chunk []string, st *pageStats) iter.Seq2[Node, error] {
					return k.fetch(gctx, envID, chunk, st, in)
				})
			}
			p := &part{}
			for n, err := range nodes {
				var pe *PartialError
				if errors.As(err, &pe) {
					mu.Lock()
					partial = append(partial, pe)
					mu.Unlock()
					continue
				}
				if err != nil {
					return fmt.Errorf("environment %d: fetch %s: %w", envID, k.name, err)
				}
				p.add(&n, st.total)
			}
			p.light = st.light && !opts.WithoutCode
			parts[i] = p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Scope and warnings in the order of the connections, whatever order
	// they finished in.
	for i, p := range parts {
		if p == nil {
			continue
		}
		snap.Scope.AccountID = cmp.Or(snap.Scope.AccountID, p.accountID)
		snap.Scope.ProjectID = cmp.Or(snap.Scope.ProjectID, p.projectID)
		for range p.duplicates {
			snap.AddWarning(warnDuplicate, msgDuplicate)
		}
		if p.light {
			snap.AddWarning("discovery_light_fields",
				fmt.Sprintf("%s were fetched without raw and compiled code: the Discovery API found the full query too complex", kinds[i].name))
		}
	}
	// Partial errors in a fixed order, whatever order the pages came in.
	slices.SortStableFunc(partial, func(a, b *PartialError) int { return strings.Compare(a.Error(), b.Error()) })
	live := fillAssets(snap, parts)
	if len(partial) > 0 {
		snap.Complete = false
		for _, pe := range partial {
			snap.AddWarning("discovery_partial", pe.Error())
		}
	}
	fillRest(snap, live)
	if len(partial) > 0 {
		return snap, joinPartial("AppliedState", partial)
	}
	return snap, nil
}

// newSnapshot returns an empty, complete snapshot of the environment
// described by info.
func newSnapshot(envID int64, info EnvironmentInfo) *catalog.Snapshot {
	return &catalog.Snapshot{
		Scope:       catalog.Scope{EnvironmentID: envID, ProjectName: info.DbtProjectName},
		Complete:    true,
		AdapterType: info.AdapterType,
		GeneratedAt: info.LastUpdatedAt,
	}
}

// baseAsset converts the EnvironmentAppliedNode fields.
func baseAsset(in *strs, b nodeBase, fallback catalog.ResourceType) catalog.Asset {
	meta := normalizeJSON(b.Meta)
	typ := catalog.ResourceType(in.lowerStr(b.ResourceType))
	if typ == "" {
		typ = fallback
	}
	return catalog.Asset{
		UniqueID:    in.str(b.UniqueID),
		Type:        typ,
		Name:        in.str(b.Name),
		Description: in.str(b.Description),
		Path:        in.str(b.FilePath),
		Tags:        in.list(b.Tags),
		Meta:        meta,
		Owner:       in.str(metaOwner(meta)),
		Enabled:     true,
	}
}

func applyExec(in *strs, a *catalog.Asset, e *execInfo) {
	if e == nil {
		return
	}
	a.LastRunStatus = in.lowerStr(e.LastRunStatus)
	a.LastRunAt = utc(e.ExecuteCompletedAt)
	a.LastRunID = int64(e.LastRunID)
	a.LastJobID = int64(e.LastJobDefinitionID)
	a.ExecutionSeconds = e.ExecutionTime
}

func columns(in *strs, assetID string, c *catalogInfo) []catalog.Column {
	if c == nil || len(c.Columns) == 0 {
		return nil
	}
	var out []catalog.Column
	if in.scratch {
		out = in.cols[:0]
	} else {
		out = make([]catalog.Column, 0, len(c.Columns))
	}
	for _, col := range c.Columns {
		out = append(out, catalog.Column{
			AssetUniqueID: assetID,
			Name:          in.str(col.Name),
			DataType:      in.str(col.Type),
			Ordinal:       max(col.Index, 0),
			Description:   in.str(col.Description),
			Tags:          in.list(col.Tags),
			Meta:          normalizeJSON(col.Meta),
			Comment:       in.str(col.Comment),
		})
	}
	slices.SortStableFunc(out, func(a, b catalog.Column) int { return cmp.Compare(a.Ordinal, b.Ordinal) })
	if in.scratch {
		in.cols = out[:0]
	}
	return out
}

func parents(in *strs, refs []parentRef) []string {
	if len(refs) == 0 {
		return nil
	}
	var out []string
	if in.scratch {
		out = in.parents[:0]
	} else {
		out = make([]string, 0, len(refs))
	}
	for _, r := range refs {
		if r.UniqueID != "" {
			out = append(out, in.str(r.UniqueID))
		}
	}
	slices.Sort(out)
	if in.scratch {
		in.parents = out[:0]
	}
	return slices.Compact(out)
}

func withScope(n Node, b nodeBase) Node {
	n.accountID, n.projectID = int64(b.AccountID), int64(b.ProjectID)
	return n
}

func modelToNode(in *strs, m modelFull) Node {
	a := baseAsset(in, m.nodeBase, catalog.TypeModel)
	a.PackageName = in.str(m.PackageName)
	a.Database, a.Schema, a.Identifier = in.str(m.Database), in.str(m.Schema), in.str(m.Alias)
	a.Materialization = in.str(m.MaterializedType)
	a.Access, a.Language, a.Version, a.Group = in.str(m.Access), in.str(m.Language), in.str(m.Version), in.str(m.Group)
	m.code = m.owned()
	a.RawCode, a.CompiledCode = catalog.NewText(m.RawCode), catalog.NewText(m.CompiledCode)
	applyExec(in, &a, m.ExecutionInfo)
	return withScope(Node{Asset: a, Columns: columns(in, a.UniqueID, m.Catalog), Parents: parents(in, m.Parents)}, m.nodeBase)
}

func sourceToNode(in *strs, s sourceNode) Node {
	a := baseAsset(in, s.nodeBase, catalog.TypeSource)
	a.SourceName, a.Loader = in.str(s.SourceName), in.str(s.Loader)
	a.Database, a.Schema, a.Identifier = in.str(s.Database), in.str(s.Schema), in.str(s.Identifier)
	n := Node{Asset: a, Columns: columns(in, a.UniqueID, s.Catalog)}
	f := s.Freshness
	status := in.lowerStr(f.FreshnessStatus)
	if status != "" && status != "unknown" {
		n.Freshness = &catalog.Freshness{
			SourceUniqueID: a.UniqueID,
			RunID:          int64(f.FreshnessRunID),
			JobID:          int64(f.FreshnessJobDefinitionID),
			Status:         status,
			MaxLoadedAt:    utc(f.MaxLoadedAt),
			SnapshottedAt:  utc(f.SnapshottedAt),
			AgeSeconds:     f.MaxLoadedAtTimeAgoInS,
			Criteria:       criteriaJSON(f.Criteria.WarnAfter, f.Criteria.ErrorAfter),
		}
	}
	return withScope(n, s.nodeBase)
}

func testToNode(in *strs, t testFull) Node {
	a := baseAsset(in, t.nodeBase, catalog.TypeTest)
	if t.TestType == "UNIT_TEST" && a.Type == catalog.TypeTest {
		a.Type = catalog.TypeUnitTest
	}
	a.TestName, a.TestNamespace = in.str(t.TestMetadata.Name), in.str(t.TestMetadata.Namespace)
	a.TestColumnName = in.str(t.ColumnName)
	a.TestedUniqueID = in.str(t.TestedNodeUniqueID)
	t.code = t.owned()
	a.RawCode, a.CompiledCode = catalog.NewText(t.RawCode), catalog.NewText(t.CompiledCode)
	var cfg struct {
		Severity string `json:"severity"`
	}
	if len(t.Config) > 0 && json.Unmarshal(t.Config, &cfg) == nil {
		a.Severity = in.str(cfg.Severity)
	}
	e := t.ExecutionInfo
	applyExec(in, &a, &e.execInfo)
	n := Node{Asset: a, Parents: parents(in, t.Parents)}
	if a.LastRunStatus != "" {
		r := &catalog.TestResult{
			TestUniqueID:     a.UniqueID,
			RunID:            a.LastRunID,
			JobID:            a.LastJobID,
			Status:           a.LastRunStatus,
			Message:          in.str(e.LastRunError),
			ExecutedAt:       a.LastRunAt,
			ExecutionSeconds: e.ExecutionTime,
		}
		if e.LastRunFailures != nil {
			f := int64(*e.LastRunFailures)
			r.Failures = &f
		}
		n.TestResult = r
	}
	return withScope(n, t.nodeBase)
}

func seedToNode(in *strs, s seedNode) Node {
	a := baseAsset(in, s.nodeBase, catalog.TypeSeed)
	a.PackageName = in.str(s.PackageName)
	a.Database, a.Schema, a.Identifier = in.str(s.Database), in.str(s.Schema), in.str(s.Alias)
	a.Materialization = "seed"
	applyExec(in, &a, &s.ExecutionInfo)
	return withScope(Node{Asset: a, Columns: columns(in, a.UniqueID, s.Catalog)}, s.nodeBase)
}

func snapshotToNode(in *strs, s snapshotFull) Node {
	a := baseAsset(in, s.nodeBase, catalog.TypeSnapshot)
	a.PackageName = in.str(s.PackageName)
	a.Database, a.Schema, a.Identifier = in.str(s.Database), in.str(s.Schema), in.str(s.Alias)
	a.Materialization = "snapshot"
	s.code = s.owned()
	a.RawCode, a.CompiledCode = catalog.NewText(s.RawCode), catalog.NewText(s.CompiledCode)
	applyExec(in, &a, s.ExecutionInfo)
	return withScope(Node{Asset: a, Columns: columns(in, a.UniqueID, s.Catalog), Parents: parents(in, s.Parents)}, s.nodeBase)
}

func exposureToNode(in *strs, e exposureNode) Node {
	a := baseAsset(in, e.nodeBase, catalog.TypeExposure)
	a.PackageName = in.str(e.PackageName)
	a.Label, a.URL = in.str(e.Label), in.str(e.URL)
	a.ExposureType, a.Maturity = in.str(e.ExposureType), in.str(e.Maturity)
	a.Owner = cmp.Or(a.Owner, in.str(e.OwnerName), in.str(e.OwnerEmail))
	return withScope(Node{Asset: a, Parents: parents(in, e.Parents)}, e.nodeBase)
}

// criteriaJSON renders freshness criteria the way dbt's manifest does:
// {"error_after":{"count":..,"period":..},"warn_after":{...}}; nil when
// neither is set.
func criteriaJSON(warn, errAfter *criteriaInfo) json.RawMessage {
	out := map[string]map[string]any{}
	for key, ci := range map[string]*criteriaInfo{"warn_after": warn, "error_after": errAfter} {
		if ci == nil || (ci.Count == nil && ci.Period == nil) {
			continue
		}
		m := map[string]any{}
		if ci.Count != nil {
			m["count"] = *ci.Count
		}
		if ci.Period != nil {
			m["period"] = *ci.Period
		}
		out[key] = m
	}
	if len(out) == 0 {
		return nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return b
}

// normalizeJSON compacts a JSON object, returning nil for null or {}. A
// value already compact is returned as it is (the decoder gave it its own
// copy); otherwise the result is a new slice of exactly its length.
func normalizeJSON(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return nil
	}
	if !json.Valid(raw) {
		return nil
	}
	if isCompact(raw) {
		return raw
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(raw)))
	if err := json.Compact(buf, raw); err != nil {
		return nil
	}
	return buf.Bytes()
}

// isCompact reports whether valid JSON holds no whitespace outside strings.
func isCompact(raw []byte) bool {
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// metaOwner returns meta.owner when it is a string.
func metaOwner(meta json.RawMessage) string {
	if len(meta) == 0 {
		return ""
	}
	var m struct {
		Owner any `json:"owner"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return ""
	}
	s, _ := m.Owner.(string)
	return s
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
