package discovery

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestResponseShapes(t *testing.T) {
	page := `{"environment":{"applied":{"models":{"totalCount":1,"pageInfo":{"hasNextPage":false,"endCursor":"c"},` +
		`"edges":[{"node":{"uniqueId":"model.x.a","resourceType":"MODEL","tags":["t"],"meta":{ "owner" : "ana" }}}]}}}}`
	tests := []struct {
		name    string
		status  int
		body    string
		nodes   int
		wantErr func(t *testing.T, err error)
	}{
		{name: "data alone is decoded", status: http.StatusOK, body: `{"data":` + page + `}`, nodes: 1},
		{name: "201 is accepted like 200", status: http.StatusCreated, body: `{"data":` + page + `}`, nodes: 1},
		{name: "errors before data make a partial page", status: http.StatusOK,
			body: `{"errors":[{"message":"catalog down","path":["environment","applied"]}],"data":` + page + `}`, nodes: 1,
			wantErr: func(t *testing.T, err error) {
				var pe *PartialError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, []any{"environment", "applied"}, pe.Errors[0].Path)
			}},
		{name: "an empty errors array is no error", status: http.StatusOK, body: `{"data":` + page + `,"errors":[]}`, nodes: 1},
		{name: "trailing bytes after the response are ignored", status: http.StatusOK, body: `{"data":` + page + "}\n\n", nodes: 1},
		{name: "a missing data member is an error", status: http.StatusOK, body: `{}`,
			wantErr: func(t *testing.T, err error) { require.ErrorContains(t, err, "holds no data") }},
		{name: "a body that is not JSON is a decode error", status: http.StatusOK, body: `<html>`,
			wantErr: func(t *testing.T, err error) { require.ErrorContains(t, err, "decode response") }},
		{name: "a field of the wrong type is a decode error", status: http.StatusOK,
			body:    `{"data":{"environment":{"applied":{"models":{"totalCount":"many"}}}}}`,
			wantErr: func(t *testing.T, err error) { require.ErrorContains(t, err, "decode response") }},
		{name: "a 204 is refused", status: http.StatusNoContent, body: ``,
			wantErr: func(t *testing.T, err error) { require.ErrorContains(t, err, "unexpected HTTP status 204") }},
		{name: "a 503 is a query error", status: http.StatusServiceUnavailable, body: `down`,
			wantErr: func(t *testing.T, err error) {
				var qe *QueryError
				require.ErrorAs(t, err, &qe)
				require.Equal(t, http.StatusServiceUnavailable, qe.StatusCode)
				require.Equal(t, "down", qe.Body)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := fakeServer(t, tt.status, func(int) string { return tt.body })
			var nodes []Node
			var err error
			for n, e := range c.Models(t.Context(), testEnvID) {
				if e != nil {
					err = e
					continue
				}
				nodes = append(nodes, n)
			}
			require.Len(t, nodes, tt.nodes)
			if tt.nodes > 0 {
				a := nodes[0].Asset
				require.Equal(t, "model.x.a", a.UniqueID)
				require.Equal(t, "model", string(a.Type))
				require.Equal(t, []string{"t"}, a.Tags)
				require.JSONEq(t, `{"owner":"ana"}`, string(a.Meta))
				require.Equal(t, `{"owner":"ana"}`, string(a.Meta), "meta is compacted")
				require.Equal(t, "ana", a.Owner)
			}
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			tt.wantErr(t, err)
		})
	}
}

func TestNormalizeJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"null is nil", `null`, ``},
		{"an empty object is nil", ` {} `, ``},
		{"invalid JSON is nil", `{"a":`, ``},
		{"compact JSON is kept", `{"a":[1,2],"b":"x y"}`, `{"a":[1,2],"b":"x y"}`},
		{"whitespace outside strings is removed", "{ \"a\" : [1, 2],\n\"b\":\"x y\" }", `{"a":[1,2],"b":"x y"}`},
		{"escaped quotes inside strings are followed", `{"a":"say \"hi there\"", "b":1}`, `{"a":"say \"hi there\"","b":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := normalizeJSON(json.RawMessage(tt.in))
			if tt.want == "" {
				require.Nil(t, got)
				return
			}
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestBigIntFastPathMatchesParse(t *testing.T) {
	tests := []struct {
		in   string
		want BigInt
		err  bool
	}{
		{`0`, 0, false}, {`"0042"`, 42, false}, {` 17 `, 17, false}, {`-3`, -3, false},
		{`"-3"`, -3, false}, {`999999999999999999`, 999999999999999999, false},
		{`9223372036854775807`, 9223372036854775807, false}, {`1e3`, 1000, false},
		{`""`, 0, true}, {`"12a"`, 0, true}, {`99999999999999999999`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b BigInt
			err := b.UnmarshalJSON([]byte(tt.in))
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, b)
		})
	}
}

func TestSortedStableMatchesSortStable(t *testing.T) {
	type item struct {
		key string
		seq int
	}
	compare := func(a, b *item) int { return strings.Compare(a.key, b.key) }
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 50, 1000} {
		t.Run(fmt.Sprintf("%d items in random order", n), func(t *testing.T) {
			in := make([]item, n)
			for i := range in {
				in[i] = item{key: fmt.Sprintf("k%02d", rng.IntN(30)), seq: i}
			}
			want := slices.Clone(in)
			slices.SortStableFunc(want, func(a, b item) int { return compare(&a, &b) })
			got := sortedStable(slices.Clone(in), compare)
			require.Equal(t, want, got)
			require.Equal(t, len(got), cap(got))
		})
	}
	t.Run("a sorted list is returned as it is", func(t *testing.T) {
		in := []item{{"a", 0}, {"a", 1}, {"b", 2}}
		got := sortedStable(in, compare)
		require.Same(t, &in[0], &got[0])
	})
}

func TestStrsCopiesAndShares(t *testing.T) {
	in := newStrs()
	buf := []byte("SUCCESS model.x.a model.x.a")
	s := string(buf) // a stand-in for a decoded string in a page
	a, b := in.str(s[8:17]), in.str(s[18:])
	require.Equal(t, "model.x.a", a)
	require.NotSame(t, unsafeData(s[8:17]), unsafeData(a), "the page's bytes are copied")
	require.Same(t, unsafeData(a), unsafeData(b), "equal strings share one copy")
	require.Equal(t, "success", in.lowerStr(s[:7]))
	require.Same(t, unsafeData(in.lowerStr(s[:7])), unsafeData(in.lowerStr("SUCCESS")))
	long := strings.Repeat("x", internMax+1)
	require.Equal(t, long, in.str(long))
	require.Nil(t, in.list(nil))
	require.Equal(t, []string{"a"}, in.list([]string{"a"}))
	require.Empty(t, in.str(""))
}

// unsafeData returns a pointer identifying a string's bytes.
func unsafeData(s string) *byte { return unsafe.StringData(s) }
