package deploy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

// configSection returns the "Configuration reference" section of
// docs/operations.md.
func configSection(t *testing.T) string {
	t.Helper()
	doc := string(readFile(t, filepath.Join("..", "docs", "operations.md")))
	_, rest, ok := strings.Cut(doc, "## Configuration reference")
	require.True(t, ok, "docs/operations.md has a \"## Configuration reference\" section")
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func TestOperationsDocListsEverySetting(t *testing.T) {
	section := configSection(t)
	for _, s := range config.Settings() {
		name := s.YAML
		if name == "" {
			name = s.Env
		}
		t.Run(name, func(t *testing.T) {
			// One table row per setting, naming its key, variable and flag.
			var row string
			for _, line := range strings.Split(section, "\n") {
				first := strings.SplitN(strings.Trim(line, "| "), "|", 2)[0]
				if strings.TrimSpace(first) == "`"+name+"`" {
					row = line
				}
			}
			require.NotEmpty(t, row, "the configuration table has a row for `%s`", name)
			for _, v := range []string{s.Env, s.Flag} {
				if v != "" {
					require.Contains(t, row, "`"+v+"`", "the row of %s names %s", name, v)
				}
			}
		})
	}
}
