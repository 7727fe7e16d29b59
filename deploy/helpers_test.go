package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// repoRoot is the main module's directory, one level above this module.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the deploy module must sit in the main module's deploy/ directory")
	return root
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// splitDocuments splits a multi-document YAML stream, dropping documents
// that hold only comments.
func splitDocuments(t *testing.T, b []byte) [][]byte {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs [][]byte
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null") {
			continue
		}
		out, err := yaml.Marshal(&n)
		require.NoError(t, err)
		docs = append(docs, out)
	}
}

// interpolate expands compose-style ${VAR}, ${VAR:-default}, ${VAR-default}
// and ${VAR:?message} references and $$ escapes with getenv.
func interpolate(s string, getenv func(string) string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			return "", fmt.Errorf("%q: only ${...} references are used in this file", s)
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("%q: unterminated ${", s)
		}
		expr := s[i+2 : i+end]
		i += end
		name, op, arg := expr, "", ""
		for _, o := range []string{":-", ":?", "-", "?"} {
			if k := strings.Index(expr, o); k > 0 {
				name, op, arg = expr[:k], o, expr[k+len(o):]
				break
			}
		}
		// getenv cannot tell unset from empty, so "-" and ":-" (and "?"
		// and ":?") behave alike here.
		v := getenv(name)
		switch op {
		case ":-", "-":
			if v == "" {
				v = arg
			}
		case ":?", "?":
			if v == "" {
				return "", fmt.Errorf("%s is required: %s", name, arg)
			}
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func TestInterpolate(t *testing.T) {
	env := map[string]string{"SET": "value"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "plain text is kept", in: "abc", want: "abc"},
		{name: "a set variable is expanded", in: "x${SET}y", want: "xvaluey"},
		{name: "a default applies when unset", in: "${UNSET:-d}", want: "d"},
		{name: "a default is ignored when set", in: "${SET:-d}", want: "value"},
		{name: "dollar dollar escapes", in: "$$HOME", want: "$HOME"},
		{name: "a required variable that is unset fails", in: "${UNSET:?set it}", wantErr: true},
		{name: "a bare dollar reference is refused", in: "$SET", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := interpolate(tc.in, getenv)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
