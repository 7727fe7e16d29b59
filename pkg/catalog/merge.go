package catalog

import (
	"encoding/json"
	"slices"
	"strings"
)

// mergeMeta merges a node's meta with its config.meta into canonical JSON
// (sorted keys, NUL-free). On a key present in both, the node-level meta
// wins. It returns nil when both are empty.
func mergeMeta(node, config json.RawMessage) json.RawMessage {
	var a, b map[string]json.RawMessage
	if isObject(node) && !isEmptyObject(node) {
		_ = json.Unmarshal(node, &a)
	}
	if isObject(config) && !isEmptyObject(config) {
		_ = json.Unmarshal(config, &b)
	}
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	merged := make(map[string]json.RawMessage, len(a)+len(b))
	for k, v := range b {
		merged[k] = v
	}
	for k, v := range a {
		merged[k] = v
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return nil
	}
	return canonicalJSON(raw)
}

// ownerFromMeta reads meta.owner given as a string, a list of strings or an
// object with email or name.
func ownerFromMeta(meta json.RawMessage) string {
	if !isObject(meta) || isEmptyObject(meta) {
		return ""
	}
	var m struct {
		Owner json.RawMessage `json:"owner"`
	}
	if json.Unmarshal(meta, &m) != nil || len(m.Owner) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(m.Owner, &s) == nil {
		return strings.TrimSpace(s)
	}
	var list []flexString
	if json.Unmarshal(m.Owner, &list) == nil {
		var names []string
		for _, v := range list {
			if t := strings.TrimSpace(string(v)); t != "" {
				names = append(names, t)
			}
		}
		return strings.Join(names, ", ")
	}
	return decodeOwner(m.Owner).preferred()
}

// colPlan is one column of an asset as planColumns decides it: the
// position of its catalog column and of its YAML column, -1 for none.
type colPlan struct {
	cat, yaml int32
}

// smallColumns is the number of columns up to which planColumns matches
// names by scanning lists; larger assets use maps.
const smallColumns = 64

// planColumns decides how the YAML columns of an asset merge with its
// catalog table and appends one colPlan per resulting column to plan.
// Catalog columns come first in the catalog's order, keeping the
// catalog's spelling; YAML columns are matched to them exactly, then
// case-insensitively (strings.ToLower), the first match winning, and
// contribute description, tags and meta. YAML columns missing from the
// catalog follow in declaration order. makeColumns turns the plan into
// Columns.
func (st *build) planColumns(plan []colPlan, yaml []stagedColumn, table *stagedTable) []colPlan {
	var cols []CatalogColumn
	if table != nil {
		cols = table.Columns
	}
	if len(yaml) > smallColumns || len(cols) > smallColumns {
		return st.planColumnsMapped(plan, yaml, cols)
	}
	// Assets have a few dozen columns: lists on the stack, scanned.
	var usedBuf [smallColumns]bool
	var seenBuf [2 * smallColumns]string // sanitised names planned so far
	var lowerBuf [smallColumns]string    // YAML names lower-cased, on first use
	used, seen, lower := usedBuf[:len(yaml)], seenBuf[:0], lowerBuf[:0]
	for ci := range cols {
		c := &cols[ci]
		name := st.s(c.Name)
		if slices.Contains(seen, name) {
			continue
		}
		seen = append(seen, name)
		p := colPlan{cat: int32(ci), yaml: -1}
		yi := -1
		for i := range yaml {
			if yaml[i].Name == c.Name {
				yi = i
				break
			}
		}
		if yi < 0 || used[yi] {
			if len(lower) == 0 {
				for i := range yaml {
					lower = append(lower, strings.ToLower(yaml[i].Name))
				}
			}
			yi = slices.Index(lower, strings.ToLower(c.Name))
		}
		if yi >= 0 && !used[yi] {
			used[yi] = true
			p.yaml = int32(yi)
		}
		plan = append(plan, p)
	}
	for i := range yaml {
		name := st.s(yaml[i].Name)
		if used[i] || name == "" || slices.Contains(seen, name) {
			continue
		}
		seen = append(seen, name)
		plan = append(plan, colPlan{cat: -1, yaml: int32(i)})
	}
	return plan
}

// planColumnsMapped is planColumns for assets with many columns, whose
// names it indexes by maps.
func (st *build) planColumnsMapped(plan []colPlan, yaml []stagedColumn, cols []CatalogColumn) []colPlan {
	used := make([]bool, len(yaml))
	var seen map[string]bool // sanitised names planned so far
	if len(cols) > 0 {
		exact := make(map[string]int, len(yaml))
		folded := make(map[string]int, len(yaml))
		for i, y := range yaml {
			if _, ok := exact[y.Name]; !ok {
				exact[y.Name] = i
			}
			if _, ok := folded[strings.ToLower(y.Name)]; !ok {
				folded[strings.ToLower(y.Name)] = i
			}
		}
		seen = make(map[string]bool, len(cols))
		for ci, c := range cols {
			name := st.s(c.Name)
			if seen[name] {
				continue
			}
			seen[name] = true
			p := colPlan{cat: int32(ci), yaml: -1}
			yi, ok := exact[c.Name]
			if !ok || used[yi] {
				yi, ok = folded[strings.ToLower(c.Name)]
			}
			if ok && !used[yi] {
				used[yi] = true
				p.yaml = int32(yi)
			}
			plan = append(plan, p)
		}
	}
	for i, y := range yaml {
		name := st.s(y.Name)
		if used[i] || name == "" || seen[name] {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[name] = true
		plan = append(plan, colPlan{cat: -1, yaml: int32(i)})
	}
	return plan
}

// makeColumns appends the columns plan describes to out and returns it.
// cols are the catalog table's columns: ordinals are 1-based, so columns
// whose indexes start at 0 are shifted by one; YAML-only columns have
// ordinal 0. Names were counted as sanitised by planColumns.
func (st *build) makeColumns(out []Column, assetID string, yaml []stagedColumn, cols []CatalogColumn, plan []colPlan) []Column {
	shift := 0
	for _, c := range cols {
		if c.Index == 0 {
			shift = 1
			break
		}
	}
	for _, p := range plan {
		if p.cat < 0 {
			y := &yaml[p.yaml]
			out = append(out, Column{
				AssetUniqueID: assetID,
				Name:          clean(y.Name),
				DataType:      st.s(y.DataType),
				Description:   st.s(y.Description),
				Tags:          st.sortedTags(y.tags()),
				Meta:          y.meta(),
			})
			continue
		}
		c := &cols[p.cat]
		ord := c.Index + shift
		if ord < 0 {
			ord = 0
		}
		col := Column{AssetUniqueID: assetID, Name: clean(c.Name), DataType: st.s(c.Type), Ordinal: ord, Comment: st.s(c.Comment)}
		if p.yaml >= 0 {
			y := &yaml[p.yaml]
			col.Description = st.s(y.Description)
			col.Tags = st.sortedTags(y.tags())
			col.Meta = y.meta()
			if col.DataType == "" {
				col.DataType = st.s(y.DataType)
			}
		}
		out = append(out, col)
	}
	return out
}
