package catalog

import (
	"bytes"
	"io"
	"slices"
	"unicode/utf8"
)

// This file decodes catalog.json entries straight into the staged form
// the Builder keeps: the same stagedTable as decoding the entry with
// decodeEntry into a catalogTableJSON, converting it with toTable and
// staging it with interner.stageTable, read in one pass from the scanner.

// tableRaw accumulates the members of one catalog entry. The metadata
// members are flex; unique_id is a string member.
type tableRaw struct {
	uniqueID                                    span
	typ, database, schema, name, comment, owner span
}

// mapEntryRaw is one member of a table's columns or stats map: its key,
// whether it was null (which removes the key), and its members: name,
// type, index and comment of a column; id, label, value, include and
// description of a stat.
type mapEntryRaw struct {
	key  span
	null bool
	a, b span // column: name, type; stat: id, label
	c, d span // column: index, comment; stat: value, include
	e    span // stat: description
}

// tableDecoder stages catalog entries into an interner, consuming each
// entry from the scanner and reusing its scratch space.
type tableDecoder struct {
	in    *interner
	s     *scanner
	depth int // of the entry object being read
	t     tableRaw
	cols  []mapEntryRaw
	stats []mapEntryRaw
	keep  []bool          // scratch: which map entries survive
	keys  []keyOf         // scratch: their keys
	sel   []CatalogStat   // scratch: the stats staging reads
	out   []CatalogColumn // scratch: the columns being sorted
}

// read consumes the catalog entry object whose '{' is next, a container
// at depth.
func (d *tableDecoder) read(depth int) error {
	d.t = tableRaw{}
	d.cols, d.stats = d.cols[:0], d.stats[:0]
	d.depth = depth
	return d.s.object(depth, d.member)
}

// member consumes one member of the entry object.
func (d *tableDecoder) member(key span) error {
	s, t, at := d.s, &d.t, d.depth
	switch memberName(s.at(key)) {
	case mkUniqueID:
		return s.keepString(at, &t.uniqueID)
	case mkMetadata:
		_, err := s.structValue(at, func() {
			t.typ, t.database, t.schema, t.name, t.comment, t.owner = span{}, span{}, span{}, span{}, span{}, span{}
		}, func(key span) error {
			var dst *span
			switch memberName(s.at(key)) {
			case mkType:
				dst = &t.typ
			case mkDatabase:
				dst = &t.database
			case mkSchema:
				dst = &t.schema
			case mkName:
				dst = &t.name
			case mkComment:
				dst = &t.comment
			case mkOwner:
				dst = &t.owner
			default:
				return s.value(at + 1)
			}
			return s.keep(at+1, dst)
		})
		return err
	case mkColumns:
		return d.mapValue(at, &d.cols, d.columnMember)
	case mkStats:
		return d.mapValue(at, &d.stats, d.statMember)
	}
	return s.value(at)
}

// mapValue consumes a value at depth that decodes into a map of pointers
// to structs, as decodeField does: null empties the map, an object adds
// its members (fn reads the members of each object member into the
// entry last appended), anything else is skipped.
func (d *tableDecoder) mapValue(depth int, entries *[]mapEntryRaw, fn func(key span) error) error {
	s := d.s
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	switch c {
	case 'n':
		*entries = (*entries)[:0]
		return s.value(depth)
	case '{':
	default:
		return s.value(depth)
	}
	return s.object(depth+1, func(key span) error {
		c, err := s.peekIn()
		if err != nil {
			return err
		}
		*entries = append(*entries, mapEntryRaw{key: key, null: c == 'n'})
		if c != '{' {
			return s.value(depth + 1)
		}
		return s.object(depth+2, fn)
	})
}

// columnMember consumes one member of a column object.
func (d *tableDecoder) columnMember(key span) error {
	s, e, at := d.s, &d.cols[len(d.cols)-1], d.depth+2
	var dst *span
	switch memberName(s.at(key)) {
	case mkName:
		dst = &e.a
	case mkType:
		dst = &e.b
	case mkIndex:
		dst = &e.c
	case mkComment:
		dst = &e.d
	default:
		return s.value(at)
	}
	return s.keep(at, dst)
}

// statMember consumes one member of a stat object.
func (d *tableDecoder) statMember(key span) error {
	s, e, at := d.s, &d.stats[len(d.stats)-1], d.depth+2
	var dst *span
	switch memberName(s.at(key)) {
	case mkID:
		dst = &e.a
	case mkLabel:
		dst = &e.b
	case mkValue:
		dst = &e.c
	case mkInclude:
		dst = &e.d
	case mkDescription:
		dst = &e.e
	default:
		return s.value(at)
	}
	return s.keep(at, dst)
}

// survivors sets d.keep[i] for the entries a map would hold after the
// assignments in order: the last entry of each key, unless it is null.
func (d *tableDecoder) survivors(entries []mapEntryRaw) []bool {
	keep := slices.Grow(d.keep[:0], len(entries))[:len(entries)]
	d.keep = keep
	v := d.s.at
	if len(entries) > 64 {
		clear(keep)
		last := make(map[string]int, len(entries))
		for i := range entries {
			last[memberKey(v(entries[i].key))] = i
		}
		for _, i := range last {
			keep[i] = !entries[i].null
		}
		return keep
	}
	// Keys memberKey returns as they are compare as bytes; the others
	// (escaped or invalid UTF-8, rare) are decoded once.
	keys := d.keys[:0]
	for i := range entries {
		raw := v(entries[i].key)
		if plainKey(raw) {
			keys = append(keys, keyOf{raw: raw})
		} else {
			keys = append(keys, keyOf{decoded: memberKey(raw), escaped: true})
		}
	}
	for i := range entries {
		keep[i] = !entries[i].null
		for j := i + 1; j < len(entries) && keep[i]; j++ {
			if keys[i].equal(keys[j]) {
				keep[i] = false
			}
		}
	}
	clear(keys)
	d.keys = keys[:0]
	return keep
}

// keyOf is a map key as survivors compares it: its raw bytes when they
// need no decoding, else the decoded key.
type keyOf struct {
	raw     []byte
	decoded string
	escaped bool
}

func (k keyOf) equal(o keyOf) bool {
	switch {
	case !k.escaped && !o.escaped:
		return string(k.raw) == string(o.raw)
	case k.escaped && o.escaped:
		return k.decoded == o.decoded
	case k.escaped:
		return k.decoded == string(o.raw)
	}
	return string(k.raw) == o.decoded
}

// plainKey reports whether memberKey returns the raw key as it is.
func plainKey(raw []byte) bool {
	return bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw)
}

// stage converts the entry read last, found under key, into its staged
// form.
func (d *tableDecoder) stage(key string) stagedTable {
	in, t, v := d.in, &d.t, d.s.at
	st := stagedTable{
		UniqueID: strOf(v(t.uniqueID)),
		Type:     in.flexBytes(v(t.typ)),
		Database: in.flexBytes(v(t.database)),
		Schema:   in.flexBytes(v(t.schema)),
		Name:     flexOf(v(t.name)),
		Comment:  flexOf(v(t.comment)),
		Owner:    in.flexBytes(v(t.owner)),
	}
	if st.UniqueID == "" {
		st.UniqueID = key
	}
	if len(d.cols) > 0 {
		keep := d.survivors(d.cols)
		out := d.out[:0]
		for i := range d.cols {
			if !keep[i] {
				continue
			}
			e := &d.cols[i]
			c := CatalogColumn{Name: in.cache.flex(v(e.a)), Type: in.flexBytes(v(e.b)), Comment: in.cache.flex(v(e.d))}
			if c.Name == "" {
				c.Name = memberKey(v(e.key))
			}
			if raw := v(e.c); raw != nil {
				if idx, ok := flexInt64(raw); ok {
					c.Index = int(idx)
				}
			}
			out = append(out, c)
		}
		if len(out) > 0 {
			slices.SortFunc(out, compareColumns)
			st.Columns = slices.Clone(out)
		}
		d.out = out[:0]
	}
	if len(d.stats) > 0 {
		keep := d.survivors(d.stats)
		sel := d.sel[:0]
		for i := range d.stats {
			if !keep[i] {
				continue
			}
			e := &d.stats[i]
			id := in.flexBytes(v(e.a))
			if id == "" {
				id = memberKey(v(e.key))
			}
			if !sizeStats[id] {
				continue
			}
			sel = append(sel, CatalogStat{ID: id, Label: flexOf(v(e.b)), Value: v(e.c), Include: e.d.b != 0 && flexBoolOf(v(e.d)), Description: flexOf(v(e.e))})
		}
		if len(sel) > 0 {
			slices.SortFunc(sel, compareStats)
			st.RowCount = statInt(sel, "row_count", "num_rows", "rows")
			st.Bytes = statInt(sel, "bytes", "num_bytes", "size_bytes")
		}
		clear(sel)
		d.sel = sel[:0]
	}
	return st
}

// sizeStats are the stat ids stageTable reads.
var sizeStats = map[string]bool{"row_count": true, "num_rows": true, "rows": true, "bytes": true, "num_bytes": true, "size_bytes": true}

// streamCatalog streams catalog.json from r as DecodeCatalog does,
// reading every entry of nodes and sources with d and calling fn with its
// map key once it is read; d's values are only valid during the call.
func streamCatalog(r io.Reader, opts DecodeOptions, d *tableDecoder, fn func(key string) error) (ArtifactMeta, error) {
	w := newWalkerBuf(r, KindCatalog, opts, d.in.bufs.take())
	defer d.in.bufs.give(w)
	d.s = w.s
	s := w.s
	w.streams = map[string]streamFunc{}
	for _, section := range catalogSections {
		w.streams[section] = func(key string, c byte) error {
			if c != '{' {
				return s.value(2)
			}
			if err := d.read(3); err != nil {
				return err
			}
			w.meta.Entries++
			return fn(key)
		}
	}
	return w.run(map[string]entryFunc{"errors": catalogErrors(w)}, catalogForeign, nil)
}
