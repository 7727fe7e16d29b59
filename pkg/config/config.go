// Package config parses and validates the crawler's configuration, from
// flags, then environment variables, then a YAML file (--config), in that
// order of precedence. Validate reports every problem at once and never
// prints a secret.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

// Defaults.
const (
	DefaultSchedule = "0 * * * *"
	// DefaultAdminPerMinute and DefaultDiscoveryPerMinute keep headroom
	// under dbt's documented limits (AdminLimitPerMinute, DiscoveryLimitPerMinute).
	DefaultAdminPerMinute     = 4800
	DefaultDiscoveryPerMinute = 450
	AdminLimitPerMinute       = 5000
	DiscoveryLimitPerMinute   = 500
	DefaultListen             = ":8080"
	DefaultCrawlTimeout       = 2 * time.Hour
	// DefaultAppliedFullReadEvery is how often an environment's whole
	// Discovery applied state is read when crawls in between can read
	// only what changed.
	DefaultAppliedFullReadEvery = 24 * time.Hour
	DefaultArchiveAfter         = 2
	DefaultMaxArtifactBytes     = 2 << 30 // 2 GiB
	DefaultMaxJSONDepth         = 256
	DefaultRequestTimeout       = 60 * time.Second
	DefaultShutdownTimeout      = 30 * time.Second
)

// DefaultConcurrency returns how many environments a crawl fetches and
// builds at once when the configuration does not say: three, or two when
// the process may use fewer than three CPUs (GOMAXPROCS, which follows a
// container's CPU limit). Fetching and building an environment is mostly
// decoding, CPU work: on two CPUs a third environment in flight adds
// contention and memory, not speed (docs/benchmarks.md: on two cores, 5%
// less CPU and a fifth less peak memory at two, for the same wall time or
// a little less).
func DefaultConcurrency() int {
	if runtime.GOMAXPROCS(0) < 3 {
		return 2
	}
	return 3
}

// Config is the crawler's whole configuration.
type Config struct {
	// Connections are the dbt Cloud accounts to crawl.
	Connections []Connection `yaml:"connections"`
	// DatabaseURL is the catalog's PostgreSQL DSN; empty runs an embedded
	// private PostgreSQL under DataDir.
	DatabaseURL string `yaml:"database_url"`
	// DataDir holds the embedded database and other local state.
	DataDir string `yaml:"data_dir"`
	// ArchiveAfter is the number of consecutive complete crawls an asset
	// must be missing from before it is archived.
	ArchiveAfter int `yaml:"archive_after"`
	// Concurrency is how many environments are crawled at once.
	Concurrency int `yaml:"concurrency"`
	// CrawlTimeout bounds one crawl of one connection.
	CrawlTimeout time.Duration `yaml:"crawl_timeout"`
	// AppliedFullReadEvery is how long crawls may read from the Discovery
	// API only the assets whose artifacts changed before one reads an
	// environment's whole applied state again; negative: always whole.
	AppliedFullReadEvery time.Duration `yaml:"applied_full_read_every"`
	// RequestTimeout bounds one HTTP request to dbt Cloud (until headers).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ShutdownTimeout is how long SIGTERM waits for a crawl in flight.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// StatementTimeout, when set, bounds every database statement.
	StatementTimeout time.Duration `yaml:"statement_timeout"`
	// MaxArtifactBytes refuses larger artifacts.
	MaxArtifactBytes int64 `yaml:"max_artifact_bytes"`
	// MaxJSONDepth refuses artifacts nested deeper.
	MaxJSONDepth int `yaml:"max_json_depth"`
	// Listen is the address of /healthz, /readyz and /metrics (schedule).
	Listen string `yaml:"listen"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is json or console.
	LogFormat string `yaml:"log_format"`

	// Warnings are non-fatal findings of Load (e.g. a token file readable by
	// others).
	Warnings []string `yaml:"-"`
}

// Connection is one dbt Cloud account to crawl.
type Connection struct {
	// Name labels the connection in logs and metrics.
	Name string `yaml:"name"`
	// AccessURL is the account's access URL, e.g. https://ab123.us1.dbt.com.
	AccessURL string `yaml:"access_url"`
	// DiscoveryURL overrides the Discovery endpoint derived from AccessURL.
	DiscoveryURL string `yaml:"discovery_url"`
	// AccountID is the numeric dbt Cloud account ID.
	AccountID int64 `yaml:"account_id"`
	// Token is the service account token or account-scoped personal access
	// token. It is never read from the YAML file itself: use TokenEnv or
	// TokenFile there.
	Token string `yaml:"-"`
	// TokenEnv names an environment variable holding the token.
	TokenEnv string `yaml:"token_env"`
	// TokenFile is a file holding the token.
	TokenFile string `yaml:"token_file"`
	// Schedule is a five-field cron spec in UTC for `crawler schedule`.
	Schedule string `yaml:"schedule"`
	// Projects, Environments and Jobs select what to crawl.
	Projects     Filter `yaml:"projects"`
	Environments Filter `yaml:"environments"`
	Jobs         Filter `yaml:"jobs"`
	// IncludeDevelopment also crawls development environments.
	IncludeDevelopment bool `yaml:"include_development"`
	// Discovery enables the Discovery API (default true).
	Discovery *bool `yaml:"discovery"`
	// AdminPerMinute and DiscoveryPerMinute are the client-side request
	// budgets, under dbt's documented limits.
	AdminPerMinute     int `yaml:"admin_requests_per_minute"`
	DiscoveryPerMinute int `yaml:"discovery_requests_per_minute"`
}

// UseDiscovery reports whether the Discovery API is enabled.
func (c Connection) UseDiscovery() bool { return c.Discovery == nil || *c.Discovery }

// Filter includes and excludes by numeric ID or name glob ("*", "?",
// "[...]"). Exclude wins. An empty Include selects everything.
type Filter struct {
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
}

// Match reports whether an object with this id and name is selected.
func (f Filter) Match(id int64, name string) bool {
	for _, p := range f.Exclude {
		if matches(p, id, name) {
			return false
		}
	}
	if len(f.Include) == 0 {
		return true
	}
	for _, p := range f.Include {
		if matches(p, id, name) {
			return true
		}
	}
	return false
}

func matches(pattern string, id int64, name string) bool {
	pattern = strings.TrimSpace(pattern)
	if n, err := strconv.ParseInt(pattern, 10, 64); err == nil {
		return n == id
	}
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(name))
	return err == nil && ok
}

// Env is how the package reads environment variables (os.Getenv in main).
type Env func(string) string

// Flags are the command-line values that override the environment and file.
type Flags struct {
	ConfigFile   string
	DatabaseURL  string
	DataDir      string
	Projects     []string
	Environments []string
	Jobs         []string
}

// Load builds the configuration: defaults, then the YAML file (flags'
// ConfigFile, else CRAWLER_CONFIG), then environment variables, then flags.
// With no file, the environment describes a single connection.
func Load(fl Flags, getenv Env) (*Config, error) {
	cfg := &Config{}
	file := fl.ConfigFile
	if file == "" {
		file = getenv("CRAWLER_CONFIG")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		if err := Parse(b, cfg); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	applyEnv(cfg, getenv)
	if fl.DatabaseURL != "" {
		cfg.DatabaseURL = fl.DatabaseURL
	}
	if fl.DataDir != "" {
		cfg.DataDir = fl.DataDir
	}
	for i := range cfg.Connections {
		c := &cfg.Connections[i]
		if len(fl.Projects) > 0 {
			c.Projects.Include = fl.Projects
		}
		if len(fl.Environments) > 0 {
			c.Environments.Include = fl.Environments
		}
		if len(fl.Jobs) > 0 {
			c.Jobs.Include = fl.Jobs
		}
		if err := resolveToken(cfg, c, getenv); err != nil {
			return nil, err
		}
	}
	cfg.setDefaults()
	return cfg, nil
}

// Parse decodes a YAML document into cfg, rejecting unknown keys.
func Parse(b []byte, cfg *Config) error {
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func applyEnv(cfg *Config, getenv Env) {
	set := func(dst *string, key string) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			*dst = v
		}
	}
	set(&cfg.DatabaseURL, "DATABASE_URL")
	set(&cfg.DataDir, "CRAWLER_DATA_DIR")
	set(&cfg.Listen, "CRAWLER_LISTEN")
	set(&cfg.LogLevel, "CRAWLER_LOG_LEVEL")
	set(&cfg.LogFormat, "CRAWLER_LOG_FORMAT")
	if v := getenv("CRAWLER_ARCHIVE_AFTER"); v != "" {
		cfg.ArchiveAfter, _ = strconv.Atoi(v)
		if cfg.ArchiveAfter == 0 {
			cfg.Warnings = append(cfg.Warnings, "CRAWLER_ARCHIVE_AFTER is not a positive number; using the default")
		}
	}
	if v := getenv("CRAWLER_CONCURRENCY"); v != "" {
		cfg.Concurrency, _ = strconv.Atoi(v)
	}
	if v := getenv("CRAWLER_CRAWL_TIMEOUT"); v != "" {
		cfg.CrawlTimeout, _ = time.ParseDuration(v)
	}
	if v := getenv("CRAWLER_APPLIED_FULL_READ_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			cfg.Warnings = append(cfg.Warnings, "CRAWLER_APPLIED_FULL_READ_EVERY is not a duration such as 24h; using the default")
		}
		cfg.AppliedFullReadEvery = d
	}
	access := strings.TrimSpace(getenv("DBT_CLOUD_ACCESS_URL"))
	account := strings.TrimSpace(getenv("DBT_CLOUD_ACCOUNT_ID"))
	if access == "" && account == "" && getenv("DBT_CLOUD_TOKEN") == "" && getenv("DBT_CLOUD_TOKEN_FILE") == "" {
		return
	}
	if len(cfg.Connections) == 0 {
		cfg.Connections = append(cfg.Connections, Connection{Name: "default"})
	}
	c := &cfg.Connections[0]
	if access != "" {
		c.AccessURL = access
	}
	set(&c.DiscoveryURL, "DBT_CLOUD_DISCOVERY_URL")
	set(&c.Schedule, "CRAWLER_SCHEDULE")
	if account != "" {
		id, err := strconv.ParseInt(account, 10, 64)
		if err != nil {
			id = -1 // reported by Validate
		}
		c.AccountID = id
	}
	if getenv("DBT_CLOUD_TOKEN") != "" {
		c.TokenEnv = "DBT_CLOUD_TOKEN"
	}
	set(&c.TokenFile, "DBT_CLOUD_TOKEN_FILE")
}

func resolveToken(cfg *Config, c *Connection, getenv Env) error {
	if c.TokenEnv != "" {
		c.Token = strings.TrimSpace(getenv(c.TokenEnv))
	}
	if c.Token == "" && c.TokenFile != "" {
		st, err := os.Stat(c.TokenFile)
		if err != nil {
			return fmt.Errorf("connection %q: token file: %w", c.Name, err)
		}
		if st.Mode().Perm()&0o004 != 0 {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("connection %q: token file %s is readable by other users; restrict it with chmod 600", c.Name, c.TokenFile))
		}
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("connection %q: token file: %w", c.Name, err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	return nil
}

func (cfg *Config) setDefaults() {
	if cfg.ArchiveAfter <= 0 {
		cfg.ArchiveAfter = DefaultArchiveAfter
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency()
	}
	if cfg.CrawlTimeout <= 0 {
		cfg.CrawlTimeout = DefaultCrawlTimeout
	}
	if cfg.AppliedFullReadEvery == 0 {
		cfg.AppliedFullReadEvery = DefaultAppliedFullReadEvery
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.MaxArtifactBytes <= 0 {
		cfg.MaxArtifactBytes = DefaultMaxArtifactBytes
	}
	if cfg.MaxJSONDepth <= 0 {
		cfg.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	if cfg.LogFormat == "" {
		cfg.LogFormat = "json"
	}
	if cfg.DataDir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cfg.DataDir = home + "/.local/share/dbt-crawler"
		} else {
			cfg.DataDir = ".dbt-crawler"
		}
	}
	for i := range cfg.Connections {
		c := &cfg.Connections[i]
		if c.Name == "" {
			c.Name = fmt.Sprintf("connection-%d", i+1)
		}
		if c.Schedule == "" {
			c.Schedule = DefaultSchedule
		}
		if c.AdminPerMinute <= 0 {
			c.AdminPerMinute = DefaultAdminPerMinute
		}
		if c.DiscoveryPerMinute <= 0 {
			c.DiscoveryPerMinute = DefaultDiscoveryPerMinute
		}
	}
}

// Validate reports every problem of the configuration at once, each naming
// the setting and the fix. needConnections is false for commands that do not
// talk to dbt Cloud (migrate, ingest).
func (cfg *Config) Validate(needConnections bool) error {
	var errs []error
	if needConnections && len(cfg.Connections) == 0 {
		errs = append(errs, errors.New("no dbt Cloud connection: set DBT_CLOUD_ACCESS_URL, DBT_CLOUD_ACCOUNT_ID and DBT_CLOUD_TOKEN (or DBT_CLOUD_TOKEN_FILE), or list connections in the --config file"))
	}
	if cfg.DatabaseURL != "" {
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql" && !strings.Contains(cfg.DatabaseURL, "=")) {
			errs = append(errs, errors.New("DATABASE_URL is not a PostgreSQL URL: use postgres://user@host:5432/dbname"))
		}
	}
	if cfg.ArchiveAfter > 1000 {
		errs = append(errs, errors.New("archive_after above 1000 would never archive: use a small number of crawls such as 2"))
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: use debug, info, warn or error", cfg.LogLevel))
	}
	switch cfg.LogFormat {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("log_format %q: use json or console", cfg.LogFormat))
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: use host:port, e.g. :8080", cfg.Listen))
	}
	names := map[string]bool{}
	for i, c := range cfg.Connections {
		if needConnections {
			errs = append(errs, c.validate(i)...)
		}
		if names[c.Name] {
			errs = append(errs, fmt.Errorf("connection %q is listed twice: give each connection its own name", c.Name))
		}
		names[c.Name] = true
	}
	return errors.Join(errs...)
}

func (c Connection) validate(i int) []error {
	var errs []error
	label := fmt.Sprintf("connection %q", c.Name)
	if c.AccessURL == "" {
		errs = append(errs, fmt.Errorf("%s: access URL missing: set DBT_CLOUD_ACCESS_URL (or access_url) to your account's access URL, e.g. https://ab123.us1.dbt.com", label))
	} else if err := ValidateURL(c.AccessURL); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", label, err))
	}
	if c.DiscoveryURL != "" {
		if err := validateEndpoint(c.DiscoveryURL); err != nil {
			errs = append(errs, fmt.Errorf("%s: DBT_CLOUD_DISCOVERY_URL: %w", label, err))
		}
	}
	if c.AccountID <= 0 {
		errs = append(errs, fmt.Errorf("%s: account ID missing or not a positive number: set DBT_CLOUD_ACCOUNT_ID (or account_id) to the number in your dbt Cloud URL (/accounts/<id>/)", label))
	}
	if c.Token == "" {
		errs = append(errs, fmt.Errorf("%s: token missing: set DBT_CLOUD_TOKEN or DBT_CLOUD_TOKEN_FILE (or token_env / token_file) to a service account token or an account-scoped personal access token", label))
	}
	if _, err := cron.ParseStandard(c.Schedule); err != nil {
		errs = append(errs, fmt.Errorf("%s: schedule %q is not a cron spec (%v): use five fields, e.g. \"0 * * * *\" for hourly", label, c.Schedule, err))
	}
	if c.AdminPerMinute > AdminLimitPerMinute {
		errs = append(errs, fmt.Errorf("%s: admin_requests_per_minute %d exceeds dbt's documented limit of %d", label, c.AdminPerMinute, AdminLimitPerMinute))
	}
	if c.DiscoveryPerMinute > DiscoveryLimitPerMinute {
		errs = append(errs, fmt.Errorf("%s: discovery_requests_per_minute %d exceeds dbt's documented limit of %d", label, c.DiscoveryPerMinute, DiscoveryLimitPerMinute))
	}
	for _, f := range []struct {
		name string
		f    Filter
	}{{"projects", c.Projects}, {"environments", c.Environments}, {"jobs", c.Jobs}} {
		for _, p := range append(append([]string{}, f.f.Include...), f.f.Exclude...) {
			if _, err := path.Match(p, ""); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s filter %q is not a valid glob", label, f.name, p))
			}
		}
	}
	return errs
}

// ValidateURL checks an access URL with the Admin API client's own rules
// (admin.ParseAccessURL): https, or http for loopback hosts only; a host;
// no credentials, path, query or fragment; not a Discovery or website host.
func ValidateURL(raw string) error {
	_, err := admin.ParseAccessURL(raw)
	return err
}

// validateEndpoint checks a Discovery endpoint override: an absolute URL
// without credentials, https unless the host is loopback.
func validateEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not a URL: use e.g. https://ab123.metadata.us1.dbt.com/graphql")
	}
	if u.User != nil {
		return errors.New("must not contain credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("plain http is accepted only for loopback hosts: use https")
	default:
		return fmt.Errorf("scheme %q is not supported: use https", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redacted returns a copy safe to print: tokens removed, the database
// password hidden.
func (cfg *Config) Redacted() Config {
	out := *cfg
	out.Connections = append([]Connection(nil), cfg.Connections...)
	for i := range out.Connections {
		if out.Connections[i].Token != "" {
			out.Connections[i].Token = "REDACTED"
		}
	}
	if u, err := url.Parse(cfg.DatabaseURL); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
			out.DatabaseURL = u.String()
		}
	}
	return out
}
