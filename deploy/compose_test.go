package deploy

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// composeFile is the subset of the Compose specification that
// docker-compose.yml uses; decoding refuses any other key, so a typo fails
// here rather than being ignored by docker compose.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]*struct{}      `yaml:"volumes"`
}

type composeService struct {
	Profiles  []string      `yaml:"profiles"`
	Image     string        `yaml:"image"`
	Build     *composeBuild `yaml:"build"`
	Command   []string      `yaml:"command"`
	Restart   string        `yaml:"restart"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	NetworkMode string            `yaml:"network_mode"`
	User        string            `yaml:"user"`
	ReadOnly    bool              `yaml:"read_only"`
	Tmpfs       []string          `yaml:"tmpfs"`
	CapDrop     []string          `yaml:"cap_drop"`
	SecurityOpt []string          `yaml:"security_opt"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
}

type composeBuild struct {
	Context    string            `yaml:"context"`
	Dockerfile string            `yaml:"dockerfile"`
	Args       map[string]string `yaml:"args"`
}

func readCompose(t *testing.T) *composeFile {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, "docker-compose.yml")))
	dec.KnownFields(true)
	var f composeFile
	require.NoError(t, dec.Decode(&f))
	return &f
}

// resolvedEnv interpolates a service's environment with the host's
// variables from hostEnv.
func resolvedEnv(t *testing.T, s composeService, hostEnv map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range s.Environment {
		r, err := interpolate(v, func(k string) string { return hostEnv[k] })
		require.NoError(t, err, k)
		out[k] = r
	}
	return out
}

func TestComposeFile(t *testing.T) {
	f := readCompose(t)
	require.ElementsMatch(t, []string{"postgres", "crawler", "emulator"}, keys(f.Services))
	pg, crawler, emulator := f.Services["postgres"], f.Services["crawler"], f.Services["emulator"]

	t.Run("postgres is checked before the crawler starts", func(t *testing.T) {
		require.True(t, strings.HasPrefix(pg.Image, "postgres:16"), pg.Image)
		require.NotNil(t, pg.Healthcheck)
		require.Contains(t, strings.Join(pg.Healthcheck.Test, " "), "pg_isready")
		require.Equal(t, "service_healthy", crawler.DependsOn["postgres"].Condition)
		for _, v := range pg.Volumes {
			name, _, _ := strings.Cut(v, ":")
			require.Contains(t, f.Volumes, name)
		}
	})

	t.Run("the crawler image is built from the repository's Dockerfile", func(t *testing.T) {
		for _, s := range []composeService{crawler, emulator} {
			require.NotNil(t, s.Build)
			_, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile))
			require.NoError(t, err)
			require.Equal(t, crawler.Image, s.Image, "both services run one image")
		}
		require.Equal(t, []string{"schedule"}, crawler.Command)
	})

	t.Run("the crawler reaches postgres with the credentials postgres is given", func(t *testing.T) {
		env := resolvedEnv(t, crawler, nil)
		u, err := url.Parse(env["DATABASE_URL"])
		require.NoError(t, err)
		pgEnv := resolvedEnv(t, pg, nil)
		require.Equal(t, "postgres", u.Hostname())
		require.Equal(t, pgEnv["POSTGRES_USER"], u.User.Username())
		pw, _ := u.User.Password()
		require.Equal(t, pgEnv["POSTGRES_PASSWORD"], pw)
		require.Equal(t, "/"+pgEnv["POSTGRES_DB"], u.Path)
	})

	t.Run("the metrics port is published", func(t *testing.T) {
		env := resolvedEnv(t, crawler, nil)
		_, port, err := net.SplitHostPort(env["CRAWLER_LISTEN"])
		require.NoError(t, err)
		require.Contains(t, crawler.Ports, "127.0.0.1:"+port+":"+port)
	})

	t.Run("containers run hardened", func(t *testing.T) {
		for name, s := range map[string]composeService{"crawler": crawler, "emulator": emulator} {
			require.True(t, s.ReadOnly, name)
			require.Equal(t, []string{"ALL"}, s.CapDrop, name)
			require.Contains(t, s.SecurityOpt, "no-new-privileges:true", name)
			require.Contains(t, s.Tmpfs, "/tmp", name)
			require.NotEmpty(t, s.User, name)
			require.False(t, strings.HasPrefix(s.User, "0"), name)
		}
	})

	t.Run("the emulator profile serves plain http on the crawler's loopback", func(t *testing.T) {
		require.Equal(t, []string{"emulator"}, emulator.Profiles)
		require.Empty(t, crawler.Profiles, "the crawler runs in every profile")
		require.Equal(t, "service:crawler", emulator.NetworkMode, "only a shared network namespace makes 127.0.0.1 reach the emulator")
		require.Len(t, emulator.Command, 3)
		require.Equal(t, []string{"emulate", "--listen"}, emulator.Command[:2])
		host, port, err := net.SplitHostPort(emulator.Command[2])
		require.NoError(t, err)

		env := resolvedEnv(t, crawler, nil)
		access, err := url.Parse(env["DBT_CLOUD_ACCESS_URL"])
		require.NoError(t, err)
		require.Equal(t, "http", access.Scheme)
		parsed, err := admin.ParseAccessURL(env["DBT_CLOUD_ACCESS_URL"])
		require.NoError(t, err)
		require.Equal(t, admin.HostLoopback, parsed.Kind, "plain http is accepted only for loopback hosts")
		require.Equal(t, port, access.Port())
		require.True(t, host == "0.0.0.0" || host == access.Hostname(), "the emulator listens where the crawler looks")
		require.Equal(t, dbtcloudtest.DefaultToken, env["DBT_CLOUD_TOKEN"], "the default token is the one the emulator accepts")
		account := dbtcloudtest.Generate(dbtcloudtest.DemoGenConfig()).Account.ID
		require.Equal(t, strconv.FormatInt(account, 10), env["DBT_CLOUD_ACCOUNT_ID"], "the default account is the one the emulator serves")
		requireValidConfig(t, env)
	})

	t.Run("values from .env point the crawler at dbt Cloud", func(t *testing.T) {
		env := resolvedEnv(t, crawler, map[string]string{
			"DBT_CLOUD_ACCESS_URL": "https://ab123.us1.dbt.com",
			"DBT_CLOUD_ACCOUNT_ID": "12345",
			"DBT_CLOUD_TOKEN":      "test-token",
			"POSTGRES_PASSWORD":    "s3cret",
		})
		require.Equal(t, "https://ab123.us1.dbt.com", env["DBT_CLOUD_ACCESS_URL"])
		requireValidConfig(t, env)
	})
}

// requireValidConfig loads the crawler's configuration from env alone, as
// the container does, and validates it.
func requireValidConfig(t *testing.T, env map[string]string) {
	t.Helper()
	cfg, err := config.Load(config.Flags{}, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.NoError(t, cfg.Validate(true))
	require.Len(t, cfg.Connections, 1)
	require.Equal(t, env["DBT_CLOUD_TOKEN"], cfg.Connections[0].Token)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
