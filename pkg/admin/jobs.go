package admin

import (
	"context"
	"iter"
	"net/url"
	"strconv"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// Job is a dbt Cloud job definition (v2 HumanReadableJobDefinitionResponse).
type Job struct {
	ID            int64  `json:"id"`
	AccountID     int64  `json:"account_id"`
	ProjectID     int64  `json:"project_id"`
	EnvironmentID int64  `json:"environment_id"`
	Name          string `json:"name"`
	Description   string `json:"description"`
	DbtVersion    string `json:"dbt_version"`
	// JobType is "scheduled", "ci", "merge", "other", ... ("" when absent).
	JobType      string   `json:"job_type"`
	ExecuteSteps []string `json:"execute_steps"`
	// GenerateDocs is "Generate docs on run": the job's runs produce
	// catalog.json.
	GenerateDocs bool `json:"generate_docs"`
	// RunGenerateSources is "Run source freshness": runs produce sources.json.
	RunGenerateSources       bool         `json:"run_generate_sources"`
	State                    int          `json:"state"`
	DeferringJobDefinitionID int64        `json:"deferring_job_definition_id"`
	DeferringEnvironmentID   int64        `json:"deferring_environment_id"`
	Triggers                 *JobTriggers `json:"triggers"`
	Settings                 *JobSettings `json:"settings"`
	Schedule                 *JobSchedule `json:"schedule"`
	CreatedAt                Time         `json:"created_at"`
	UpdatedAt                Time         `json:"updated_at"`
	Environment              *Environment `json:"environment"`
	MostRecentRun            *Run         `json:"most_recent_run"`
	MostRecentCompletedRun   *Run         `json:"most_recent_completed_run"`
}

func (j Job) key() int64 { return j.ID }

// JobTriggers says what starts a job's runs.
type JobTriggers struct {
	GithubWebhook      bool `json:"github_webhook"`
	GitProviderWebhook bool `json:"git_provider_webhook"`
	Schedule           bool `json:"schedule"`
	OnMerge            bool `json:"on_merge"`
	CustomBranchOnly   bool `json:"custom_branch_only"`
}

// JobSettings are a job's dbt settings.
type JobSettings struct {
	Threads    int    `json:"threads"`
	TargetName string `json:"target_name"`
}

// JobSchedule is a job's schedule; only the cron expression is decoded.
type JobSchedule struct {
	Cron string `json:"cron"`
}

// Catalog converts j to the catalog's Job.
func (j Job) Catalog() catalog.Job {
	return catalog.Job{
		ID:            j.ID,
		EnvironmentID: j.EnvironmentID,
		Name:          j.Name,
		GenerateDocs:  j.GenerateDocs,
		RunFreshness:  j.RunGenerateSources,
		ExecuteSteps:  append([]string(nil), j.ExecuteSteps...),
		State:         j.State,
	}
}

// JobFilter selects jobs; zero fields do not filter.
type JobFilter struct {
	ProjectID     int64
	EnvironmentID int64
	// IncludeMostRecentCompletedRun fills Job.MostRecentCompletedRun,
	// saving one runs call per job.
	IncludeMostRecentCompletedRun bool
}

// Jobs lists the account's active jobs (GET /api/v2/accounts/{a}/jobs/),
// ordered by id and filtered by f.
func (c *Client) Jobs(ctx context.Context, f JobFilter) iter.Seq2[Job, error] {
	q := url.Values{"order_by": {"id"}}
	what := "jobs"
	if f.ProjectID != 0 {
		q.Set("project_id", strconv.FormatInt(f.ProjectID, 10))
		what += " of project " + strconv.FormatInt(f.ProjectID, 10)
	}
	if f.EnvironmentID != 0 {
		q.Set("environment_id", strconv.FormatInt(f.EnvironmentID, 10))
		what += " of environment " + strconv.FormatInt(f.EnvironmentID, 10)
	}
	if f.IncludeMostRecentCompletedRun {
		q.Set("include_related", includeRelated("most_recent_completed_run"))
	}
	return list[Job](ctx, c, what, c.accountPath("v2", "jobs/"), q, 0)
}
