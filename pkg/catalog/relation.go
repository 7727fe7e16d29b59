package catalog

import (
	"strings"
)

// IdentPart is one dot-separated part of a rendered relation name.
type IdentPart struct {
	Name string
	// Quoted is true when the part was written in double quotes or
	// backticks.
	Quoted bool
}

// ParseRelationName splits a relation name as dbt renders it
// (`"db"."schema"."t"`, “ `proj`.`ds`.`t` “, `DB.schema.t`, `schema.t`)
// into its parts, honouring quotes (a doubled quote inside quotes is a
// literal quote) and dots inside quotes. It returns nil for "".
func ParseRelationName(s string) []IdentPart {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var parts []IdentPart
	var cur strings.Builder
	quoted := false
	var quote byte
	inQuote := false
	flush := func() {
		name := cur.String()
		if !quoted {
			name = strings.TrimSpace(name)
		}
		parts = append(parts, IdentPart{Name: name, Quoted: quoted})
		cur.Reset()
		quoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == quote:
			if i+1 < len(s) && s[i+1] == quote {
				cur.WriteByte(c)
				i++
				continue
			}
			inQuote = false
		case inQuote:
			cur.WriteByte(c)
		case c == '"' || c == '`' || c == '[':
			inQuote, quoted, quote = true, true, c
			if c == '[' {
				quote = ']'
			}
		case c == '.':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return parts
}

// NormalizeIdentifier returns ident as the warehouse of adapter stores it:
// Snowflake and Oracle upper-case unquoted identifiers, Postgres and DuckDB
// lower-case them, Redshift and Databricks (and Spark) lower-case every
// identifier, BigQuery and unknown adapters keep the case.
func NormalizeIdentifier(adapter, ident string, quoted bool) string {
	switch adapter {
	case "snowflake", "oracle":
		if !quoted {
			return strings.ToUpper(ident)
		}
	case "postgres", "duckdb", "materialize":
		if !quoted {
			return strings.ToLower(ident)
		}
	case "redshift", "databricks", "spark":
		return strings.ToLower(ident)
	}
	return ident
}

// RelationKind maps a catalog metadata.type ("BASE TABLE", "VIEW",
// "MATERIALIZED VIEW", "EXTERNAL TABLE", "table", ...) to the lower-case
// relation kind used as asset_type: table, view, materialized_view,
// external, ...; "" stays "".
func RelationKind(catalogType string) string {
	t := strings.ToLower(strings.TrimSpace(catalogType))
	switch t {
	case "base table", "table", "managed", "local table":
		return "table"
	case "view":
		return "view"
	case "materialized view", "materialized_view", "materializedview":
		return "materialized_view"
	case "external table", "external", "external_table":
		return "external"
	case "dynamic table", "dynamic_table":
		return "dynamic_table"
	case "local temporary", "temporary", "temporary table":
		return "temporary"
	}
	return strings.Join(strings.Fields(t), "_")
}

// defaultQuoted reports dbt's default quoting for an adapter: Snowflake
// does not quote, the others do (or ignore case anyway).
func defaultQuoted(adapter string) bool {
	return adapter != "snowflake"
}

// relationRef is the relation a node is expected to have.
type relationRef struct {
	Database, Schema, Name string
	// FromRelationName is set when the parts came from relation_name.
	FromRelationName bool
}

// expectedRelations derives the normalised relation of a node: first from
// its relation_name when it has one, then from database, schema and
// alias/identifier with the quoting config. The first is the node's
// primary relation.
func expectedRelations(n *stagedNode, adapter string, global Quoting) []relationRef {
	var refs []relationRef
	if parts := ParseRelationName(n.RelationName); len(parts) >= 2 && len(parts) <= 3 {
		ref := relationRef{FromRelationName: true}
		norm := func(p IdentPart) string { return NormalizeIdentifier(adapter, p.Name, p.Quoted) }
		if len(parts) == 3 {
			ref.Database = norm(parts[0])
		}
		ref.Schema, ref.Name = norm(parts[len(parts)-2]), norm(parts[len(parts)-1])
		if adapter == "oracle" {
			ref.Database = ""
		}
		if ref.Name != "" {
			refs = append(refs, ref)
		}
	}
	name := n.Alias
	if n.ResourceType == string(TypeSource) {
		name = firstNonEmpty(n.extra().Identifier, n.Name)
	}
	name = firstNonEmpty(name, n.Name)
	if name == "" || n.Schema == "" {
		return refs
	}
	def := defaultQuoted(adapter)
	q := func(part int, glob *bool) bool {
		for _, v := range []tri{n.Quoting[part], n.ConfigQuoting[part]} {
			if v != 0 {
				return v == 2
			}
		}
		if glob != nil {
			return *glob
		}
		return def
	}
	ref := relationRef{
		Database: NormalizeIdentifier(adapter, n.Database, q(0, global.Database)),
		Schema:   NormalizeIdentifier(adapter, n.Schema, q(1, global.Schema)),
		Name:     NormalizeIdentifier(adapter, name, q(2, global.Identifier)),
	}
	if adapter == "oracle" {
		ref.Database = ""
	}
	return append(refs, ref)
}

// relationIndex finds catalog tables by relation identity.
type relationIndex struct {
	exact   map[string]int // db\x00schema\x00name
	folded  map[string]int // lower-cased
	exact2  map[string]int // schema\x00name; -1 when ambiguous
	folded2 map[string]int
	byID    map[string]int // catalog unique_id
}

func relKey(parts ...string) string { return strings.Join(parts, "\x00") }

func newRelationIndex(tables []*stagedTable) *relationIndex {
	ix := &relationIndex{
		exact: map[string]int{}, folded: map[string]int{},
		exact2: map[string]int{}, folded2: map[string]int{}, byID: map[string]int{},
	}
	put := func(m map[string]int, k string, i int) {
		if j, ok := m[k]; ok && j != i {
			m[k] = -1 // ambiguous
			return
		}
		m[k] = i
	}
	for i, t := range tables {
		put(ix.exact, relKey(t.Database, t.Schema, t.Name), i)
		put(ix.folded, strings.ToLower(relKey(t.Database, t.Schema, t.Name)), i)
		put(ix.exact2, relKey(t.Schema, t.Name), i)
		put(ix.folded2, strings.ToLower(relKey(t.Schema, t.Name)), i)
		if t.UniqueID != "" {
			if _, ok := ix.byID[t.UniqueID]; !ok {
				ix.byID[t.UniqueID] = i
			}
		}
	}
	return ix
}

func lookup(m map[string]int, k string) (int, bool) {
	i, ok := m[k]
	return i, ok && i >= 0
}

// find returns the catalog table for the first of refs that matches and
// the rule that found it: exact matches of every ref before
// case-insensitive ones, and the catalog's unique_id key last.
func (ix *relationIndex) find(refs []relationRef, uniqueID string) (int, string) {
	keys := func(ref relationRef) (map[string]int, map[string]int, string) {
		if ref.Database == "" {
			return ix.exact2, ix.folded2, relKey(ref.Schema, ref.Name)
		}
		return ix.exact, ix.folded, relKey(ref.Database, ref.Schema, ref.Name)
	}
	for _, ref := range refs {
		exact, _, key := keys(ref)
		if i, found := lookup(exact, key); found {
			if ref.FromRelationName {
				return i, "relation_name"
			}
			return i, "exact"
		}
	}
	for _, ref := range refs {
		_, folded, key := keys(ref)
		if i, found := lookup(folded, strings.ToLower(key)); found {
			return i, "case_insensitive"
		}
	}
	if i, found := ix.byID[uniqueID]; found {
		return i, "catalog_key"
	}
	return -1, ""
}
