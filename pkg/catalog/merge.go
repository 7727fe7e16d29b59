package catalog

import (
	"encoding/json"
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

// mergeColumns merges the YAML columns of an asset with its catalog table.
// Catalog columns come first in ordinal order (1-based: a table whose
// indexes start at 0 is shifted by one) and keep the catalog's spelling;
// YAML columns are matched to them exactly, then case-insensitively, and
// contribute description, tags and meta. YAML columns missing from the
// catalog follow in declaration order with ordinal 0.
//
// The columns are appended to out, which is returned.
func (st *build) mergeColumns(out []Column, assetID string, yaml []stagedColumn, table *stagedTable) []Column {
	first := len(out)
	used := make([]bool, len(yaml))
	if table != nil && len(table.Columns) > 0 {
		shift := 0
		for _, c := range table.Columns {
			if c.Index == 0 {
				shift = 1
				break
			}
		}
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
		seen := map[string]bool{}
		for _, c := range table.Columns {
			name := st.s(c.Name)
			if seen[name] {
				continue
			}
			seen[name] = true
			ord := c.Index + shift
			if ord < 0 {
				ord = 0
			}
			col := Column{AssetUniqueID: assetID, Name: name, DataType: st.s(c.Type), Ordinal: ord, Comment: st.s(c.Comment)}
			yi, ok := exact[c.Name]
			if !ok || used[yi] {
				yi, ok = folded[strings.ToLower(c.Name)]
			}
			if ok && !used[yi] {
				used[yi] = true
				y := yaml[yi]
				col.Description = st.s(y.Description)
				col.Tags = st.sortedTags(y.tags())
				col.Meta = y.meta()
				if col.DataType == "" {
					col.DataType = st.s(y.DataType)
				}
			}
			out = append(out, col)
		}
	}
	seen := map[string]bool{}
	for _, c := range out[first:] {
		seen[c.Name] = true
	}
	for i, y := range yaml {
		name := st.s(y.Name)
		if used[i] || name == "" || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, Column{
			AssetUniqueID: assetID,
			Name:          name,
			DataType:      st.s(y.DataType),
			Description:   st.s(y.Description),
			Tags:          st.sortedTags(y.tags()),
			Meta:          y.meta(),
		})
	}
	return out
}
