package config

// Setting documents one configuration option: its YAML key, environment
// variable and flag (any may be empty), default and meaning. docs/operations.md
// lists every setting; a test keeps the two in step.
type Setting struct {
	YAML        string
	Env         string
	Flag        string
	Default     string
	Description string
}

// Settings returns every configuration option.
func Settings() []Setting {
	return []Setting{
		{YAML: "connections", Description: "list of dbt Cloud connections (accounts) to crawl; with no file, the DBT_CLOUD_* variables describe one"},
		{YAML: "connections[].name", Default: "connection-N", Description: "label of the connection in logs, metrics and reports"},
		{YAML: "connections[].access_url", Env: "DBT_CLOUD_ACCESS_URL", Description: "the account's access URL, e.g. https://ab123.us1.dbt.com (required)"},
		{YAML: "connections[].discovery_url", Env: "DBT_CLOUD_DISCOVERY_URL", Default: "derived from the access URL", Description: "Discovery API endpoint override"},
		{YAML: "connections[].account_id", Env: "DBT_CLOUD_ACCOUNT_ID", Description: "numeric dbt Cloud account ID (required)"},
		{YAML: "connections[].token_env", Env: "DBT_CLOUD_TOKEN", Description: "environment variable holding the service account token or account-scoped personal access token"},
		{YAML: "connections[].token_file", Env: "DBT_CLOUD_TOKEN_FILE", Description: "file holding the token (warned about when readable by others)"},
		{YAML: "connections[].schedule", Env: "CRAWLER_SCHEDULE", Default: DefaultSchedule, Description: "five-field cron spec, UTC, for `crawler schedule`"},
		{YAML: "connections[].projects", Flag: "--project", Default: "all", Description: "project filter: include/exclude lists of IDs or name globs; exclude wins"},
		{YAML: "connections[].environments", Flag: "--environment", Default: "all deployment environments", Description: "environment filter: include/exclude lists of IDs or name globs"},
		{YAML: "connections[].jobs", Flag: "--job", Default: "all", Description: "job filter: include/exclude lists of IDs or name globs"},
		{YAML: "connections[].include_development", Default: "false", Description: "also crawl development environments"},
		{YAML: "connections[].discovery", Default: "true", Description: "use the Discovery API; false crawls from artifacts alone"},
		{YAML: "connections[].admin_requests_per_minute", Default: "4800", Description: "client-side Admin API budget per account (dbt's documented limit is 5,000/min)"},
		{YAML: "connections[].discovery_requests_per_minute", Default: "450", Description: "client-side Discovery API budget (dbt's documented limit is 500/min)"},
		{YAML: "database_url", Env: "DATABASE_URL", Flag: "--database-url", Default: "embedded PostgreSQL under data_dir", Description: "PostgreSQL DSN of the catalog"},
		{YAML: "data_dir", Env: "CRAWLER_DATA_DIR", Flag: "--data-dir", Default: "~/.local/share/dbt-crawler", Description: "where the embedded database and local state live"},
		{YAML: "archive_after", Env: "CRAWLER_ARCHIVE_AFTER", Default: "2", Description: "consecutive complete crawls an asset must be missing from before it is archived"},
		{YAML: "concurrency", Env: "CRAWLER_CONCURRENCY", Default: "3, or 2 with fewer than 3 CPUs", Description: "environments crawled at once"},
		{YAML: "crawl_timeout", Env: "CRAWLER_CRAWL_TIMEOUT", Default: "2h", Description: "upper bound of one crawl of one connection"},
		{YAML: "applied_full_read_every", Env: "CRAWLER_APPLIED_FULL_READ_EVERY", Default: "24h", Description: "crawls in between read from the Discovery API only the assets whose artifacts changed; negative (e.g. -1s): every crawl reads the whole applied state"},
		{YAML: "request_timeout", Default: "60s", Description: "upper bound of one HTTP request to dbt Cloud, until response headers"},
		{YAML: "shutdown_timeout", Default: "30s", Description: "how long SIGTERM waits for the crawl in flight before rolling it back"},
		{YAML: "statement_timeout", Default: "none", Description: "PostgreSQL statement_timeout for the crawler's connections"},
		{YAML: "max_artifact_bytes", Default: "2147483648", Description: "artifacts larger than this are refused"},
		{YAML: "max_json_depth", Default: "256", Description: "artifacts nested deeper than this are refused"},
		{YAML: "listen", Env: "CRAWLER_LISTEN", Default: DefaultListen, Description: "address of /healthz, /readyz and /metrics for `crawler schedule`"},
		{YAML: "log_level", Env: "CRAWLER_LOG_LEVEL", Default: "info", Description: "debug, info, warn or error"},
		{YAML: "log_format", Env: "CRAWLER_LOG_FORMAT", Default: "json", Description: "json or console"},
		{Env: "CRAWLER_CONFIG", Flag: "--config", Description: "path of the YAML configuration file"},
	}
}
