package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"unsafe"
)

// A Builder holds what it was given in a staged form: only the fields
// Build reads, with repeated short strings (types, schemas, tags, data
// types, ...) and repeated lists stored once. Strings are kept as the
// artifact wrote them; Build sanitises them, so the count of sanitised
// strings does not depend on when an artifact was added.

// interner stores each distinct string, JSON value and tag list once.
type interner struct {
	strs  map[string]string
	raws  map[string]json.RawMessage
	lists map[string][]string
	key   []byte // scratch for list and memo keys
	// metas and canon remember what small meta values give (mergedMeta,
	// canonical), keyed by their bytes.
	metas map[string]metaMemo
	canon map[string]json.RawMessage
	// bufs keeps a scanner buffer from file to file; cache shares the
	// strings of repeated column names, descriptions and comments.
	bufs  scanBufs
	cache strCache
}

// str returns the stored copy of s, storing s when new.
func (in *interner) str(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.strs[s]; ok {
		return v
	}
	if in.strs == nil {
		in.strs = map[string]string{}
	}
	in.strs[s] = s
	return s
}

// raw returns the stored copy of the JSON value r (nil stays nil).
func (in *interner) raw(r json.RawMessage) json.RawMessage {
	if r == nil {
		return nil
	}
	if v, ok := in.raws[string(r)]; ok {
		return v
	}
	if in.raws == nil {
		in.raws = map[string]json.RawMessage{}
	}
	r = slices.Clip(r)
	in.raws[string(r)] = r
	return r
}

// list returns the stored copy of the concatenation of lists, its
// strings interned; nil when all are empty.
func (in *interner) list(lists ...[]string) []string {
	n := 0
	in.key = in.key[:0]
	for _, l := range lists {
		for _, s := range l {
			in.key = append(append(in.key, s...), 0)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if v, ok := in.lists[string(in.key)]; ok {
		return v
	}
	out := make([]string, 0, n)
	for _, l := range lists {
		for _, s := range l {
			out = append(out, in.str(s))
		}
	}
	if in.lists == nil {
		in.lists = map[string][]string{}
	}
	in.lists[string(in.key)] = out
	return out
}

// tri is an optional boolean: 0 unset, 1 false, 2 true.
type tri uint8

func triOf(p *bool) tri {
	switch {
	case p == nil:
		return 0
	case *p:
		return 2
	}
	return 1
}

// triQuoting is a Quoting held as tri-states: database, schema,
// identifier.
type triQuoting [3]tri

func triQuotingOf(q Quoting) triQuoting {
	return triQuoting{triOf(q.Database), triOf(q.Schema), triOf(q.Identifier)}
}

// stagedNode is the part of a ManifestNode Build reads.
type stagedNode struct {
	Section      string
	UniqueID     string
	ResourceType string
	Name         string
	PackageName  string
	Description  string
	Database     string
	Schema       string
	Alias        string
	RelationName string
	// Path is original_file_path, else path, with forward slashes.
	Path         string
	RawCode      Text
	CompiledCode Text
	Language     string
	// Checksum is empty when the checksum is named "none".
	Checksum string
	// Tags are config.tags followed by tags.
	Tags []string
	// Meta is meta merged over config.meta (mergeMeta).
	Meta         json.RawMessage
	Materialized string
	Severity     string
	DependsOn    []string
	Columns      []stagedColumn
	Enabled      bool
	// HasTestMetadata is whether test_metadata was present.
	HasTestMetadata bool
	Quoting         triQuoting
	ConfigQuoting   triQuoting
	// x holds the fields of tests, sources, exposures and metrics and the
	// ones most nodes leave empty; nil when all are empty.
	x *nodeExtra
}

// nodeExtra holds the staged fields few nodes have.
type nodeExtra struct {
	Identifier string
	// Access, Group: the node's, else the config's.
	Access  string
	Group   string
	Version string
	// Owner is the first owner named by meta, config.meta or the node's
	// owner (email before name); for a group, the group's owner.
	Owner         string
	ColumnName    string
	AttachedNode  string
	TestName      string
	TestNamespace string
	TestColumn    string // test_metadata.kwargs.column_name
	TestModel     string // test_metadata.kwargs.model
	SourceName    string
	Loader        string
	URL           string
	Label         string
	Maturity      string
	Kind          string
}

// extra returns n's extra fields, or the zero value.
func (n *stagedNode) extra() nodeExtra {
	if n.x == nil {
		return nodeExtra{}
	}
	return *n.x
}

// stagedColumn is the part of a ManifestColumn Build reads.
type stagedColumn struct {
	Name        string
	Description string
	DataType    string
	// x holds tags and meta; nil when both are empty.
	x *columnExtra
}

// columnExtra holds the staged fields few columns have.
type columnExtra struct {
	Tags []string
	// Meta is the column meta as canonical JSON.
	Meta json.RawMessage
}

// tags returns the column's staged tags.
func (c *stagedColumn) tags() []string {
	if c.x == nil {
		return nil
	}
	return c.x.Tags
}

// meta returns the column's canonical meta.
func (c *stagedColumn) meta() json.RawMessage {
	if c.x == nil {
		return nil
	}
	return c.x.Meta
}

// stage converts a decoded manifest entry into its staged form.
func (in *interner) stage(n *ManifestNode) stagedNode {
	s := stagedNode{
		Section:      in.str(n.Section),
		UniqueID:     n.UniqueID,
		ResourceType: in.str(n.ResourceType),
	}
	if n.Section == "groups" {
		s.Name = n.Name
		if o := n.Owner.preferred(); o != "" {
			s.x = &nodeExtra{Owner: o}
		}
		return s
	}
	if _, ok := assetTypes[n.ResourceType]; !ok {
		return s // only its id and type are needed
	}
	s.Name = n.Name
	s.PackageName = in.str(n.PackageName)
	s.Description = n.Description
	s.Database = in.str(n.Database)
	s.Schema = in.str(n.Schema)
	s.Alias = n.Alias
	s.RelationName = n.RelationName
	s.Path = normPath(firstNonEmpty(n.OriginalFilePath, n.Path))
	s.RawCode, s.CompiledCode = n.RawCode, n.CompiledCode
	s.Language = in.str(n.Language)
	if !strings.EqualFold(n.ChecksumName, "none") {
		s.Checksum = n.Checksum
	}
	s.Tags = in.list(n.Config.Tags, n.Tags)
	s.Meta = in.raw(mergeMeta(n.Meta, n.Config.Meta))
	s.Materialized = in.str(n.Config.Materialized)
	s.Severity = in.str(n.Config.Severity)
	s.Enabled = n.Section != "disabled" && (n.Config.Enabled == nil || *n.Config.Enabled)
	s.Quoting, s.ConfigQuoting = triQuotingOf(n.Quoting), triQuotingOf(n.Config.Quoting)
	if len(n.DependsOn) > 0 {
		s.DependsOn = make([]string, len(n.DependsOn))
		for i, d := range n.DependsOn {
			s.DependsOn[i] = in.str(d)
		}
	}
	if len(n.Columns) > 0 {
		s.Columns = make([]stagedColumn, len(n.Columns))
		for i, c := range n.Columns {
			s.Columns[i] = stagedColumn{
				Name:        c.Name,
				Description: c.Description,
				DataType:    in.str(c.DataType),
			}
			if x := (columnExtra{Tags: in.list(c.Tags), Meta: in.raw(canonicalJSON(c.Meta))}); x.Tags != nil || x.Meta != nil {
				s.Columns[i].x = &x
			}
		}
	}
	x := nodeExtra{
		Identifier: n.Identifier,
		Access:     in.str(firstNonEmpty(n.Access, n.Config.Access)),
		Group:      in.str(firstNonEmpty(n.Group, n.Config.Group)),
		Version:    in.str(n.Version),
		Owner:      in.str(firstNonEmpty(ownerFromMeta(n.Meta), ownerFromMeta(n.Config.Meta), n.Owner.preferred())),
		ColumnName: n.ColumnName, AttachedNode: in.str(n.AttachedNode),
		SourceName: in.str(n.SourceName), Loader: in.str(n.Loader),
		URL: n.URL, Label: n.Label, Maturity: in.str(n.Maturity), Kind: in.str(n.Kind),
	}
	if tm := n.TestMetadata; tm != nil {
		s.HasTestMetadata = true
		x.TestName, x.TestNamespace = in.str(tm.Name), in.str(tm.Namespace)
		x.TestColumn, x.TestModel = tm.ColumnName, tm.Model
	}
	if x != (nodeExtra{}) {
		s.x = &x
	}
	return s
}

// stagedTable is the part of a CatalogTable Build reads.
type stagedTable struct {
	UniqueID string
	Type     string
	Database string
	Schema   string
	Name     string
	Comment  string
	Owner    string
	// Columns as in CatalogTable, types interned.
	Columns []CatalogColumn
	// RowCount and Bytes are read from the stats.
	RowCount *int64
	Bytes    *int64
}

// stageTable converts a decoded catalog entry into its staged form.
func (in *interner) stageTable(t *CatalogTable) stagedTable {
	s := stagedTable{
		UniqueID: t.UniqueID,
		Type:     in.str(t.Type),
		Database: in.str(t.Database),
		Schema:   in.str(t.Schema),
		Name:     t.Name,
		Comment:  t.Comment,
		Owner:    in.str(t.Owner),
		RowCount: statInt(t.Stats, "row_count", "num_rows", "rows"),
		Bytes:    statInt(t.Stats, "bytes", "num_bytes", "size_bytes"),
	}
	if len(t.Columns) > 0 {
		s.Columns = make([]CatalogColumn, len(t.Columns))
		for i, c := range t.Columns {
			c.Type = in.str(c.Type)
			s.Columns[i] = c
		}
	}
	return s
}

// tagSet caches the sorted, sanitised form of staged tag lists within one
// Build: staged lists are interned, so equal lists share their first
// element's address.
type tagSet struct {
	out   []string
	dirty int // strings sanitise changed
}

// sortedTags returns tags(l) for a staged list, computed once per
// distinct list; the result is shared and clipped so that appending to
// it copies.
func (st *build) sortedTags(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	k := unsafe.SliceData(l)
	if ts, ok := st.tagCache[k]; ok {
		st.sanitized += ts.dirty
		return ts.out
	}
	before := st.sanitized
	out := slices.Clip(st.tags(l))
	st.tagCache[k] = tagSet{out: out, dirty: st.sanitized - before}
	return out
}
