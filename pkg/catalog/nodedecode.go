package catalog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// This file decodes manifest entries straight into the staged form the
// Builder keeps. It gives the same stagedNode as decoding the entry with
// decodeEntry into a nodeJSON, converting it with toNode and staging it
// with interner.stage, in one pass over the entry as the scanner
// validates it: a member is found with a key switch, the value of a
// member staging uses is kept as a span of the entry and decoded once, at
// the end, when it is used; every other value is only validated.

// Member names of manifest and catalog entries and of the objects inside
// them. One name space serves every object; each object reacts to its own
// names only.
const (
	mkNone = iota
	mkUniqueID
	mkResourceType
	mkName
	mkPackageName
	mkDescription
	mkDatabase
	mkSchema
	mkAlias
	mkIdentifier
	mkRelationName
	mkQuoting
	mkPath
	mkOriginalFilePath
	mkRawCode
	mkRawSQL
	mkCompiledCode
	mkCompiledSQL
	mkLanguage
	mkChecksum
	mkTags
	mkMeta
	mkConfig
	mkAccess
	mkGroup
	mkVersion
	mkDependsOn
	mkColumns
	mkTestMetadata
	mkColumnName
	mkAttachedNode
	mkSourceName
	mkLoader
	mkOwner
	mkURL
	mkLabel
	mkMaturity
	mkType
	mkCalculationMethod
	mkNodeRelation
	mkEnabled
	mkMaterialized
	mkSeverity
	mkNodes
	mkNamespace
	mkKwargs
	mkModel
	mkSchemaName
	mkDataType
	mkMetadata
	mkStats
	mkComment
	mkIndex
	mkID
	mkValue
	mkInclude
)

// memberName names the member key raw (as eachMember gives it) the way
// structSpec.lookup matches it: exactly, else lower-cased after
// unescaping.
func memberName(raw []byte) int {
	if k := memberNameExact(raw); k != mkNone {
		return k
	}
	for _, c := range raw {
		if (c >= 'A' && c <= 'Z') || c == '\\' || c >= utf8.RuneSelf {
			return memberNameExact([]byte(strings.ToLower(memberKey(raw))))
		}
	}
	return mkNone
}

func memberNameExact(raw []byte) int {
	switch string(raw) {
	case "unique_id":
		return mkUniqueID
	case "resource_type":
		return mkResourceType
	case "name":
		return mkName
	case "package_name":
		return mkPackageName
	case "description":
		return mkDescription
	case "database":
		return mkDatabase
	case "schema":
		return mkSchema
	case "alias":
		return mkAlias
	case "identifier":
		return mkIdentifier
	case "relation_name":
		return mkRelationName
	case "quoting":
		return mkQuoting
	case "path":
		return mkPath
	case "original_file_path":
		return mkOriginalFilePath
	case "raw_code":
		return mkRawCode
	case "raw_sql":
		return mkRawSQL
	case "compiled_code":
		return mkCompiledCode
	case "compiled_sql":
		return mkCompiledSQL
	case "language":
		return mkLanguage
	case "checksum":
		return mkChecksum
	case "tags":
		return mkTags
	case "meta":
		return mkMeta
	case "config":
		return mkConfig
	case "access":
		return mkAccess
	case "group":
		return mkGroup
	case "version":
		return mkVersion
	case "depends_on":
		return mkDependsOn
	case "columns":
		return mkColumns
	case "test_metadata":
		return mkTestMetadata
	case "column_name":
		return mkColumnName
	case "attached_node":
		return mkAttachedNode
	case "source_name":
		return mkSourceName
	case "loader":
		return mkLoader
	case "owner":
		return mkOwner
	case "url":
		return mkURL
	case "label":
		return mkLabel
	case "maturity":
		return mkMaturity
	case "type":
		return mkType
	case "calculation_method":
		return mkCalculationMethod
	case "node_relation":
		return mkNodeRelation
	case "enabled":
		return mkEnabled
	case "materialized":
		return mkMaterialized
	case "severity":
		return mkSeverity
	case "nodes":
		return mkNodes
	case "namespace":
		return mkNamespace
	case "kwargs":
		return mkKwargs
	case "model":
		return mkModel
	case "schema_name":
		return mkSchemaName
	case "data_type":
		return mkDataType
	case "metadata":
		return mkMetadata
	case "stats":
		return mkStats
	case "comment":
		return mkComment
	case "index":
		return mkIndex
	case "id":
		return mkID
	case "value":
		return mkValue
	case "include":
		return mkInclude
	}
	return mkNone
}

// The values below are spans of the entry being streamed: the zero span
// when the member is absent (or, for a string member, never held a
// string). A string member (a Go string in the reference struct) only
// takes string values; a flex member (flexString, stringList,
// json.RawMessage) takes every value; a member that is a pointer to a
// struct is reset by null and merges the members of every object it is
// given.

// nodeRaw accumulates the members of one manifest entry.
type nodeRaw struct {
	// String members.
	uniqueID, resourceType, packageName, description, relationName     span
	path, originalFilePath, rawCode, rawSQL, compiledCode, compiledSQL span
	language, attachedNode, sourceName, loader, url, maturity          span
	// Flex members.
	name, database, schema, alias, identifier, access, group, version span
	columnName, label, typ, calcMethod, tags, meta, owner             span
	// Pointer-to-struct members.
	quoting                triQuoting
	checksumName, checksum span // strings
	cfg                    configRaw
	dependsOn              span // depends_on.nodes, flex
	haveTest, haveRelation bool
	test                   testRaw
	rel                    relationRaw
	// haveColumns is whether a columns member was an object; the
	// columns are in nodeDecoder.cols.
	haveColumns bool
}

// configRaw accumulates a node's config.
type configRaw struct {
	enabled      span // flexBool; zero when unset or null
	materialized span // string
	tags, meta   span // flex
	severity     span // flex
	access       span // flex
	group        span // flex
	quoting      triQuoting
}

// testRaw accumulates a node's test_metadata.
type testRaw struct {
	name              span // string
	namespace         span // flex
	kwColumn, kwModel span // kwargs, flex
}

// relationRaw accumulates a semantic model's node_relation (strings).
type relationRaw struct {
	alias, schemaName, database, relationName span
}

// columnRaw accumulates one YAML column.
type columnRaw struct {
	key                  span // the map key
	name, description    span // strings
	dataType, tags, meta span // flex
}

// nodeDecoder stages manifest entries into an interner, consuming each
// entry from the scanner and reusing its scratch space from entry to
// entry.
type nodeDecoder struct {
	in    *interner
	s     *scanner
	depth int // of the entry object being read
	n     nodeRaw
	cols  []columnRaw
	tags  []string // scratch: config.tags, depends_on.nodes
	tag2  []string // scratch: tags
	code  []byte   // scratch: decoded code
}

// read consumes the manifest entry object whose '{' is next, a container
// at depth, into d.n and d.cols.
func (d *nodeDecoder) read(depth int) error {
	d.n = nodeRaw{}
	d.cols = d.cols[:0]
	d.depth = depth
	return d.s.object(depth, d.member)
}

// member consumes one member of the entry object.
func (d *nodeDecoder) member(key span) error {
	s, n, at := d.s, &d.n, d.depth
	switch memberName(s.at(key)) {
	case mkUniqueID:
		return s.keepString(at, &n.uniqueID)
	case mkResourceType:
		return s.keepString(at, &n.resourceType)
	case mkName:
		return s.keep(at, &n.name)
	case mkPackageName:
		return s.keepString(at, &n.packageName)
	case mkDescription:
		return s.keepString(at, &n.description)
	case mkDatabase:
		return s.keep(at, &n.database)
	case mkSchema:
		return s.keep(at, &n.schema)
	case mkAlias:
		return s.keep(at, &n.alias)
	case mkIdentifier:
		return s.keep(at, &n.identifier)
	case mkRelationName:
		return s.keepString(at, &n.relationName)
	case mkQuoting:
		return d.quoting(at, &n.quoting)
	case mkPath:
		return s.keepString(at, &n.path)
	case mkOriginalFilePath:
		return s.keepString(at, &n.originalFilePath)
	case mkRawCode:
		return s.keepString(at, &n.rawCode)
	case mkRawSQL:
		return s.keepString(at, &n.rawSQL)
	case mkCompiledCode:
		return s.keepString(at, &n.compiledCode)
	case mkCompiledSQL:
		return s.keepString(at, &n.compiledSQL)
	case mkLanguage:
		return s.keepString(at, &n.language)
	case mkChecksum:
		_, err := s.structValue(at, func() { n.checksumName, n.checksum = span{}, span{} }, func(key span) error {
			switch memberName(s.at(key)) {
			case mkName:
				return s.keepString(at+1, &n.checksumName)
			case mkChecksum:
				return s.keepString(at+1, &n.checksum)
			}
			return s.value(at + 1)
		})
		return err
	case mkTags:
		return s.keep(at, &n.tags)
	case mkMeta:
		return s.keep(at, &n.meta)
	case mkConfig:
		_, err := s.structValue(at, func() { n.cfg = configRaw{} }, d.configMember)
		return err
	case mkAccess:
		return s.keep(at, &n.access)
	case mkGroup:
		return s.keep(at, &n.group)
	case mkVersion:
		return s.keep(at, &n.version)
	case mkDependsOn:
		_, err := s.structValue(at, func() { n.dependsOn = span{} }, func(key span) error {
			if memberName(s.at(key)) == mkNodes {
				return s.keep(at+1, &n.dependsOn)
			}
			return s.value(at + 1)
		})
		return err
	case mkColumns:
		return d.columns(at)
	case mkTestMetadata:
		c, err := s.structValue(at, func() { n.haveTest, n.test = false, testRaw{} }, d.testMember)
		if c != 'n' {
			n.haveTest = true
		}
		return err
	case mkColumnName:
		return s.keep(at, &n.columnName)
	case mkAttachedNode:
		return s.keepString(at, &n.attachedNode)
	case mkSourceName:
		return s.keepString(at, &n.sourceName)
	case mkLoader:
		return s.keepString(at, &n.loader)
	case mkOwner:
		return s.keep(at, &n.owner)
	case mkURL:
		return s.keepString(at, &n.url)
	case mkLabel:
		return s.keep(at, &n.label)
	case mkMaturity:
		return s.keepString(at, &n.maturity)
	case mkType:
		return s.keep(at, &n.typ)
	case mkCalculationMethod:
		return s.keep(at, &n.calcMethod)
	case mkNodeRelation:
		c, err := s.structValue(at, func() { n.haveRelation, n.rel = false, relationRaw{} }, func(key span) error {
			switch memberName(s.at(key)) {
			case mkAlias:
				return s.keepString(at+1, &n.rel.alias)
			case mkSchemaName:
				return s.keepString(at+1, &n.rel.schemaName)
			case mkDatabase:
				return s.keepString(at+1, &n.rel.database)
			case mkRelationName:
				return s.keepString(at+1, &n.rel.relationName)
			}
			return s.value(at + 1)
		})
		if c != 'n' {
			n.haveRelation = true
		}
		return err
	}
	return s.value(at)
}

// configMember consumes one member of the entry's config.
func (d *nodeDecoder) configMember(key span) error {
	s, c, at := d.s, &d.n.cfg, d.depth+1
	switch memberName(s.at(key)) {
	case mkEnabled:
		if ch, err := s.peekIn(); err != nil || ch == 'n' {
			c.enabled = span{}
			return s.value(at)
		}
		return s.keep(at, &c.enabled)
	case mkMaterialized:
		return s.keepString(at, &c.materialized)
	case mkTags:
		return s.keep(at, &c.tags)
	case mkMeta:
		return s.keep(at, &c.meta)
	case mkSeverity:
		return s.keep(at, &c.severity)
	case mkAccess:
		return s.keep(at, &c.access)
	case mkGroup:
		return s.keep(at, &c.group)
	case mkQuoting:
		return d.quoting(at, &c.quoting)
	}
	return s.value(at)
}

// testMember consumes one member of the entry's test_metadata.
func (d *nodeDecoder) testMember(key span) error {
	s, t, at := d.s, &d.n.test, d.depth+1
	switch memberName(s.at(key)) {
	case mkName:
		return s.keepString(at, &t.name)
	case mkNamespace:
		return s.keep(at, &t.namespace)
	case mkKwargs:
		_, err := s.structValue(at, func() { t.kwColumn, t.kwModel = span{}, span{} }, func(key span) error {
			switch memberName(s.at(key)) {
			case mkColumnName:
				return s.keep(at+1, &t.kwColumn)
			case mkModel:
				return s.keep(at+1, &t.kwModel)
			}
			return s.value(at + 1)
		})
		return err
	}
	return s.value(at)
}

// quoting consumes a quoting value at depth into q as decodeField does
// for a *Quoting: null clears it, an object sets the members it names.
func (d *nodeDecoder) quoting(depth int, q *triQuoting) error {
	s := d.s
	_, err := s.structValue(depth, func() { *q = triQuoting{} }, func(key span) error {
		i := -1
		switch memberName(s.at(key)) {
		case mkDatabase:
			i = 0
		case mkSchema:
			i = 1
		case mkIdentifier:
			i = 2
		}
		if i < 0 {
			return s.value(depth + 1)
		}
		c, err := s.peekIn()
		if err != nil {
			return err
		}
		q[i] = ptrBool(c, q[i])
		return s.value(depth + 1)
	})
	return err
}

// ptrBool is what decodeField leaves in a *bool holding cur after
// decoding a value starting with c.
func ptrBool(c byte, cur tri) tri {
	switch {
	case c == 'n':
		return 0
	case c == 't':
		return 2
	case c == 'f':
		return 1
	case cur == 0: // allocated before the type mismatch
		return 1
	}
	return cur
}

// columns consumes a columns value at depth as columnsJSON decodes it:
// every value replaces the columns; an object's object members are the
// columns.
func (d *nodeDecoder) columns(depth int) error {
	s := d.s
	d.cols = d.cols[:0]
	d.n.haveColumns = false
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	if c != '{' {
		return s.value(depth)
	}
	d.n.haveColumns = true
	return s.object(depth+1, func(key span) error {
		c, err := s.peekIn()
		if err != nil {
			return err
		}
		if c != '{' {
			return s.value(depth + 1)
		}
		d.cols = append(d.cols, columnRaw{key: key})
		col := &d.cols[len(d.cols)-1]
		at := depth + 2
		return s.object(at, func(key span) error {
			switch memberName(s.at(key)) {
			case mkName:
				return s.keepString(at, &col.name)
			case mkDescription:
				return s.keepString(at, &col.description)
			case mkDataType:
				return s.keep(at, &col.dataType)
			case mkTags:
				return s.keep(at, &col.tags)
			case mkMeta:
				return s.keep(at, &col.meta)
			}
			return s.value(at)
		})
	})
}

// strOf is the string a string member holds ("" when absent).
func strOf(raw []byte) string {
	if raw == nil {
		return ""
	}
	return unquote(raw)
}

// flexOf is the string a flex member holds ("" when absent).
func flexOf(raw []byte) string {
	if raw == nil {
		return ""
	}
	return flexStr(raw)
}

// stage converts the entry read last, found under key in section, into
// its staged form, as toNode and interner.stage convert a decoded
// nodeJSON.
func (d *nodeDecoder) stage(section, key string) stagedNode {
	in, n, v := d.in, &d.n, d.s.at

	uid := strOf(v(n.uniqueID))
	if uid == "" {
		uid = key
	}
	typ := in.strBytes(v(n.resourceType))
	if typ == "" {
		typ = in.str(sectionType(section, uid))
	}
	s := stagedNode{Section: in.str(section), UniqueID: uid, ResourceType: typ}
	if section == "groups" {
		s.Name = flexOf(v(n.name))
		if o := decodeOwner(v(n.owner)).preferred(); o != "" {
			s.x = &nodeExtra{Owner: o}
		}
		return s
	}
	if _, ok := assetTypes[typ]; !ok {
		return s // only its id and type are needed
	}
	if n.haveRelation && typ == string(TypeSemanticModel) {
		s.Database, s.Schema = in.strBytes(v(n.rel.database)), in.strBytes(v(n.rel.schemaName))
		s.Alias, s.RelationName = strOf(v(n.rel.alias)), strOf(v(n.rel.relationName))
	} else {
		s.Database, s.Schema = in.flexBytes(v(n.database)), in.flexBytes(v(n.schema))
		s.Alias, s.RelationName = flexOf(v(n.alias)), strOf(v(n.relationName))
	}
	s.Name = flexOf(v(n.name))
	s.PackageName = in.strBytes(v(n.packageName))
	s.Description = strOf(v(n.description))
	s.Path = normPath(strOf(firstRaw(v(n.originalFilePath), v(n.path))))
	s.RawCode = textOf(firstRaw(v(n.rawCode), v(n.rawSQL)), &d.code)
	s.CompiledCode = textOf(firstRaw(v(n.compiledCode), v(n.compiledSQL)), &d.code)
	s.Language = in.strBytes(v(n.language))
	if n.checksum.b != 0 && !strings.EqualFold(strOf(v(n.checksumName)), "none") {
		s.Checksum = strOf(v(n.checksum))
	}
	d.tags = d.flexList(d.tags[:0], v(n.cfg.tags))
	d.tag2 = d.flexList(d.tag2[:0], v(n.tags))
	s.Tags = in.list(d.tags, d.tag2)
	meta, metaOwner := in.mergedMeta(v(n.meta), v(n.cfg.meta))
	s.Meta = meta
	s.Materialized = in.strBytes(v(n.cfg.materialized))
	s.Severity = in.flexBytes(v(n.cfg.severity))
	s.Enabled = section != "disabled" && (n.cfg.enabled.b == 0 || flexBoolOf(v(n.cfg.enabled)))
	s.Quoting, s.ConfigQuoting = n.quoting, n.cfg.quoting
	if n.dependsOn.b != 0 {
		d.tags = d.flexList(d.tags[:0], v(n.dependsOn))
		if len(d.tags) > 0 {
			s.DependsOn = append([]string(nil), d.tags...)
		}
	}
	if n.haveColumns {
		s.Columns = d.stageColumns()
	}
	x := nodeExtra{
		Identifier: flexOf(v(n.identifier)),
		Access:     firstNonEmpty(in.flexBytes(v(n.access)), in.flexBytes(v(n.cfg.access))),
		Group:      firstNonEmpty(in.flexBytes(v(n.group)), in.flexBytes(v(n.cfg.group))),
		Version:    in.flexBytes(v(n.version)),
		Owner:      metaOwner,
		ColumnName: in.cache.flex(v(n.columnName)), AttachedNode: in.strBytes(v(n.attachedNode)),
		SourceName: in.strBytes(v(n.sourceName)), Loader: in.strBytes(v(n.loader)),
		URL: strOf(v(n.url)), Label: flexOf(v(n.label)), Maturity: in.strBytes(v(n.maturity)),
		Kind: firstNonEmpty(in.flexBytes(v(n.calcMethod)), in.flexBytes(v(n.typ))),
	}
	if x.Owner == "" {
		x.Owner = in.str(decodeOwner(v(n.owner)).preferred())
	}
	if n.haveTest {
		s.HasTestMetadata = true
		x.TestName, x.TestNamespace = in.strBytes(v(n.test.name)), in.flexBytes(v(n.test.namespace))
		x.TestColumn, x.TestModel = in.cache.flex(v(n.test.kwColumn)), in.cache.flex(v(n.test.kwModel))
	}
	if x != (nodeExtra{}) {
		s.x = new(nodeExtra) // x itself stays on the stack
		*s.x = x
	}
	return s
}

// firstRaw returns the first string member that holds a non-empty
// string, as firstNonEmpty does for the decoded strings.
func firstRaw(a, b []byte) []byte {
	if a != nil && !isEmptyString(a) {
		return a
	}
	return b
}

// isEmptyString reports whether the string literal q decodes to "".
func isEmptyString(q []byte) bool { return len(q) == 2 }

// flexBoolOf is the value a flexBool decodes val to.
func flexBoolOf(val []byte) bool {
	var v flexBool
	_ = v.UnmarshalJSON(val)
	return bool(v)
}

// flexList appends the strings a stringList decodes raw to (nothing for
// nil), interned.
func (d *nodeDecoder) flexList(dst []string, raw []byte) []string {
	if raw == nil {
		return dst
	}
	switch raw[0] {
	case '"':
		return append(dst, d.in.literal(raw))
	case '[':
		_ = eachElement(raw, func(e []byte) error {
			if v := d.in.flex(e); v != "" {
				dst = append(dst, v)
			}
			return nil
		})
	}
	return dst
}

// stageColumns stages the YAML columns read last.
func (d *nodeDecoder) stageColumns() []stagedColumn {
	if len(d.cols) == 0 {
		return nil
	}
	in, v := d.in, d.s.at
	out := make([]stagedColumn, len(d.cols))
	for i := range d.cols {
		c := &d.cols[i]
		sc := stagedColumn{Name: in.cache.literal(v(c.name)), Description: in.cache.literal(v(c.description)), DataType: in.flexBytes(v(c.dataType))}
		if sc.Name == "" {
			sc.Name = memberKey(v(c.key))
		}
		d.tags = d.flexList(d.tags[:0], v(c.tags))
		if tags, meta := in.list(d.tags), in.canonical(v(c.meta)); tags != nil || meta != nil {
			sc.x = &columnExtra{Tags: tags, Meta: meta}
		}
		out[i] = sc
	}
	return out
}

// memoLimit is the largest JSON value (in bytes) whose derived values the
// interner remembers; larger ones are rare and derived each time.
const memoLimit = 1024

// metaMemo is what a node's meta and config.meta give: the merged meta,
// interned, and the owner they name.
type metaMemo struct {
	merged json.RawMessage
	owner  string
}

// mergedMeta returns in.raw(mergeMeta(meta, cfg)) and the owner
// ownerFromMeta finds in meta, else in cfg, remembering both for small
// values.
func (in *interner) mergedMeta(meta, cfg []byte) (json.RawMessage, string) {
	if noMeta(meta) && noMeta(cfg) {
		return nil, ""
	}
	if len(meta)+len(cfg) > memoLimit {
		return in.raw(mergeMeta(meta, cfg)), firstNonEmpty(ownerFromMeta(meta), ownerFromMeta(cfg))
	}
	in.key = binary.AppendUvarint(in.key[:0], uint64(len(meta)))
	in.key = append(append(in.key, meta...), cfg...)
	if m, ok := in.metas[string(in.key)]; ok {
		return m.merged, m.owner
	}
	m := metaMemo{
		merged: in.raw(mergeMeta(meta, cfg)),
		owner:  in.str(firstNonEmpty(ownerFromMeta(meta), ownerFromMeta(cfg))),
	}
	if in.metas == nil {
		in.metas = map[string]metaMemo{}
	}
	in.metas[string(in.key)] = m
	return m.merged, m.owner
}

// noMeta reports whether the meta value raw is absent or names nothing,
// for which mergeMeta and ownerFromMeta find nothing.
func noMeta(raw []byte) bool {
	return raw == nil || isNull(raw) || (len(raw) == 2 && raw[0] == '{') || raw[0] != '{'
}

// canonical returns in.raw(canonicalJSON(raw)), remembered for small
// values.
func (in *interner) canonical(raw []byte) json.RawMessage {
	if raw == nil || isNull(raw) || (len(raw) == 2 && raw[0] == '{') {
		return nil
	}
	if len(raw) > memoLimit {
		return in.raw(canonicalJSON(raw))
	}
	if v, ok := in.canon[string(raw)]; ok {
		return v
	}
	v := in.raw(canonicalJSON(raw))
	if in.canon == nil {
		in.canon = map[string]json.RawMessage{}
	}
	in.canon[string(raw)] = v
	return v
}

// strBytes returns the stored copy of the string member raw.
func (in *interner) strBytes(raw []byte) string {
	if raw == nil {
		return ""
	}
	return in.literal(raw)
}

// flexBytes returns the stored copy of the flex member raw.
func (in *interner) flexBytes(raw []byte) string {
	if raw == nil {
		return ""
	}
	return in.flex(raw)
}

// bytes returns the stored copy of the string b spells, storing it when
// new.
func (in *interner) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if v, ok := in.strs[string(b)]; ok {
		return v
	}
	return in.str(string(b))
}

// literal returns the stored copy of the string the JSON string literal q
// (quotes included) decodes to, as unquote decodes it.
func (in *interner) literal(q []byte) string {
	if len(q) >= 2 {
		if s := q[1 : len(q)-1]; bytesPlain(s) {
			return in.bytes(s)
		}
	}
	return in.str(unquote(q))
}

// bytesPlain reports whether the body of a string literal needs no
// decoding: no escapes and valid UTF-8.
func bytesPlain(s []byte) bool {
	return bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)
}

// flex returns the stored copy of the string a flexString decodes val to.
func (in *interner) flex(val []byte) string {
	switch val[0] {
	case '"':
		return in.literal(val)
	case 'n', '{', '[':
		return ""
	}
	return in.bytes(val)
}

// walkManifest streams manifest.json from r as DecodeManifest does,
// calling fn with the section, map key and raw JSON object of every
// entry; raw is only valid during the call.
func walkManifest(r io.Reader, opts DecodeOptions, fn func(section, key string, raw []byte) error) (ArtifactMeta, error) {
	w := newWalker(r, KindManifest, opts)
	handlers := make(map[string]entryFunc, len(manifestSections)+1)
	for _, section := range manifestSections {
		handlers[section] = func(key string, raw []byte) error {
			if !isObject(raw) {
				return nil
			}
			w.meta.Entries++
			return fn(section, key, raw)
		}
	}
	handlers["disabled"] = func(key string, raw []byte) error {
		emit := func(b []byte) error {
			if !isObject(b) {
				return nil
			}
			w.meta.Entries++
			return fn("disabled", key, b)
		}
		if isObject(raw) { // v1: a list of nodes
			return emit(raw)
		}
		return eachElement(raw, emit) // v4+: unique_id -> [node, ...]
	}
	foreign := map[string]string{"results": "run_results.json or sources.json", "errors": "catalog.json"}
	return w.run(handlers, foreign, nil)
}

// streamManifest streams manifest.json from r as DecodeManifest does,
// reading every entry with d and calling fn once it is read, with its
// section and map key; d's values are only valid during the call.
func streamManifest(r io.Reader, opts DecodeOptions, d *nodeDecoder, fn func(section, key string) error) (ArtifactMeta, error) {
	w := newWalkerBuf(r, KindManifest, opts, d.in.bufs.take())
	defer d.in.bufs.give(w)
	d.s = w.s
	s := w.s
	w.streams = make(map[string]streamFunc, len(manifestSections)+1)
	for _, section := range manifestSections {
		w.streams[section] = func(key string, c byte) error {
			if c != '{' {
				return s.value(2)
			}
			if err := d.read(3); err != nil {
				return err
			}
			w.meta.Entries++
			return fn(section, key)
		}
	}
	w.streams["disabled"] = func(key string, c byte) error {
		switch c {
		case '{': // v1: a list of nodes
			if err := d.read(3); err != nil {
				return err
			}
			w.meta.Entries++
			return fn("disabled", key)
		case '[': // v4+: unique_id -> [node, ...]
			return s.array(3, func(c byte) error {
				if c != '{' {
					return s.value(3)
				}
				if err := d.read(4); err != nil {
					return err
				}
				w.meta.Entries++
				return fn("disabled", key)
			})
		}
		return s.value(2)
	}
	foreign := map[string]string{"results": "run_results.json or sources.json", "errors": "catalog.json"}
	return w.run(nil, foreign, nil)
}
