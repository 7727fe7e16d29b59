package store

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// cleanRef is clean as first written, in two passes: the reference the
// one-pass check must agree with.
func cleanRef(s string) (string, bool) {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s, false
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", ""), true
}

var cleanCases = []struct {
	name, in string
	clean    bool
}{
	{"empty", "", true},
	{"short ascii", "success", true},
	{"long ascii", strings.Repeat("select id from orders\n", 50), true},
	{"non-ascii", "naïve café", true},
	{"non-ascii after a long ascii run", strings.Repeat("a", 70) + "é" + strings.Repeat("b", 40), true},
	{"replacement character itself", "a\uFFFDb", true},
	{"non-ascii after ascii words", strings.Repeat("a", 20) + "ü" + strings.Repeat("b", 20), true},
	{"longest one-pass value", strings.Repeat("a", cleanOnePassMax-1), true},
	{"nul in the longest one-pass value", strings.Repeat("a", cleanOnePassMax-2) + "\x00", false},
	{"nul at the start", "\x00abc", false},
	{"nul in a word", strings.Repeat("a", 12) + "\x00" + strings.Repeat("b", 40), false},
	{"nul in the tail", strings.Repeat("a", 64) + "bc\x00", false},
	{"nul after non-ascii", "é" + strings.Repeat("a", 40) + "\x00", false},
	{"invalid byte", "bad\xffname", false},
	{"invalid byte after 32 bytes", strings.Repeat("a", 33) + "\xc3", false},
	{"truncated rune at the end", "abc\xe2\x82", false},
	{"surrogate", "a\xed\xa0\x80b", false},
	{"high bytes 0x80 and 0x7f next to each other", "\x7f\x80", false},
	{"all bytes 0x01", strings.Repeat("\x01", 40), true},
}

func TestClean(t *testing.T) {
	for _, tc := range cleanCases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := clean(tc.in)
			want, wantChanged := cleanRef(tc.in)
			require.Equal(t, tc.clean, isClean(tc.in))
			require.Equal(t, want, got)
			require.Equal(t, wantChanged, changed)
			require.True(t, utf8.ValidString(got))
			require.NotContains(t, got, "\x00")
		})
	}
}

func FuzzClean(f *testing.F) {
	for _, tc := range cleanCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, changed := clean(s)
		want, wantChanged := cleanRef(s)
		require.Equal(t, want, got)
		require.Equal(t, wantChanged, changed)
	})
}

var cleanJSONCases = []struct {
	name, in string
	plain    bool // plainJSON accepts it
}{
	{"nil", "", false},
	{"null", "null", false},
	{"spaced null", " null\n", false},
	{"empty object", "{}", true},
	{"empty array", "[]", true},
	{"flat object", `{"owner":"team-a"}`, true},
	{"spaced object", "{ \"a\" : [ 1 , 2 ] }\n", true},
	{"leading space", ` {"a":1}`, false},
	{"nested", `{"a":{"b":[true,false,null,{"c":[]}]},"d":""}`, true},
	{"numbers", `[0,-0,1.5,-2.25e10,3E+2,4e-3,123456789012345678901234567890]`, true},
	{"non-ascii", `{"név":"Zoë"}`, true},
	{"escape", `{"a":"tab\there"}`, false},
	{"escaped nul", `{"a":"x\u0000y"}`, false},
	{"raw nul", "{\"a\":\"x\x00y\"}", false},
	{"invalid utf-8", "{\"a\":\"\xff\"}", false},
	{"control character", "{\"a\":\"x\ny\"}", false},
	{"truncated", `{"a":`, false},
	{"trailing comma", `{"a":1,}`, false},
	{"leading zero", `[01]`, false},
	{"bare minus", `[-]`, false},
	{"dot without digits", `[1.]`, false},
	{"exponent without digits", `[1e]`, false},
	{"bad literal", `[tru]`, false},
	{"literal with a tail", `[truex]`, false},
	{"two documents", `{}{}`, false},
	{"unquoted key", `{a:1}`, false},
	{"a string", `"text"`, false},
	{"a number", `42`, false},
	{"deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), false},
	{"just deep enough", strings.Repeat("[", 32) + strings.Repeat("]", 32), true},
	{"unclosed", `[1,2`, false},
}

func TestCleanJSON(t *testing.T) {
	for _, tc := range cleanJSONCases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.plain, plainJSON([]byte(tc.in)))
			for _, empty := range []string{"{}", "[]"} {
				got, changed := cleanJSON(json.RawMessage(tc.in), empty)
				want, wantChanged := cleanJSONChecked(json.RawMessage(tc.in), empty)
				require.Equal(t, want, got)
				require.Equal(t, wantChanged, changed)
			}
		})
	}
}

func FuzzCleanJSON(f *testing.F) {
	for _, tc := range cleanJSONCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if plainJSON(raw) {
			require.True(t, json.Valid(raw), "plain JSON is valid")
		}
		got, changed := cleanJSON(raw, "{}")
		want, wantChanged := cleanJSONChecked(raw, "{}")
		require.Equal(t, want, got)
		require.Equal(t, wantChanged, changed)
	})
}

func BenchmarkClean(b *testing.B) {
	inputs := []struct{ name, s string }{
		{"status", "success"},
		{"unique_id", "model.analytics.fct_orders_daily_by_region"},
		{"description_200", strings.Repeat("The daily orders by region. ", 7)},
		{"code_1k", strings.Repeat("select id, amount from analytics.orders where status = 'paid'\n", 16)},
		{"code_16k", strings.Repeat("select id, amount from analytics.orders where status = 'paid'\n", 256)},
		{"non_ascii_1k", strings.Repeat("sélect", 170)},
	}
	for _, in := range inputs {
		for _, fn := range []struct {
			name string
			f    func(string) (string, bool)
		}{{"two_pass", cleanRef}, {"one_pass", clean}} {
			b.Run(in.name+"/"+fn.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.s)))
				for b.Loop() {
					fn.f(in.s)
				}
			})
		}
	}
}

func BenchmarkCleanJSON(b *testing.B) {
	inputs := []struct{ name, s string }{
		{"empty_object", "{}"},
		{"flat", `{"owner":"team-a","tier":2}`},
		{"nested", `{"owner":"team-a","contract":{"enforced":true,"alias_types":["a","b"]},"sla_hours":24.5}`},
	}
	for _, in := range inputs {
		for _, fn := range []struct {
			name string
			f    func(json.RawMessage, string) (string, bool)
		}{{"scanner", cleanJSONChecked}, {"fast_path", cleanJSON}} {
			b.Run(in.name+"/"+fn.name, func(b *testing.B) {
				raw := json.RawMessage(in.s)
				b.ReportAllocs()
				for b.Loop() {
					fn.f(raw, "{}")
				}
			})
		}
	}
}
