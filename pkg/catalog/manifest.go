package catalog

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

// ManifestNode is one entry of manifest.json, decoded leniently: unknown
// fields are ignored, nulls and missing fields leave zero values, and the
// field renames between schema versions (raw_sql/raw_code, ...) are folded.
type ManifestNode struct {
	// Section is the top-level key the entry came from: "nodes", "sources",
	// "exposures", "metrics", "semantic_models", "saved_queries",
	// "unit_tests", "groups" or "disabled".
	Section string
	// UniqueID is the entry's unique_id, or its map key when absent.
	UniqueID     string
	ResourceType string
	Name         string
	PackageName  string
	Description  string

	Database     string
	Schema       string
	Alias        string
	Identifier   string
	RelationName string
	Quoting      Quoting

	Path             string
	OriginalFilePath string
	RawCode          Text
	CompiledCode     Text
	Language         string
	Checksum         string
	ChecksumName     string

	Tags    []string
	Meta    json.RawMessage
	Config  NodeConfig
	Access  string
	Group   string
	Version string

	// DependsOn is depends_on.nodes.
	DependsOn []string
	// Columns are the YAML-declared columns in declaration order.
	Columns []ManifestColumn

	// Tests.
	TestMetadata *TestMetadata
	ColumnName   string
	AttachedNode string

	// Sources.
	SourceName    string
	Loader        string
	LoadedAtField string
	Freshness     json.RawMessage

	// Exposures, metrics, groups and semantic models.
	Owner    ManifestOwner
	URL      string
	Label    string
	Maturity string
	// Kind is an exposure's or metric's "type".
	Kind string
	// Model is a semantic model's or unit test's model reference.
	Model string
}

// NodeConfig is the part of a node's config the crawler uses.
type NodeConfig struct {
	// Enabled is nil when the config does not say.
	Enabled      *bool
	Materialized string
	Tags         []string
	Meta         json.RawMessage
	Severity     string
	Access       string
	Group        string
	Quoting      Quoting
}

// ManifestColumn is a column declared in YAML.
type ManifestColumn struct {
	Name        string
	Description string
	DataType    string
	Tags        []string
	Meta        json.RawMessage
	Quote       bool
}

// TestMetadata marks a generic test: its macro name and namespace, the
// tested column and the raw model argument.
type TestMetadata struct {
	Name       string
	Namespace  string
	ColumnName string
	// Model is kwargs.model, a Jinja string such as
	// "{{ get_where_subquery(ref('stg_x')) }}".
	Model string
}

// ManifestOwner is an exposure's or group's owner.
type ManifestOwner struct {
	Name  string
	Email string
}

type nodeJSON struct {
	UniqueID         string          `json:"unique_id"`
	ResourceType     string          `json:"resource_type"`
	Name             flexString      `json:"name"`
	PackageName      string          `json:"package_name"`
	Description      string          `json:"description"`
	Database         flexString      `json:"database"`
	Schema           flexString      `json:"schema"`
	Alias            flexString      `json:"alias"`
	Identifier       flexString      `json:"identifier"`
	RelationName     string          `json:"relation_name"`
	Quoting          *Quoting        `json:"quoting"`
	Path             string          `json:"path"`
	OriginalFilePath string          `json:"original_file_path"`
	RawCode          string          `json:"raw_code"`
	RawSQL           string          `json:"raw_sql"`
	CompiledCode     string          `json:"compiled_code"`
	CompiledSQL      string          `json:"compiled_sql"`
	Language         string          `json:"language"`
	Checksum         *checksumJSON   `json:"checksum"`
	Tags             stringList      `json:"tags"`
	Meta             json.RawMessage `json:"meta"`
	Config           *configJSON     `json:"config"`
	Access           flexString      `json:"access"`
	Group            flexString      `json:"group"`
	Version          flexString      `json:"version"`
	DependsOn        *struct {
		Nodes stringList `json:"nodes"`
	} `json:"depends_on"`
	Columns      columnsJSON `json:"columns"`
	TestMetadata *struct {
		Name      string     `json:"name"`
		Namespace flexString `json:"namespace"`
		Kwargs    *struct {
			ColumnName flexString `json:"column_name"`
			Model      flexString `json:"model"`
		} `json:"kwargs"`
	} `json:"test_metadata"`
	ColumnName    flexString      `json:"column_name"`
	AttachedNode  string          `json:"attached_node"`
	SourceName    string          `json:"source_name"`
	Loader        string          `json:"loader"`
	LoadedAtField string          `json:"loaded_at_field"`
	Freshness     json.RawMessage `json:"freshness"`
	Owner         json.RawMessage `json:"owner"`
	URL           string          `json:"url"`
	Label         flexString      `json:"label"`
	Maturity      string          `json:"maturity"`
	Type          flexString      `json:"type"`
	CalcMethod    flexString      `json:"calculation_method"`
	Model         flexString      `json:"model"`
	NodeRelation  *struct {
		Alias        string `json:"alias"`
		SchemaName   string `json:"schema_name"`
		Database     string `json:"database"`
		RelationName string `json:"relation_name"`
	} `json:"node_relation"`
}

type checksumJSON struct {
	Name     string `json:"name"`
	Checksum string `json:"checksum"`
}

type configJSON struct {
	Enabled      *flexBool       `json:"enabled"`
	Materialized string          `json:"materialized"`
	Tags         stringList      `json:"tags"`
	Meta         json.RawMessage `json:"meta"`
	Severity     flexString      `json:"severity"`
	Access       flexString      `json:"access"`
	Group        flexString      `json:"group"`
	Quoting      *Quoting        `json:"quoting"`
}

// columnsJSON decodes the columns map keeping declaration order.
type columnsJSON []ManifestColumn

type columnJSON struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	DataType    flexString      `json:"data_type"`
	Tags        stringList      `json:"tags"`
	Meta        json.RawMessage `json:"meta"`
	Quote       *flexBool       `json:"quote"`
}

// UnmarshalJSON implements json.Unmarshaler. b is valid JSON.
func (c *columnsJSON) UnmarshalJSON(b []byte) error {
	*c = nil
	return eachMember(b, func(key, raw []byte) error {
		var col columnJSON
		if !isObject(raw) || decodeEntry(columnSpec, &col, raw) != nil {
			return nil
		}
		name := col.Name
		if name == "" {
			name = memberKey(key)
		}
		mc := ManifestColumn{
			Name:        name,
			Description: col.Description,
			DataType:    string(col.DataType),
			Tags:        col.Tags,
			Meta:        col.Meta,
		}
		if col.Quote != nil {
			mc.Quote = bool(*col.Quote)
		}
		*c = append(*c, mc)
		return nil
	})
}

// Field tables of the entry types, built once.
var (
	nodeSpec   = newStructSpec(reflect.TypeFor[nodeJSON]())
	columnSpec = newStructSpec(reflect.TypeFor[columnJSON]())
)

func (n *nodeJSON) toNode(section, key string) ManifestNode {
	out := ManifestNode{
		Section:          section,
		UniqueID:         n.UniqueID,
		ResourceType:     n.ResourceType,
		Name:             string(n.Name),
		PackageName:      n.PackageName,
		Description:      n.Description,
		Database:         string(n.Database),
		Schema:           string(n.Schema),
		Alias:            string(n.Alias),
		Identifier:       string(n.Identifier),
		RelationName:     n.RelationName,
		Path:             n.Path,
		OriginalFilePath: n.OriginalFilePath,
		RawCode:          NewText(firstNonEmpty(n.RawCode, n.RawSQL)),
		CompiledCode:     NewText(firstNonEmpty(n.CompiledCode, n.CompiledSQL)),
		Language:         n.Language,
		Tags:             n.Tags,
		Meta:             n.Meta,
		Access:           string(n.Access),
		Group:            string(n.Group),
		Version:          string(n.Version),
		Columns:          n.Columns,
		ColumnName:       string(n.ColumnName),
		AttachedNode:     n.AttachedNode,
		SourceName:       n.SourceName,
		Loader:           n.Loader,
		LoadedAtField:    n.LoadedAtField,
		Freshness:        n.Freshness,
		URL:              n.URL,
		Label:            string(n.Label),
		Maturity:         n.Maturity,
		Kind:             firstNonEmpty(string(n.CalcMethod), string(n.Type)),
		Model:            string(n.Model),
	}
	if out.UniqueID == "" {
		out.UniqueID = key
	}
	if out.ResourceType == "" {
		out.ResourceType = sectionType(section, out.UniqueID)
	}
	if n.Quoting != nil {
		out.Quoting = *n.Quoting
	}
	if n.Checksum != nil {
		out.Checksum, out.ChecksumName = n.Checksum.Checksum, n.Checksum.Name
	}
	if n.Config != nil {
		c := n.Config
		out.Config = NodeConfig{
			Materialized: c.Materialized,
			Tags:         c.Tags,
			Meta:         c.Meta,
			Severity:     string(c.Severity),
			Access:       string(c.Access),
			Group:        string(c.Group),
		}
		if c.Enabled != nil {
			e := bool(*c.Enabled)
			out.Config.Enabled = &e
		}
		if c.Quoting != nil {
			out.Config.Quoting = *c.Quoting
		}
	}
	if n.DependsOn != nil {
		out.DependsOn = n.DependsOn.Nodes
	}
	if tm := n.TestMetadata; tm != nil {
		out.TestMetadata = &TestMetadata{Name: tm.Name, Namespace: string(tm.Namespace)}
		if tm.Kwargs != nil {
			out.TestMetadata.ColumnName = string(tm.Kwargs.ColumnName)
			out.TestMetadata.Model = string(tm.Kwargs.Model)
		}
	}
	if nr := n.NodeRelation; nr != nil && out.ResourceType == string(TypeSemanticModel) {
		out.Database, out.Schema, out.Alias, out.RelationName = nr.Database, nr.SchemaName, nr.Alias, nr.RelationName
	}
	out.Owner = decodeOwner(n.Owner)
	return out
}

// decodeOwner reads an owner given as {name, email} or as a plain string.
func decodeOwner(raw json.RawMessage) ManifestOwner {
	if len(raw) == 0 {
		return ManifestOwner{}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return ManifestOwner{Name: s}
	}
	var o struct {
		Name  flexString `json:"name"`
		Email flexString `json:"email"`
	}
	_ = unmarshalEntry(raw, &o)
	return ManifestOwner{Name: string(o.Name), Email: string(o.Email)}
}

// sectionType is the resource type implied by a manifest section or id.
func sectionType(section, id string) string {
	switch section {
	case "sources":
		return string(TypeSource)
	case "exposures":
		return string(TypeExposure)
	case "metrics":
		return string(TypeMetric)
	case "semantic_models":
		return string(TypeSemanticModel)
	case "saved_queries":
		return string(TypeSavedQuery)
	case "unit_tests":
		return string(TypeUnitTest)
	case "groups":
		return "group"
	}
	if t, _, ok := strings.Cut(id, "."); ok {
		return t
	}
	return ""
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// manifestSections are the top-level manifest maps decoded node by node.
var manifestSections = []string{"nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests", "groups"}

// DecodeManifest streams manifest.json from r, calling fn once per entry of
// nodes, sources, exposures, metrics, semantic_models, saved_queries,
// unit_tests, groups and disabled (a list in v1, a map of lists from v4),
// one entry in memory at a time. macros, docs, parent_map, child_map and
// every other key are skipped without being materialised.
//
// The metadata may appear anywhere in the object (dbt Fusion sorts keys),
// so fn may already have been called when the metadata reveals the wrong
// kind or version: on error, discard every node received. Errors are
// *ArtifactError wrapping ErrTruncated, ErrInvalidJSON, ErrWrongKind,
// ErrUnsupportedVersion, ErrNoMetadata, ErrTooDeep or ErrTooLarge, or the
// error fn returned.
func DecodeManifest(r io.Reader, opts DecodeOptions, fn func(ManifestNode) error) (ArtifactMeta, error) {
	return walkManifest(r, opts, func(section, key string, raw []byte) error {
		var n nodeJSON
		if err := decodeEntry(nodeSpec, &n, raw); err != nil {
			return err
		}
		node := n.toNode(section, key)
		if section == "disabled" {
			f := false
			node.Config.Enabled = &f
		}
		return fn(node)
	})
}
