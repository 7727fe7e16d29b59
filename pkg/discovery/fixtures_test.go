package discovery

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// fixtureServer serves a recorded Discovery response ("data" member only)
// wrapped as {"data": ...}.
func fixtureServer(t *testing.T, name string) *Client {
	t.Helper()
	path := sharedtest.Path(t, "reference", "dbt-discovery-api", "fixtures", name)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":`))
		_, _ = w.Write(data)
		_, _ = w.Write([]byte(`}`))
	}))
	t.Cleanup(srv.Close)
	c, _ := newClientFor(t, srv.URL+"/graphql")
	return c
}

func collect(t *testing.T, seq func(yield func(Node, error) bool)) []Node {
	t.Helper()
	var out []Node
	for n, err := range seq {
		require.NoError(t, err)
		out = append(out, n)
	}
	return out
}

func TestRecordedFixturesDecode(t *testing.T) {
	t.Run("models", func(t *testing.T) {
		c := fixtureServer(t, "metaphor__env_get_models.json")
		nodes := collect(t, c.Models(t.Context(), 1))
		require.Len(t, nodes, 2)
		m := nodes[0].Asset
		require.Equal(t, "acme", m.Database)
		require.Equal(t, "customers", m.Identifier)
		require.NotEmpty(t, m.CompiledCode)
		require.NotEmpty(t, nodes[0].Columns)
		require.Equal(t, "CUSTOMER_ID", nodes[0].Columns[0].Name)
		require.Equal(t, "TEXT", nodes[0].Columns[0].DataType)
		require.Nil(t, nodes[0].Columns[0].Meta, "an empty meta object is nil")
	})
	t.Run("sources with and without catalog", func(t *testing.T) {
		c := fixtureServer(t, "metaphor__env_get_sources.json")
		nodes := collect(t, c.Sources(t.Context(), 1))
		require.Len(t, nodes, 3)
		require.Equal(t, catalog.TypeSource, nodes[0].Asset.Type)
		require.Len(t, nodes[0].Columns, 2)
		require.Empty(t, nodes[1].Columns)
		require.Equal(t, "source.metaphor.conversion_sources.foo", nodes[2].Asset.UniqueID)
		require.Empty(t, nodes[2].Asset.Schema)
	})
	t.Run("an empty snapshot page with an empty cursor", func(t *testing.T) {
		c := fixtureServer(t, "metaphor__env_get_snapshots.json")
		require.Empty(t, collect(t, c.Snapshots(t.Context(), 1)))
	})
	t.Run("environment info without applied state", func(t *testing.T) {
		c := fixtureServer(t, "metaphor__env_adapter_type__jaffle_shop.json")
		info, err := c.Info(t.Context(), 1)
		require.NoError(t, err)
		require.Equal(t, "snowflake", info.AdapterType)
		require.Equal(t, "jaffle_shop", info.DbtProjectName)
		require.False(t, info.HasAppliedState)
	})
}
