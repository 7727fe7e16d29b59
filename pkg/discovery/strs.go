package discovery

import (
	"strings"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// internMax is the longest string strs shares; longer ones (descriptions,
// error messages, code) are copied each time.
const internMax = 128

// strs copies the strings the converted nodes keep out of the decoded
// pages, sharing one copy of each repeated value: statuses, resource types,
// databases, schemas, column types, tags, and the unique IDs that parents
// and tested nodes repeat. Decoded strings point into the response buffer,
// so every string a Node keeps must pass through here or the whole page
// would stay in memory. A strs is used by one goroutine.
type strs struct {
	m     map[string]string
	lower map[string]string
	// scratch, when set, lets the conversions return the columns and
	// parents of a node in cols and parents, reused from node to node: for
	// a caller that copies them before converting the next node.
	scratch bool
	cols    []catalog.Column
	parents []string
}

func newStrs() *strs {
	return &strs{m: make(map[string]string, 1024), lower: make(map[string]string, 16)}
}

// str returns a copy of s owned by the caller's nodes, shared with every
// earlier equal string.
func (t *strs) str(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > internMax {
		return strings.Clone(s)
	}
	if v, ok := t.m[s]; ok {
		return v
	}
	v := strings.Clone(s)
	t.m[v] = v
	return v
}

// lowerStr is str of strings.ToLower(s), for the enum values the API sends
// in upper case (statuses, resource types).
func (t *strs) lowerStr(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := t.lower[s]; ok {
		return v
	}
	v := t.str(strings.ToLower(s))
	if len(t.lower) < 256 {
		t.lower[strings.Clone(s)] = v
	}
	return v
}

// list replaces the strings of a decoded list with their copies in place;
// it returns nil for an empty list.
func (t *strs) list(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	for i, v := range s {
		s[i] = t.str(v)
	}
	return s
}
