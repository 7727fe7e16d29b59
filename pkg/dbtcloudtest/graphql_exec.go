package dbtcloudtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// gqlObject is a resolved GraphQL object: its concrete type name and its
// fields by schema name. A field value is a Go scalar, a *gqlObject, a slice
// of either, or a gqlResolver computed only when the field is selected.
type gqlObject struct {
	typeName string
	fields   map[string]any
}

// gqlResolver computes a field from its arguments.
type gqlResolver func(args map[string]any) (any, error)

// gqlError is one entry of a response's "errors" array.
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// gqlLocation is a line and column in the query document.
type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// gqlCodedError is a resolver error carrying an extensions code.
type gqlCodedError struct {
	code string
	msg  string
}

func (e *gqlCodedError) Error() string { return e.msg }

// gqlOrderedObject is a JSON object whose keys keep the query's field order.
type gqlOrderedObject struct {
	keys []string
	vals []any
}

// gqlExecutor walks one validated operation over resolved objects.
type gqlExecutor struct {
	schema     *ast.Schema
	doc        *ast.QueryDocument
	vars       map[string]any
	fieldError func(typeName, fieldName string) error
	errs       []gqlError
}

// gqlCollectedField is the set of fields sharing one response key.
type gqlCollectedField struct {
	key    string
	fields []*ast.Field
}

// executeSelection resolves sel on obj. It returns false when a non-null
// field failed, meaning obj itself must become null.
func (e *gqlExecutor) executeSelection(obj *gqlObject, sel ast.SelectionSet, path *gqlPath) (*gqlOrderedObject, bool) {
	var fields []gqlCollectedField
	e.collectFields(obj.typeName, sel, &fields, map[string]int{}, map[string]bool{})
	out := &gqlOrderedObject{keys: make([]string, 0, len(fields)), vals: make([]any, 0, len(fields))}
	for _, cf := range fields {
		v, ok := e.executeField(obj, cf, gqlAppendPath(path, cf.key))
		if !ok {
			return nil, false
		}
		out.keys = append(out.keys, cf.key)
		out.vals = append(out.vals, v)
	}
	return out, true
}

func (e *gqlExecutor) executeField(obj *gqlObject, cf gqlCollectedField, path *gqlPath) (any, bool) {
	field := cf.fields[0]
	if field.Name == "__typename" {
		return obj.typeName, true
	}
	def := field.Definition
	if def == nil {
		e.addError(field, path, "INTERNAL_SERVER_ERROR", fmt.Sprintf("field %q has no definition", field.Name))
		return nil, false
	}
	if e.fieldError != nil {
		if err := e.fieldError(obj.typeName, field.Name); err != nil {
			e.addResolverError(field, path, err)
			return gqlNullFor(def.Type)
		}
	}
	raw := obj.fields[field.Name]
	if r, ok := raw.(gqlResolver); ok {
		args, err := e.argumentValues(field)
		if err != nil {
			e.addResolverError(field, path, err)
			return gqlNullFor(def.Type)
		}
		raw, err = r(args)
		if err != nil {
			e.addResolverError(field, path, err)
			return gqlNullFor(def.Type)
		}
	}
	var sel ast.SelectionSet
	for _, f := range cf.fields {
		sel = append(sel, f.SelectionSet...)
	}
	return e.complete(def.Type, raw, sel, obj.typeName, field, path)
}

// gqlNullFor returns null for a nullable type and a propagation signal for a
// non-null one.
func gqlNullFor(t *ast.Type) (any, bool) {
	return nil, !t.NonNull
}

func (e *gqlExecutor) complete(t *ast.Type, v any, sel ast.SelectionSet, parentType string, field *ast.Field, path *gqlPath) (any, bool) {
	if gqlIsNull(v) {
		if t.NonNull {
			e.addError(field, path, "INTERNAL_SERVER_ERROR",
				fmt.Sprintf("Cannot return null for non-nullable field %s.%s.", parentType, field.Name))
			return nil, false
		}
		return nil, true
	}
	if t.Elem != nil {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			e.addError(field, path, "INTERNAL_SERVER_ERROR", fmt.Sprintf("field %s.%s: expected a list", parentType, field.Name))
			return gqlNullFor(t)
		}
		out := make([]any, rv.Len())
		for i := range out {
			item, ok := e.complete(t.Elem, rv.Index(i).Interface(), sel, parentType, field, gqlAppendPath(path, i))
			if !ok {
				return gqlNullFor(t)
			}
			out[i] = item
		}
		return out, true
	}
	def := e.schema.Types[t.NamedType]
	if def == nil {
		e.addError(field, path, "INTERNAL_SERVER_ERROR", fmt.Sprintf("unknown type %s", t.NamedType))
		return gqlNullFor(t)
	}
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		s, err := gqlSerializeLeaf(def, v)
		if err != nil {
			e.addError(field, path, "INTERNAL_SERVER_ERROR", fmt.Sprintf("field %s.%s: %v", parentType, field.Name, err))
			return gqlNullFor(t)
		}
		return s, true
	default:
		o, ok := v.(*gqlObject)
		if !ok {
			e.addError(field, path, "INTERNAL_SERVER_ERROR", fmt.Sprintf("field %s.%s: expected an object", parentType, field.Name))
			return gqlNullFor(t)
		}
		res, ok := e.executeSelection(o, sel, path)
		if !ok {
			return gqlNullFor(t)
		}
		return res, true
	}
}

// gqlIsNull reports whether v is GraphQL null. Typed nil slices are empty
// lists, not null.
func gqlIsNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *gqlObject:
		return x == nil
	case json.RawMessage:
		return x == nil
	case *int64:
		return x == nil
	}
	return false
}

// gqlSerializeLeaf turns a Go value into the JSON value of a scalar or enum.
func gqlSerializeLeaf(def *ast.Definition, v any) (any, error) {
	if def.Kind == ast.Enum {
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return nil, fmt.Errorf("%v is not a %s value", v, def.Name)
		}
		return s, nil
	}
	switch x := v.(type) {
	case *int64:
		return *x, nil
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z"), nil
	case json.RawMessage:
		return x, nil
	case string, int, int64, float64, bool:
		return x, nil
	case map[string]any, []string:
		return x, nil
	}
	return nil, fmt.Errorf("cannot serialize %T as %s", v, def.Name)
}

func (e *gqlExecutor) collectFields(typeName string, sel ast.SelectionSet, out *[]gqlCollectedField, index map[string]int, visited map[string]bool) {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if !e.included(s.Directives) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			if i, ok := index[key]; ok {
				(*out)[i].fields = append((*out)[i].fields, s)
				continue
			}
			index[key] = len(*out)
			*out = append(*out, gqlCollectedField{key: key, fields: []*ast.Field{s}})
		case *ast.InlineFragment:
			if !e.included(s.Directives) || (s.TypeCondition != "" && !e.typeApplies(typeName, s.TypeCondition)) {
				continue
			}
			e.collectFields(typeName, s.SelectionSet, out, index, visited)
		case *ast.FragmentSpread:
			if !e.included(s.Directives) || visited[s.Name] {
				continue
			}
			visited[s.Name] = true
			frag := s.Definition
			if frag == nil {
				frag = e.doc.Fragments.ForName(s.Name)
			}
			if frag == nil || !e.typeApplies(typeName, frag.TypeCondition) {
				continue
			}
			e.collectFields(typeName, frag.SelectionSet, out, index, visited)
		}
	}
}

// typeApplies reports whether an object of type typeName satisfies a
// fragment's type condition.
func (e *gqlExecutor) typeApplies(typeName, condition string) bool {
	if typeName == condition {
		return true
	}
	cond := e.schema.Types[condition]
	if cond == nil {
		return false
	}
	for _, p := range e.schema.GetPossibleTypes(cond) {
		if p.Name == typeName {
			return true
		}
	}
	return false
}

// included evaluates @skip and @include.
func (e *gqlExecutor) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		arg := d.Arguments.ForName("if")
		if arg == nil {
			continue
		}
		v, err := arg.Value.Value(e.vars)
		b, ok := v.(bool)
		if err != nil || !ok {
			continue
		}
		if (d.Name == "skip" && b) || (d.Name == "include" && !b) {
			return false
		}
	}
	return true
}

// argumentValues evaluates a field's arguments, applying defaults.
func (e *gqlExecutor) argumentValues(field *ast.Field) (map[string]any, error) {
	args := map[string]any{}
	for _, def := range field.Definition.Arguments {
		if a := field.Arguments.ForName(def.Name); a != nil {
			if a.Value.Kind == ast.Variable {
				if v, ok := e.vars[a.Value.Raw]; ok {
					args[def.Name] = v
					continue
				}
			} else {
				v, err := a.Value.Value(e.vars)
				if err != nil {
					return nil, &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("argument %q: %v", def.Name, err)}
				}
				args[def.Name] = v
				continue
			}
		}
		if def.DefaultValue != nil {
			v, err := def.DefaultValue.Value(e.vars)
			if err != nil {
				return nil, &gqlCodedError{code: "BAD_USER_INPUT", msg: fmt.Sprintf("argument %q default: %v", def.Name, err)}
			}
			args[def.Name] = v
		}
	}
	return args, nil
}

func (e *gqlExecutor) addResolverError(field *ast.Field, path *gqlPath, err error) {
	code := "INTERNAL_SERVER_ERROR"
	if ce, ok := err.(*gqlCodedError); ok {
		code = ce.code
	}
	e.addError(field, path, code, err.Error())
}

func (e *gqlExecutor) addError(field *ast.Field, path *gqlPath, code, msg string) {
	ge := gqlError{Message: msg, Path: path.slice(), Extensions: map[string]any{"code": code}}
	if field != nil && field.Position != nil {
		ge.Locations = []gqlLocation{{Line: field.Position.Line, Column: field.Position.Column}}
	}
	e.errs = append(e.errs, ge)
}

// gqlPath is a response path as a linked list from the leaf, materialised
// only when an error needs it.
type gqlPath struct {
	parent *gqlPath
	elem   any
}

func gqlAppendPath(path *gqlPath, elem any) *gqlPath {
	return &gqlPath{parent: path, elem: elem}
}

func (p *gqlPath) slice() []any {
	n := 0
	for q := p; q != nil; q = q.parent {
		n++
	}
	out := make([]any, n)
	for q := p; q != nil; q = q.parent {
		n--
		out[n] = q.elem
	}
	return out
}

// gqlWriteJSON encodes a result tree (ordered objects, lists, scalars) to buf.
func gqlWriteJSON(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case *gqlOrderedObject:
		if x == nil {
			buf.WriteString("null")
			return nil
		}
		buf.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			gqlWriteString(buf, k)
			buf.WriteByte(':')
			if err := gqlWriteJSON(buf, x.vals[i]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := gqlWriteJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case string:
		gqlWriteString(buf, x)
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case int:
		buf.WriteString(strconv.Itoa(x))
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case json.RawMessage:
		if !json.Valid(x) {
			return fmt.Errorf("invalid JSON value %q", string(x))
		}
		buf.Write(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	return nil
}

func gqlWriteString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s) // marshalling a string cannot fail
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}
