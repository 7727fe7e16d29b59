package catalog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strconv"
)

// CatalogTable is one entry of catalog.json: a warehouse relation as dbt
// docs generate found it.
type CatalogTable struct {
	// Section is "nodes" or "sources".
	Section string
	// UniqueID is the entry's unique_id, or its map key when absent.
	UniqueID string
	// Type is metadata.type as written ("BASE TABLE", "view", ...).
	Type     string
	Database string
	Schema   string
	Name     string
	Comment  string
	Owner    string
	// Columns are sorted by Index, then name (then type and comment, so
	// the order is always the same). Index is as written (0-based on
	// Databricks).
	Columns []CatalogColumn
	// Stats are sorted by ID (then value, label, description and include,
	// so the order is always the same).
	Stats []CatalogStat
}

// CatalogColumn is one physical column.
type CatalogColumn struct {
	Name    string
	Type    string
	Index   int
	Comment string
}

// CatalogStat is one catalog statistic. Value is the raw JSON value: dbt
// writes numbers as ints, floats, strings or false depending on adapter.
type CatalogStat struct {
	ID          string
	Label       string
	Value       json.RawMessage
	Include     bool
	Description string
}

// Int64 returns the stat's value as an integer when it is a number or a
// numeric string.
func (s CatalogStat) Int64() (int64, bool) { return parseInt64(s.Value) }

type catalogTableJSON struct {
	UniqueID string `json:"unique_id"`
	Metadata *struct {
		Type     flexString `json:"type"`
		Database flexString `json:"database"`
		Schema   flexString `json:"schema"`
		Name     flexString `json:"name"`
		Comment  flexString `json:"comment"`
		Owner    flexString `json:"owner"`
	} `json:"metadata"`
	Columns map[string]*struct {
		Name    flexString `json:"name"`
		Type    flexString `json:"type"`
		Index   flexInt    `json:"index"`
		Comment flexString `json:"comment"`
	} `json:"columns"`
	Stats map[string]*struct {
		ID          flexString      `json:"id"`
		Label       flexString      `json:"label"`
		Value       json.RawMessage `json:"value"`
		Include     flexBool        `json:"include"`
		Description flexString      `json:"description"`
	} `json:"stats"`
}

func (t *catalogTableJSON) toTable(section, key string) CatalogTable {
	out := CatalogTable{Section: section, UniqueID: t.UniqueID}
	if out.UniqueID == "" {
		out.UniqueID = key
	}
	if m := t.Metadata; m != nil {
		out.Type, out.Database, out.Schema, out.Name = string(m.Type), string(m.Database), string(m.Schema), string(m.Name)
		out.Comment, out.Owner = string(m.Comment), string(m.Owner)
	}
	for k, c := range t.Columns {
		if c == nil {
			continue
		}
		name := string(c.Name)
		if name == "" {
			name = k
		}
		idx := 0
		if c.Index.Set {
			idx = int(c.Index.V)
		}
		out.Columns = append(out.Columns, CatalogColumn{Name: name, Type: string(c.Type), Index: idx, Comment: string(c.Comment)})
	}
	slices.SortFunc(out.Columns, compareColumns)
	for k, s := range t.Stats {
		if s == nil {
			continue
		}
		id := string(s.ID)
		if id == "" {
			id = k
		}
		out.Stats = append(out.Stats, CatalogStat{ID: id, Label: string(s.Label), Value: s.Value, Include: bool(s.Include), Description: string(s.Description)})
	}
	slices.SortFunc(out.Stats, compareStats)
	return out
}

// compareColumns orders catalog columns by index, then name; the other
// fields break ties, so that the order never depends on the map's.
func compareColumns(a, b CatalogColumn) int {
	return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Type, b.Type), cmp.Compare(a.Comment, b.Comment))
}

// compareStats orders catalog stats by id; the other fields break ties,
// so that the order never depends on the map's.
func compareStats(a, b CatalogStat) int {
	return cmp.Or(cmp.Compare(a.ID, b.ID), bytes.Compare(a.Value, b.Value), cmp.Compare(a.Label, b.Label),
		cmp.Compare(a.Description, b.Description), compareBool(a.Include, b.Include))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// catalogTableSpec is the field table of catalogTableJSON, built once.
var catalogTableSpec = newStructSpec(reflect.TypeFor[catalogTableJSON]())

// DecodeCatalog streams catalog.json from r, calling fn once per entry of
// nodes and sources, one entry in memory at a time. The errors list is
// returned in ArtifactMeta.CatalogErrors. Errors are as for DecodeManifest.
func DecodeCatalog(r io.Reader, opts DecodeOptions, fn func(CatalogTable) error) (ArtifactMeta, error) {
	w := newWalker(r, KindCatalog, opts)
	handlers := map[string]entryFunc{"errors": catalogErrors(w)}
	for _, section := range catalogSections {
		handlers[section] = func(key string, raw []byte) error {
			if !isObject(raw) {
				return nil
			}
			var t catalogTableJSON
			if err := decodeEntry(catalogTableSpec, &t, raw); err != nil {
				return err
			}
			w.meta.Entries++
			return fn(t.toTable(section, key))
		}
	}
	return w.run(handlers, catalogForeign, nil)
}

// catalogSections are the top-level catalog maps decoded table by table.
var catalogSections = []string{"nodes", "sources"}

// catalogForeign are the top-level keys that betray another artifact than
// catalog.json.
var catalogForeign = map[string]string{
	"results": "run_results.json or sources.json", "macros": "manifest.json",
	"parent_map": "manifest.json", "child_map": "manifest.json", "exposures": "manifest.json",
}

// catalogErrors returns the handler of catalog.json's errors list, which
// collects them in w's ArtifactMeta.CatalogErrors.
func catalogErrors(w *walker) entryFunc {
	return func(_ string, raw []byte) error {
		var s flexString
		if err := s.UnmarshalJSON(raw); err == nil && s != "" {
			w.meta.CatalogErrors = append(w.meta.CatalogErrors, clean(string(s)))
		} else if len(raw) > 0 && raw[0] != 'n' {
			w.meta.CatalogErrors = append(w.meta.CatalogErrors, clean(strconv.Quote(string(raw))))
		}
		return nil
	}
}
