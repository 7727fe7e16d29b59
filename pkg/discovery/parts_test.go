package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// duplicator re-sends, on every later page of the models and tests
// connections, the first node of the first page with another name and
// description, as a server does when the environment changes while a
// client pages through it.
type duplicator struct {
	next  http.RoundTripper
	mu    sync.Mutex
	first map[string]any // by operation: the first node of its first page
}

func (d *duplicator) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var payload struct {
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		return nil, err
	}
	resp, err := d.next.RoundTrip(req)
	conn := map[string]string{opModels: "models", opTests: "tests"}[payload.OperationName]
	if err != nil || conn == "" {
		return resp, err
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	c := dig(doc, "data", "environment", "applied", conn)
	edges, _ := c["edges"].([]any)
	d.mu.Lock()
	if payload.Variables["after"] == nil && len(edges) > 0 {
		d.first[payload.OperationName] = edges[0]
	} else if e, ok := d.first[payload.OperationName].(map[string]any); ok {
		node := map[string]any{}
		for k, v := range e["node"].(map[string]any) {
			node[k] = v
		}
		node["name"], node["description"] = "renamed", "read again"
		c["edges"] = append(edges, map[string]any{"node": node})
	}
	d.mu.Unlock()
	if raw, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// dig returns the object at path in doc (nil when absent).
func dig(doc map[string]any, path ...string) map[string]any {
	for _, k := range path {
		doc, _ = doc[k].(map[string]any)
	}
	return doc
}

// readConnections reads every connection through the public iterators,
// one after another, into nodes per connection in AppliedStateWith's
// order, with the partial errors they yielded.
func readConnections(t *testing.T, c *Client) ([][]Node, []*PartialError) {
	t.Helper()
	var (
		conns   [][]Node
		partial []*PartialError
	)
	for _, seq := range []func(context.Context, int64) iter.Seq2[Node, error]{
		c.Models, c.Sources, c.Tests, c.Seeds, c.Snapshots, c.Exposures,
	} {
		var nodes []Node
		for n, err := range seq(t.Context(), testEnvID) {
			var pe *PartialError
			if errors.As(err, &pe) {
				partial = append(partial, pe)
				continue
			}
			require.NoError(t, err)
			nodes = append(nodes, n)
		}
		conns = append(conns, nodes)
	}
	slices.SortStableFunc(partial, func(a, b *PartialError) int { return strings.Compare(a.Error(), b.Error()) })
	return conns, partial
}

func TestAppliedStateMatchesTheReference(t *testing.T) {
	ds := syntheticDataset(sizes{models: 60, sources: 11, seeds: 4, snapshots: 5, exposures: 3})
	addColumns(ds, 9)
	addTests(ds, 2)
	info := EnvironmentInfo{EnvironmentID: testEnvID, AdapterType: "snowflake", DbtProjectName: "shop", HasAppliedState: true}
	tests := []struct {
		name       string
		fail       func(typeName, field string) error
		duplicates bool
		wantErr    bool
	}{
		{name: "a whole read matches"},
		{name: "nodes read twice replace the earlier ones", duplicates: true},
		{name: "partial pages keep their warnings and order", duplicates: true, wantErr: true,
			fail: func(typeName, field string) error {
				if typeName == "ModelAppliedStateNode" && field == "catalog" || typeName == "SourceAppliedStateNode" && field == "freshness" {
					return fmt.Errorf("%s.%s is unavailable", typeName, field)
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{FieldError: tt.fail}, WithPageSize(7))
			if tt.duplicates {
				rec.next = &duplicator{next: rec.next, first: map[string]any{}}
			}
			got, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{Info: &info})
			conns, partial := readConnections(t, c)
			want := referenceSnapshot(testEnvID, info, conns, nil)
			if len(partial) > 0 {
				want.Complete = false
				for _, pe := range partial {
					want.AddWarning("discovery_partial", pe.Error())
				}
			}
			if tt.wantErr {
				var pe *PartialError
				require.ErrorAs(t, err, &pe)
				require.NotEmpty(t, partial)
			} else {
				require.NoError(t, err)
			}
			if tt.duplicates {
				require.Equal(t, warnDuplicate, want.Warnings[0].Code, "the reference saw the repeated nodes")
				require.Greater(t, want.Warnings[0].Count, 2)
				i, ok := slices.BinarySearchFunc(got.Assets, "model.shop.m0000", func(a catalog.Asset, id string) int { return strings.Compare(a.UniqueID, id) })
				require.True(t, ok)
				require.Equal(t, "renamed", got.Assets[i].Name)
			}
			require.Equal(t, want, got)
			for name, s := range map[string]int{"assets": cap(got.Assets) - len(got.Assets), "columns": cap(got.Columns) - len(got.Columns),
				"edges": cap(got.Edges) - len(got.Edges)} {
				require.Zero(t, s, "%s are held at their length", name)
			}
		})
	}
}

// randomNodes returns n nodes of one connection in random order, with
// columns, parents, results and freshness, and some unique IDs repeated
// (each repeat with other values).
func randomNodes(rng *rand.Rand, prefix string, n int) []Node {
	var nodes []Node
	for i := range n {
		id := fmt.Sprintf("%s.p.n%03d", prefix, rng.IntN(n*3/2+1))
		node := Node{Asset: catalog.Asset{UniqueID: id, Name: fmt.Sprintf("v%d", i)}, accountID: int64(rng.IntN(2)), projectID: 7}
		for j := range rng.IntN(4) {
			node.Columns = append(node.Columns, catalog.Column{AssetUniqueID: id, Name: fmt.Sprintf("c%d", rng.IntN(3)), Ordinal: j % 2, DataType: fmt.Sprint(i)})
		}
		for range rng.IntN(3) {
			node.Parents = append(node.Parents, fmt.Sprintf("model.p.n%03d", rng.IntN(20)))
		}
		slices.Sort(node.Parents)
		node.Parents = slices.Compact(node.Parents)
		if rng.IntN(2) == 0 {
			node.TestResult = &catalog.TestResult{TestUniqueID: id, RunID: int64(i), Status: "pass"}
		}
		if rng.IntN(2) == 0 {
			node.Freshness = &catalog.Freshness{SourceUniqueID: id, RunID: int64(i), Status: "warn"}
		}
		nodes = append(nodes, node)
	}
	return nodes
}

func TestPartsMatchTheReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		t.Run(fmt.Sprintf("random connections %d", round), func(t *testing.T) {
			conns := [][]Node{
				randomNodes(rng, "model", rng.IntN(300)),
				randomNodes(rng, "source", rng.IntN(40)),
				nil,
				randomNodes(rng, "test", rng.IntN(200)),
			}
			if round%5 == 0 {
				// A server that put a node in the wrong connection too.
				conns = append(conns, randomNodes(rng, "model", 5))
			}
			info := EnvironmentInfo{DbtProjectName: "p"}
			want := referenceSnapshot(testEnvID, info, conns, []string{"tests"})

			got := newSnapshot(testEnvID, info)
			parts := make([]*part, len(conns)+1) // one connection not read
			var wg sync.WaitGroup
			for i, nodes := range conns {
				wg.Go(func() {
					p := &part{light: i == 3}
					for _, n := range nodes {
						p.add(&n, len(nodes))
					}
					parts[i] = p
				})
			}
			wg.Wait()
			for _, p := range parts {
				if p == nil {
					continue
				}
				got.Scope.AccountID = max(got.Scope.AccountID, p.accountID)
				got.Scope.ProjectID = max(got.Scope.ProjectID, p.projectID)
				for range p.duplicates {
					got.AddWarning(warnDuplicate, msgDuplicate)
				}
				if p.light {
					got.AddWarning("discovery_light_fields",
						"tests were fetched without raw and compiled code: the Discovery API found the full query too complex")
				}
			}
			fillRest(got, fillAssets(got, parts))
			require.Equal(t, want, got)
		})
	}
}
