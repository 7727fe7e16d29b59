package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestLoadFromEnvironment(t *testing.T) {
	cfg, err := Load(Flags{Projects: []string{"12"}}, env(map[string]string{
		"DBT_CLOUD_ACCESS_URL": "https://ab123.us1.dbt.com",
		"DBT_CLOUD_ACCOUNT_ID": "42",
		"DBT_CLOUD_TOKEN":      "dbtc_secret_value",
		"DATABASE_URL":         "postgres://u:pw@db:5432/cat",
	}))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate(true))
	require.Len(t, cfg.Connections, 1)
	c := cfg.Connections[0]
	require.Equal(t, int64(42), c.AccountID)
	require.Equal(t, "dbtc_secret_value", c.Token)
	require.Equal(t, []string{"12"}, c.Projects.Include)
	require.Equal(t, DefaultSchedule, c.Schedule)
	r := cfg.Redacted()
	require.NotContains(t, r.DatabaseURL, "pw")
	require.Equal(t, "REDACTED", r.Connections[0].Token)
}

func TestValidateReportsEverythingWithoutSecrets(t *testing.T) {
	cfg, err := Load(Flags{}, env(map[string]string{
		"DBT_CLOUD_ACCESS_URL": "http://cloud.getdbt.com/path",
		"DBT_CLOUD_ACCOUNT_ID": "abc",
		"DBT_CLOUD_TOKEN":      "dbtc_very_secret",
		"CRAWLER_SCHEDULE":     "every hour",
		"CRAWLER_LOG_LEVEL":    "loud",
	}))
	require.NoError(t, err)
	err = cfg.Validate(true)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"DBT_CLOUD_ACCESS_URL", "DBT_CLOUD_ACCOUNT_ID", "schedule", "log_level"} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "dbtc_very_secret")
}

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://ab123.us1.dbt.com", true},
		{"https://cloud.getdbt.com/", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:9", true},
		{"http://ab123.us1.dbt.com", false},
		{"https://user:pw@ab123.us1.dbt.com", false},
		{"https://ab123.us1.dbt.com/api", false},
		{"ftp://ab123.us1.dbt.com", false},
		{"https://ab123.us1.dbt.com?x=1", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := ValidateURL(tc.url)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	f := Filter{Include: []string{"analytics*", "7"}, Exclude: []string{"*legacy*"}}
	require.True(t, f.Match(1, "Analytics Core"))
	require.True(t, f.Match(7, "other"))
	require.False(t, f.Match(2, "analytics legacy"), "exclude wins")
	require.False(t, f.Match(3, "marketing"))
	require.True(t, Filter{}.Match(3, "anything"))
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("dbtc_file_token\n"), 0o644))
	file := filepath.Join(dir, "crawler.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
connections:
  - name: prod
    access_url: https://ab123.us1.dbt.com
    account_id: 5
    token_file: `+tokenFile+`
    schedule: "*/30 * * * *"
    environments: {exclude: ["dev*"]}
archive_after: 3
`), 0o600))
	cfg, err := Load(Flags{ConfigFile: file}, env(nil))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate(true))
	require.Equal(t, "dbtc_file_token", cfg.Connections[0].Token)
	require.Equal(t, 3, cfg.ArchiveAfter)
	require.Len(t, cfg.Warnings, 1, "a token file readable by others is warned about")

	require.NoError(t, os.WriteFile(file, []byte("connections: []\nunknown_key: 1\n"), 0o600))
	_, err = Load(Flags{ConfigFile: file}, env(nil))
	require.ErrorContains(t, err, "unknown_key")
}

// Every YAML key of the configuration types is documented in Settings.
func TestSettingsCoverEveryKey(t *testing.T) {
	documented := map[string]bool{}
	for _, s := range Settings() {
		if s.YAML != "" {
			documented[s.YAML] = true
		}
	}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			key := prefix + tag
			require.True(t, documented[key], "setting %s is not in Settings()", key)
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
				walk(key+"[].", f.Type.Elem())
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
}
