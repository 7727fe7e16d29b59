package admin

import (
	"context"
	"iter"
	"net/url"
	"strconv"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// Environment is a dbt Cloud environment (v3 EnvironmentV3Response, also
// nested in v2 runs and jobs).
type Environment struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"account_id"`
	ProjectID int64  `json:"project_id"`
	Name      string `json:"name"`
	// Type is "deployment" or "development".
	Type string `json:"type"`
	// DeploymentType is "production", "staging" or "" (general).
	DeploymentType         string      `json:"deployment_type"`
	DbtVersion             string      `json:"dbt_version"`
	RawDbtVersion          string      `json:"raw_dbt_version"`
	UseCustomBranch        bool        `json:"use_custom_branch"`
	CustomBranch           string      `json:"custom_branch"`
	SupportsDocs           bool        `json:"supports_docs"`
	State                  int         `json:"state"`
	ConnectionID           int64       `json:"connection_id"`
	CredentialsID          int64       `json:"credentials_id"`
	RepositoryID           int64       `json:"repository_id"`
	DbtProjectSubdirectory string      `json:"dbt_project_subdirectory"`
	CreatedAt              Time        `json:"created_at"`
	UpdatedAt              Time        `json:"updated_at"`
	Connection             *Connection `json:"connection"`
	Repository             *Repository `json:"repository"`
	Project                *Project    `json:"project"`
}

func (e Environment) key() int64 { return e.ID }

// Environments lists a project's active environments
// (GET /api/v3/accounts/{a}/projects/{p}/environments/), ordered by id.
func (c *Client) Environments(ctx context.Context, projectID int64) iter.Seq2[Environment, error] {
	q := url.Values{"order_by": {"id"}}
	path := c.accountPath("v3", "projects/"+strconv.FormatInt(projectID, 10)+"/environments/")
	return list[Environment](ctx, c, "environments of project "+strconv.FormatInt(projectID, 10), path, q, 0)
}

// Scope returns the catalog scope of environment e in project p. The
// account and project IDs fall back to p's when e lacks them.
func (e Environment) Scope(p Project) catalog.Scope {
	accountID, projectID := e.AccountID, e.ProjectID
	if accountID == 0 {
		accountID = p.AccountID
	}
	if projectID == 0 {
		projectID = p.ID
	}
	return catalog.Scope{
		AccountID:       accountID,
		ProjectID:       projectID,
		EnvironmentID:   e.ID,
		ProjectName:     p.Name,
		EnvironmentName: e.Name,
		EnvironmentType: e.Type,
		DeploymentType:  e.DeploymentType,
	}
}
