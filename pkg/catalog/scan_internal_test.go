package catalog

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeBoth decodes doc into a fresh T with encoding/json (type errors
// ignored) and with decodeEntry; both results must agree.
func decodeBoth[T any](t *testing.T, spec *structSpec, doc []byte) {
	t.Helper()
	var want, got T
	if err := unmarshalEntry(doc, &want); err != nil {
		return
	}
	require.NoError(t, decodeEntry(spec, &got, doc))
	require.Equal(t, want, got, "decoding %s", doc)
}

var entryDocs = []string{
	`{"unique_id":"model.p.m","name":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x\udc00","description":42,"tags":["a",1,null,true,{"x":1}],"meta":{"k" : [1, 2]}}`,
	`{"config":{"enabled":"false","materialized":"view","tags":"x","quoting":{"database":true,"schema":null,"identifier":"no"}},"quoting":{"database":false}}`,
	`{"config":"oops","depends_on":"x","test_metadata":[1],"checksum":null,"columns":{"b":{"name":"B","quote":1},"a":null,"c":"bad","d":{"tags":null}}}`,
	`{"columns":[],"depends_on":{"nodes":["model.p.x"],"macros":[]},"test_metadata":{"name":"unique","kwargs":{"column_name":"id","model":"{{ ref('x') }}"}}}`,
	`{"UNIQUE_ID":"upper","Name":"Mixed","raw_sql":"select 1","compiled_sql":"select \"1\"","version":1.5e2,"owner":"team"}`,
	`{"status":"success","timing":[{"name":"compile","started_at":"2024-01-01 00:00:00","completed_at":null},null,3],"failures":"7","execution_time":"1.5","adapter_response":{},"node":{"unique_id":"model.p.n","compiled_code":"x"}}`,
	`{"timing":null,"failures":2.0,"thread_id":5,"message":null,"adapter_response":{"rows":1}}`,
	`{"metadata":{"type":"BASE TABLE","owner":null},"columns":{"a":{"index":"3","type":"int"},"b":null,"c":[1]},"stats":{"s":{"value":false,"include":"true"}}}`,
	"{\"name\":\"bad \xff utf8 \xed\xa0\x80\",\"description\":\"\\u0000nul\"}",
	`{"freshness":null,"meta":null,"tags":null,"criteria":{"warn_after":{"count":1}},"max_loaded_at":"2024-05-01T10:00:00+02:00"}`,
}

func TestDecodeEntryMatchesEncodingJSON(t *testing.T) {
	for _, doc := range entryDocs {
		t.Run(doc[:min(len(doc), 40)], func(t *testing.T) {
			require.True(t, json.Valid([]byte(doc)))
			decodeBoth[nodeJSON](t, nodeSpec, []byte(doc))
			decodeBoth[runResultJSON](t, runResultSpec, []byte(doc))
			decodeBoth[freshnessJSON](t, freshnessSpec, []byte(doc))
			decodeBoth[catalogTableJSON](t, catalogTableSpec, []byte(doc))
			decodeBoth[columnJSON](t, columnSpec, []byte(doc))
		})
	}
}

func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`""`, `"plain"`, `"caf\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\udc00\ud83d\ude00"`,
		`"a\\\"b"`, "\"\xff\xfe\"", "\"ok \xe2\x82\"", `"\u0041\/\b"`, `"` + strings.Repeat(`x\n`, 100) + `"`,
	} {
		t.Run(s, func(t *testing.T) {
			var want string
			require.NoError(t, json.Unmarshal([]byte(s), &want))
			require.Equal(t, want, unquote([]byte(s)))
		})
	}
}

func TestSkipValue(t *testing.T) {
	for _, doc := range []string{`"a\\"`, `"a\"b"`, `{"a":["}",{"b":"\\\""}]}`, `[1,[2,[3]]]`, `-1.5e+3`, `true`, `null`} {
		t.Run(doc, func(t *testing.T) {
			require.Equal(t, len(doc), skipValue([]byte(doc+` ,`), 0))
		})
	}
}

// FuzzDecodeEntry checks that decodeEntry agrees with encoding/json on any
// valid JSON object.
func FuzzDecodeEntry(f *testing.F) {
	for _, doc := range entryDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) || !isObject(doc) || hasDuplicateOrFoldedKeys(doc) {
			return
		}
		decodeBoth[nodeJSON](t, nodeSpec, doc)
		decodeBoth[runResultJSON](t, runResultSpec, doc)
		decodeBoth[catalogTableJSON](t, catalogTableSpec, doc)
	})
}

// hasDuplicateOrFoldedKeys reports documents whose objects repeat a key or
// use keys that only match a field case-insensitively: encoding/json merges
// repeated objects and folds Unicode specially, which decodeEntry does not
// replicate.
func hasDuplicateOrFoldedKeys(doc []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				k, _ := tok.(string)
				l := strings.ToLower(k)
				if top.keys[l] || l != k || !reflect.DeepEqual([]byte(k), []byte(strings.ToValidUTF8(k, "\uFFFD"))) {
					return true
				}
				top.keys[l] = true
				top.key = false
				continue
			}
		}
		switch d, _ := tok.(json.Delim); d {
		case '{':
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
			continue
		case '[':
			stack = append(stack, &frame{})
			continue
		case '}', ']':
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].key = true
		}
	}
}

func TestSpecial8FindsTheFirstSpecialByte(t *testing.T) {
	// Every byte value at every position of a word filled with every byte
	// value, and a second byte value after it: the lowest bit special8
	// sets must be the first byte the byte table calls special.
	word := make([]byte, 8)
	for fill := range 256 {
		for pos := range 8 {
			for c := range 256 {
				for _, after := range []byte{'a', '"', 0x1f, 0xff} {
					for i := range word {
						word[i] = byte(fill)
					}
					word[pos] = byte(c)
					if pos+1 < len(word) {
						word[pos+1] = after
					}
					want := -1
					for i, b := range word {
						if !plainString[b] {
							want = i
							break
						}
					}
					got := -1
					if t8 := special8(binary.LittleEndian.Uint64(word)); t8 != 0 {
						got = bits.TrailingZeros64(t8) >> 3
					}
					if got != want {
						require.Equal(t, want, got, "word %q", word)
					}
				}
			}
		}
	}
}
