package store

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// hashSnapshot is makeSnapshot with assets and columns whose values need
// every kind of repair and encoding: NUL bytes, invalid UTF-8, non-ASCII
// text, escapes, long (compressed) code, tags and meta of every shape.
func hashSnapshot() *catalog.Snapshot {
	snap := makeSnapshot(testScope, 3, 4)
	long := strings.Repeat("select id, amount from analytics.orders where status = 'paid'\n", 40)
	snap.Assets = append(snap.Assets,
		catalog.Asset{UniqueID: "model.shop.ünïcode", Type: catalog.TypeModel, Name: "ünïcode", Description: "línea\tcon\\escapes\n",
			Tags: []string{"a", `q"uote`, "{b}", ""}, Meta: json.RawMessage(`{"a": "é", "n": [1, -2.5e3, true, null], "o": {}}`),
			RawCode: catalog.NewText("select 'é'"), CompiledCode: catalog.NewText(long), Enabled: true, Owner: "x", Checksum: "abc"},
		catalog.Asset{UniqueID: "test.shop.bad\x00id", Type: catalog.TypeTest, Name: "bad\xffname", RawCode: catalog.NewText(long + "\x00"),
			Meta: json.RawMessage(`{"k": "nul\u0000here"}`), TestName: "not_null", TestedUniqueID: "model.shop.m00000", Severity: "warn", Tags: []string{"x\x00y"}},
		catalog.Asset{UniqueID: "model.shop.badmeta", Type: catalog.TypeModel, Name: "badmeta", Meta: json.RawMessage(`{"unterminated": `),
			CompiledCode: catalog.NewText(long + "é"), Description: strings.Repeat("é", 600)},
		catalog.Asset{UniqueID: "model.shop.spacedmeta", Type: catalog.TypeModel, Name: "spacedmeta", Meta: json.RawMessage(" { \"a\" : [ ] } "), Tags: []string{}},
		catalog.Asset{UniqueID: "model.shop.nullmeta", Type: catalog.TypeModel, Name: "nullmeta", Meta: json.RawMessage("null")},
	)
	snap.Columns = append(snap.Columns,
		catalog.Column{AssetUniqueID: "model.shop.ünïcode", Name: "naïve", DataType: "text", Ordinal: 1, Description: "d\x00", Tags: []string{"pii"},
			Meta: json.RawMessage(`{"masking": "full"}`), Comment: "c\xfe"},
		catalog.Column{AssetUniqueID: "model.shop.ünïcode", Name: "big", DataType: "bigint", Ordinal: 1 << 33, Meta: json.RawMessage(`[]`)},
		catalog.Column{AssetUniqueID: "model.shop.badmeta", Name: "m", Meta: json.RawMessage(`{"x":`)},
	)
	snap.Edges = append(snap.Edges, catalog.Edge{Upstream: "model.shop.m00000", Downstream: "model.shop.ünïcode"},
		catalog.Edge{Upstream: "model.shop.bad\xff", Downstream: "model.shop.ünïcode"})
	return snap
}

// TestHashesMatchGolden pins every stored hash: the artifact hashes, the
// content hashes of assets, columns, relations and matches, and the bytes
// of the COPY tuples of new assets. Stored hashes that changed would make
// the next crawl rewrite every row.
func TestHashesMatchGolden(t *testing.T) {
	snap := hashSnapshot()
	got := map[string]string{}
	for uid, h := range ArtifactHashes(snap) {
		got["artifact "+uid] = hex.EncodeToString(h)
	}
	snap.ArtifactHashes = ArtifactHashes(snap)
	w := newWriter(snap, 2)
	w.envID = 42
	for i := range snap.Assets {
		a := &snap.Assets[i]
		got["asset "+a.UniqueID] = hex.EncodeToString(w.hashAsset(a))
		got["tuple "+a.UniqueID] = hex.EncodeToString(w.appendNewAssetTuple(nil, a))
	}
	for i := range snap.Columns {
		c := &snap.Columns[i]
		r := w.columnRow(c)
		got["column "+c.AssetUniqueID+"."+c.Name] = hex.EncodeToString(w.hashColumn(&r))
	}
	for _, r := range snap.Relations {
		got["relation "+r.Name] = hex.EncodeToString(w.hashRow([]any{w.str(r.Database), w.str(r.Schema), w.str(r.Name), w.str(r.Kind), w.str(r.Owner), w.str(r.Comment), r.RowCount, r.Bytes}))
	}
	got["sanitized"] = strings.Repeat("x", w.sanitized)

	path := filepath.Join("testdata", "hashes.golden.json")
	if *updateGolden {
		b, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to write the golden file")
	var want map[string]string
	require.NoError(t, json.Unmarshal(b, &want))
	require.Equal(t, want, got)
}

func TestQualifiedPrefixMakesQualifiedName(t *testing.T) {
	for _, sc := range []catalog.Scope{testScope, {AccountID: -1, ProjectID: 0, EnvironmentID: 1 << 40}} {
		w := newWriter(&catalog.Snapshot{Scope: sc}, 2)
		for _, uid := range []string{"model.shop.orders", "", "a/b"} {
			require.Equal(t, catalog.QualifiedName(sc, uid), w.qualifiedPrefix+uid)
		}
	}
}

func TestCodeViewIsCleanedText(t *testing.T) {
	long := strings.Repeat("select 1 from big_table\n", 100)
	for _, tc := range []struct {
		name, code string
		repaired   bool
	}{
		{"short", "select 1", false},
		{"compressed", long, false},
		{"compressed with a nul", long + "\x00", true},
		{"compressed with invalid utf-8", "\xff" + long, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWriter(&catalog.Snapshot{Scope: testScope}, 2)
			text := catalog.NewText(tc.code)
			want, _ := cleanRef(tc.code)
			require.Equal(t, want, w.codeView(text))
			require.Equal(t, want, w.codeText(text))
			require.Equal(t, tc.repaired, w.sanitized > 0)
		})
	}
}
