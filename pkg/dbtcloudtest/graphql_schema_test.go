package dbtcloudtest

import (
	"os"
	"slices"
	"testing"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// gqlRealSchema loads dbt's recorded Discovery schema from the shared
// reference material, or skips the test when it is absent.
func gqlRealSchema(t *testing.T) *ast.Schema {
	t.Helper()
	path := sharedtest.Path(t, "reference", "dbt-discovery-api", "schema.graphql")
	sdl, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("dbt's Discovery schema not found at %s (set DBT_CRAWLER_SHARED): %v", path, err)
	}
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: path, Input: string(sdl)})
	require.NoError(t, err)
	return schema
}

func gqlDefault(v *ast.Value) string {
	if v == nil {
		return ""
	}
	return v.String()
}

// TestEmbeddedSchemaMatchesDbt checks that every type, field, argument and
// enum value of the emulator's schema exists in dbt's schema with the same
// type, nullability and default, and that no required argument is missing.
func TestEmbeddedSchemaMatchesDbt(t *testing.T) {
	real := gqlRealSchema(t)
	mine, err := gqlparser.LoadSchema(&ast.Source{Name: "graphql_schema.graphql", Input: graphqlSchemaSDL})
	require.NoError(t, err)

	var names []string
	for name, def := range mine.Types {
		if !def.BuiltIn {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			def := mine.Types[name]
			rdef := real.Types[name]
			require.NotNil(t, rdef, "dbt's schema has no type %s", name)
			require.Equal(t, rdef.Kind, def.Kind)
			for _, iface := range def.Interfaces {
				require.Contains(t, rdef.Interfaces, iface, "%s implements %s in dbt's schema", name, iface)
			}
			for _, ev := range def.EnumValues {
				require.NotNil(t, rdef.EnumValues.ForName(ev.Name), "enum value %s.%s", name, ev.Name)
			}
			if def.Kind == ast.Enum {
				require.Len(t, def.EnumValues, len(rdef.EnumValues), "enum %s has all of dbt's values", name)
			}
			for _, f := range def.Fields {
				rf := rdef.Fields.ForName(f.Name)
				require.NotNil(t, rf, "dbt's %s has no field %s", name, f.Name)
				require.Equal(t, rf.Type.String(), f.Type.String(), "type of %s.%s", name, f.Name)
				require.Equal(t, gqlDefault(rf.DefaultValue), gqlDefault(f.DefaultValue), "default of %s.%s", name, f.Name)
				for _, a := range f.Arguments {
					ra := rf.Arguments.ForName(a.Name)
					require.NotNil(t, ra, "dbt's %s.%s has no argument %s", name, f.Name, a.Name)
					require.Equal(t, ra.Type.String(), a.Type.String(), "type of %s.%s(%s)", name, f.Name, a.Name)
					require.Equal(t, gqlDefault(ra.DefaultValue), gqlDefault(a.DefaultValue), "default of %s.%s(%s)", name, f.Name, a.Name)
				}
				for _, ra := range rf.Arguments {
					if ra.Type.NonNull && ra.DefaultValue == nil {
						require.NotNil(t, f.Arguments.ForName(ra.Name), "required argument %s.%s(%s) is declared", name, f.Name, ra.Name)
					}
				}
			}
		})
	}
}
