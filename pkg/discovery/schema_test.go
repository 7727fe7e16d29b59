package discovery

import (
	"os"
	"slices"
	"testing"

	graphql "github.com/hasura/go-graphql-client"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// dbtSchema loads dbt's recorded Discovery API schema, or skips.
func dbtSchema(t *testing.T) *ast.Schema {
	t.Helper()
	path := sharedtest.Path(t, "reference", "dbt-discovery-api", "schema.graphql")
	sdl, err := os.ReadFile(path)
	require.NoError(t, err)
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: path, Input: string(sdl)})
	require.NoError(t, err)
	return schema
}

func pagedVars() map[string]any {
	var after *string
	return map[string]any{varEnvironmentID: BigInt(1), varFirst: 500, varAfter: after}
}

func byIDVars(filterType string) map[string]any {
	vars := pagedVars()
	vars[varFilter] = newIDFilter(filterType, []string{"model.shop.a"})
	return vars
}

// allQueries lists every operation the client can send, built exactly as
// the client builds them.
func allQueries() map[string]struct {
	q    any
	vars map[string]any
} {
	env := map[string]any{varEnvironmentID: BigInt(1)}
	type entry = struct {
		q    any
		vars map[string]any
	}
	return map[string]entry{
		opInfo:          {&infoQuery{}, env},
		opLastUpdated:   {&lastUpdatedQuery{}, env},
		opModels:        {&envQuery[modelsApplied[modelFull]]{}, pagedVars()},
		opModelsLight:   {&envQuery[modelsApplied[modelLight]]{}, pagedVars()},
		opSources:       {&envQuery[sourcesApplied[sourceNode]]{}, pagedVars()},
		opTests:         {&envQuery[testsApplied[testFull]]{}, pagedVars()},
		opTestsLight:    {&envQuery[testsApplied[testLight]]{}, pagedVars()},
		opSeeds:         {&envQuery[seedsApplied[seedNode]]{}, pagedVars()},
		opSnapshots:     {&envQuery[snapshotsApplied[snapshotFull]]{}, pagedVars()},
		opSnapshotLight: {&envQuery[snapshotsApplied[snapshotLight]]{}, pagedVars()},
		opExposures:     {&envQuery[exposuresApplied[exposureNode]]{}, pagedVars()},

		opModelsByID:         {&envQuery[modelsByIDApplied[modelFull]]{}, byIDVars(filterModels)},
		opModelsLightByID:    {&envQuery[modelsByIDApplied[modelLight]]{}, byIDVars(filterModels)},
		opSourcesByID:        {&envQuery[sourcesByIDApplied[sourceNode]]{}, byIDVars(filterSources)},
		opTestsByID:          {&envQuery[testsByIDApplied[testFull]]{}, byIDVars(filterTests)},
		opTestsLightByID:     {&envQuery[testsByIDApplied[testLight]]{}, byIDVars(filterTests)},
		opSeedsByID:          {&envQuery[seedsByIDApplied[seedNode]]{}, byIDVars(filterMaterialized)},
		opSnapshotsByID:      {&envQuery[snapshotsByIDApplied[snapshotFull]]{}, byIDVars(filterMaterialized)},
		opSnapshotsLightByID: {&envQuery[snapshotsByIDApplied[snapshotLight]]{}, byIDVars(filterMaterialized)},
		opExposuresByID:      {&envQuery[exposuresByIDApplied[exposureNode]]{}, byIDVars(filterExposures)},
	}
}

func TestEveryQueryIsValidAgainstDbtSchema(t *testing.T) {
	schema := dbtSchema(t)
	for op, e := range allQueries() {
		t.Run(op, func(t *testing.T) {
			doc, err := graphql.ConstructQuery(e.q, e.vars, graphql.OperationName(op))
			require.NoError(t, err)
			_, errs := gqlparser.LoadQueryWithRules(schema, doc, nil)
			require.Empty(t, errs, "query:\n%s", doc)
		})
	}
}

func TestSentQueriesAreValidAgainstDbtSchema(t *testing.T) {
	schema := dbtSchema(t)
	ds := syntheticDataset(sizes{models: 30, sources: 3, seeds: 2, snapshots: 2, exposures: 1})
	// The limit forces the smaller pages and the lighter field sets too.
	c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{ComplexityLimit: 35})
	_, err := c.AppliedState(t.Context(), testEnvID)
	require.NoError(t, err)
	_, err = c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{UniqueIDs: []string{
		"model.shop.m0001", "source.shop.raw.t0001", "test.shop.assert_positive", "seed.shop.s0001",
		"snapshot.shop.snap0001", "exposure.shop.dash00",
	}})
	require.NoError(t, err)
	_, err = c.LastUpdatedAt(t.Context(), testEnvID)
	require.NoError(t, err)

	sent := map[string]string{}
	for i, op := range rec.ops {
		sent[op] = rec.queries[i]
	}
	var ops []string
	for op := range allQueries() {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			doc, ok := sent[op]
			require.True(t, ok, "operation %s was never sent", op)
			_, errs := gqlparser.LoadQueryWithRules(schema, doc, nil)
			require.Empty(t, errs, "query:\n%s", doc)
		})
	}
}

func TestQueryWithUnknownFieldFailsValidation(t *testing.T) {
	schema := dbtSchema(t)
	var q struct {
		Environment struct {
			Owner string `graphql:"owner"`
		} `graphql:"environment(id: $environmentId)"`
	}
	doc, err := graphql.ConstructQuery(&q, map[string]any{varEnvironmentID: BigInt(1)})
	require.NoError(t, err)
	_, errs := gqlparser.LoadQueryWithRules(schema, doc, nil)
	require.NotEmpty(t, errs)

	plain, err := graphql.ConstructQuery(&infoQuery{}, map[string]any{varEnvironmentID: int64(1)})
	require.NoError(t, err)
	_, errs = gqlparser.LoadQueryWithRules(schema, plain, nil)
	require.NotEmpty(t, errs, "an Int! environment ID is rejected, which is why BigInt exists")
}

func TestByIDQueriesDeclareTheFilterInputType(t *testing.T) {
	schema := dbtSchema(t)
	tests := []struct {
		name       string
		q          any
		filterType string
		valid      bool
	}{
		{"models take a ModelAppliedFilter", &envQuery[modelsByIDApplied[modelLight]]{}, filterModels, true},
		{"sources take a SourceAppliedFilter", &envQuery[sourcesByIDApplied[sourceNode]]{}, filterSources, true},
		{"tests take a TestAppliedFilter", &envQuery[testsByIDApplied[testLight]]{}, filterTests, true},
		{"seeds take a GenericMaterializedFilter", &envQuery[seedsByIDApplied[seedNode]]{}, filterMaterialized, true},
		{"snapshots take a GenericMaterializedFilter", &envQuery[snapshotsByIDApplied[snapshotLight]]{}, filterMaterialized, true},
		{"exposures take an ExposureFilter", &envQuery[exposuresByIDApplied[exposureNode]]{}, filterExposures, true},
		{"a type the schema lacks is rejected", &envQuery[modelsByIDApplied[modelLight]]{}, "ModelFilter", false},
		{"another connection's filter type is rejected", &envQuery[modelsByIDApplied[modelLight]]{}, filterMaterialized, false},
		{"a source filter on tests is rejected", &envQuery[testsByIDApplied[testLight]]{}, filterSources, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := graphql.ConstructQuery(tt.q, byIDVars(tt.filterType), graphql.OperationName("Q"))
			require.NoError(t, err)
			require.Contains(t, doc, "$filter:"+tt.filterType+"$", "the variable is nullable, like the argument")
			_, errs := gqlparser.LoadQueryWithRules(schema, doc, nil)
			if tt.valid {
				require.Empty(t, errs, "query:\n%s", doc)
			} else {
				require.NotEmpty(t, errs, "query:\n%s", doc)
			}
		})
	}
}
