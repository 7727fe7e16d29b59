package admin

import (
	"context"
	"iter"
	"net/url"
)

// Project is a dbt Cloud project (v3 ProjectResponse). Nested objects are
// nil when the API returns them null or absent.
type Project struct {
	ID          int64  `json:"id"`
	AccountID   int64  `json:"account_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	State       int    `json:"state"`
	// Type is 0 for a default project, 1 for a hybrid one.
	Type                   int    `json:"type"`
	ConnectionID           int64  `json:"connection_id"`
	RepositoryID           int64  `json:"repository_id"`
	DbtProjectSubdirectory string `json:"dbt_project_subdirectory"`
	// DocsJobID and FreshnessJobID name the jobs whose runs carry the
	// project's catalog.json and sources.json; 0 when unset.
	DocsJobID      int64       `json:"docs_job_id"`
	FreshnessJobID int64       `json:"freshness_job_id"`
	CreatedAt      Time        `json:"created_at"`
	UpdatedAt      Time        `json:"updated_at"`
	Connection     *Connection `json:"connection"`
	Repository     *Repository `json:"repository"`
	DocsJob        *Job        `json:"docs_job"`
	FreshnessJob   *Job        `json:"freshness_job"`
}

func (p Project) key() int64 { return p.ID }

// Connection is a warehouse connection as nested in projects and
// environments. Adapter-specific fields are not decoded.
type Connection struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"account_id"`
	Name      string `json:"name"`
	// Type is the adapter, e.g. "snowflake", "bigquery", "postgres".
	Type           string `json:"type"`
	AdapterVersion string `json:"adapter_version"`
	State          int    `json:"state"`
}

// Repository is a git repository as nested in projects and environments.
type Repository struct {
	ID               int64  `json:"id"`
	AccountID        int64  `json:"account_id"`
	Name             string `json:"name"`
	FullName         string `json:"full_name"`
	RemoteURL        string `json:"remote_url"`
	RemoteBackend    string `json:"remote_backend"`
	GitCloneStrategy string `json:"git_clone_strategy"`
	State            int    `json:"state"`
}

// Projects lists the account's active projects
// (GET /api/v3/accounts/{id}/projects/), ordered by id.
func (c *Client) Projects(ctx context.Context) iter.Seq2[Project, error] {
	q := url.Values{"order_by": {"id"}}
	return list[Project](ctx, c, "projects", c.accountPath("v3", "projects/"), q, 0)
}
