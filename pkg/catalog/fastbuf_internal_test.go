package catalog

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestChunksDrainGivesValuesInOrderAtExactSize(t *testing.T) {
	var c chunks[runRow]
	for _, n := range []int{0, 1, chunkLen - 1, chunkLen, chunkLen + 1, (keepChunks + 3) * chunkLen, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for i := range n {
				r := c.next()
				require.Equal(t, runRow{}, *r, "a reused chunk hands out zero values")
				r.id, r.message = int32(i), fmt.Sprint(i)
			}
			rows := c.drain(nil)
			if n == 0 {
				require.Nil(t, rows)
				return
			}
			require.Len(t, rows, n)
			require.Equal(t, n, cap(rows))
			for i, r := range rows {
				require.Equal(t, int32(i), r.id)
				require.Equal(t, fmt.Sprint(i), r.message)
			}
			require.Empty(t, c.full)
			require.LessOrEqual(t, len(c.spare), keepChunks)
			for _, chunk := range c.spare {
				require.Equal(t, make([]runRow, cap(chunk)), chunk[:cap(chunk)], "spare chunks hold nothing")
			}
		})
	}
	t.Run("appends to a given slice", func(t *testing.T) {
		c.next().id = 7
		rows := c.drain([]runRow{{id: 1}})
		require.Equal(t, []runRow{{id: 1}, {id: 7}}, rows)
	})
}

func TestStrCacheGivesTheSameStringsShared(t *testing.T) {
	var c strCache
	for _, tc := range []struct {
		name string
		val  string
	}{
		{"plain string", `"customer_id"`},
		{"escaped string", `"a\"b\n"`},
		{"invalid UTF-8", "\"x\xffy\""},
		{"empty string", `""`},
		{"number", `12.5`},
		{"boolean", `true`},
		{"null", `null`},
		{"object", `{"a":1}`},
		{"array", `[1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			val := []byte(tc.val)
			require.Equal(t, flexOf(val), c.flex(val))
			if val[0] == '"' {
				require.Equal(t, strOf(val), c.literal(val))
			}
			a, b := c.flex(bytes.Clone(val)), c.flex(bytes.Clone(val))
			require.Equal(t, a, b)
			if tc.name == "plain string" {
				require.Equal(t, unsafe.StringData(a), unsafe.StringData(b), "a repeated value is stored once")
			}
		})
	}
	require.Equal(t, "", c.flex(nil))
	require.Equal(t, "", c.literal(nil))
}

func TestDecodeRunRowsReusesScratchAcrossFiles(t *testing.T) {
	docs := append([][]byte(nil), []byte(syntheticRunResultsDoc(t, 3*chunkLen+5)))
	for _, doc := range runRowDocs {
		docs = append(docs, []byte(doc))
	}
	docs = append(docs, docs[0])
	type row struct {
		id, status string
		seconds    uint64 // bits: NaN equals itself
		r          runRow
	}
	resolve := func(strs *strTable, rows []runRow) []row {
		out := make([]row, len(rows))
		for i, r := range rows {
			out[i] = row{id: strs.get(r.id), status: strs.get(r.status), seconds: math.Float64bits(r.seconds), r: r}
			out[i].r.id, out[i].r.status, out[i].r.seconds = 0, 0, 0
		}
		return out
	}
	var shared strTable
	for i, doc := range docs {
		var fresh strTable
		wantMeta, want, wantQuiet, wantErr := decodeRunRows(bytes.NewReader(doc), DecodeOptions{}, &fresh, nil)
		gotMeta, got, gotQuiet, gotErr := decodeRunRows(bytes.NewReader(doc), DecodeOptions{}, &shared, nil)
		require.Equal(t, wantErr, gotErr, "doc %d", i)
		require.Equal(t, wantMeta, gotMeta, "doc %d", i)
		require.Equal(t, wantQuiet, gotQuiet, "doc %d", i)
		require.Equal(t, resolve(&fresh, want), resolve(&shared, got), "doc %d", i)
		require.Len(t, shared.bufs.spare, scanBufSize, "the scanner buffer is kept for the next file")
	}
}

// syntheticRunResultsDoc is a run_results.json of n results.
func syntheticRunResultsDoc(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"unique_id":"model.p.m%d","status":"success","message":"SELECT %d","execution_time":%d.5,"timing":[{"name":"execute","completed_at":"2024-01-01T00:00:%02dZ"}]}`, i, i%7, i, i%60)
	}
	b.WriteString(`]}`)
	return b.String()
}
