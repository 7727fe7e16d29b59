package catalog

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	long := strings.Repeat("select id, amount from {{ ref('orders') }} where status = 'paid'\n", 200)
	random := func(n int) string { // incompressible
		b := make([]byte, n)
		x := uint32(2463534242)
		for i := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[i] = byte(x)
		}
		return string(b)
	}(4000)
	for _, tc := range []struct {
		name       string
		in         string
		compressed bool
	}{
		{"empty", "", false},
		{"short code is kept as it is", "select 1", false},
		{"long code is compressed", long, true},
		{"incompressible long text is kept as it is", random, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txt := NewText(tc.in)
			require.Equal(t, tc.compressed, txt.Compressed())
			require.Equal(t, tc.in, txt.String())
			require.Equal(t, len(tc.in), txt.Len())
			require.Equal(t, tc.in == "", txt.IsEmpty())
			require.True(t, txt.Equal(NewText(tc.in)))
			if tc.compressed {
				require.Less(t, len(txt.s), len(tc.in)/4, "compressed size")
				d, ok := txt.Digest()
				require.True(t, ok)
				require.Len(t, d, digestLen)
			}
			var sb strings.Builder
			n, err := txt.WriteTo(&sb)
			require.NoError(t, err)
			require.Equal(t, int64(len(tc.in)), n)
			require.Equal(t, tc.in, sb.String())

			if !utf8.ValidString(tc.in) {
				return // JSON replaces invalid UTF-8
			}
			js, err := json.Marshal(txt)
			require.NoError(t, err)
			want, _ := json.Marshal(tc.in)
			require.JSONEq(t, string(want), string(js))
			var back Text
			require.NoError(t, json.Unmarshal(js, &back))
			require.True(t, txt.Equal(back))
		})
	}
	t.Run("different texts are not equal", func(t *testing.T) {
		require.False(t, NewText(long).Equal(NewText(long+" ")))
		require.False(t, NewText("a").Equal(NewText("b")))
	})
}

func BenchmarkNewText(b *testing.B) {
	sql := strings.Repeat("select o.id, o.amount, c.name from analytics.orders o join analytics.customers c on c.id = o.customer_id -- 42\n", 110)
	b.SetBytes(int64(len(sql)))
	for b.Loop() {
		_ = NewText(sql).String()
	}
}
