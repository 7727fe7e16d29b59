package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strconv"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// RunStatus is a run's (or run step's) state. Known codes are dbt Cloud's;
// any other code decodes as RunStatusUnknown, with the raw code kept in the
// StatusCode field beside it.
type RunStatus int

// dbt Cloud's run status codes.
const (
	RunStatusUnknown   RunStatus = 0
	RunStatusQueued    RunStatus = 1
	RunStatusStarting  RunStatus = 2
	RunStatusRunning   RunStatus = 3
	RunStatusSuccess   RunStatus = 10
	RunStatusError     RunStatus = 20
	RunStatusCancelled RunStatus = 30
)

// ParseRunStatus maps a raw status code to a RunStatus, RunStatusUnknown
// for codes dbt Cloud does not document.
func ParseRunStatus(code int) RunStatus {
	switch s := RunStatus(code); s {
	case RunStatusQueued, RunStatusStarting, RunStatusRunning, RunStatusSuccess, RunStatusError, RunStatusCancelled:
		return s
	}
	return RunStatusUnknown
}

// IsSuccess reports whether the run succeeded.
func (s RunStatus) IsSuccess() bool { return s == RunStatusSuccess }

// IsError reports whether the run failed.
func (s RunStatus) IsError() bool { return s == RunStatusError }

// IsCancelled reports whether the run was cancelled.
func (s RunStatus) IsCancelled() bool { return s == RunStatusCancelled }

// IsFinished reports whether the run reached a terminal state (success,
// error or cancelled). Unknown statuses are not finished.
func (s RunStatus) IsFinished() bool {
	return s == RunStatusSuccess || s == RunStatusError || s == RunStatusCancelled
}

// String returns dbt Cloud's name for the status.
func (s RunStatus) String() string {
	switch s {
	case RunStatusQueued:
		return "Queued"
	case RunStatusStarting:
		return "Starting"
	case RunStatusRunning:
		return "Running"
	case RunStatusSuccess:
		return "Success"
	case RunStatusError:
		return "Error"
	case RunStatusCancelled:
		return "Cancelled"
	}
	return "Unknown"
}

// Run is a dbt Cloud run (v2 RunResponse). Trigger, Job and Environment
// are nil unless requested with include_related and returned; RunSteps is
// filled by Client.Run with includeSteps.
type Run struct {
	ID              int64 `json:"id"`
	TriggerID       int64 `json:"trigger_id"`
	AccountID       int64 `json:"account_id"`
	ProjectID       int64 `json:"project_id"`
	EnvironmentID   int64 `json:"environment_id"`
	JobDefinitionID int64 `json:"job_definition_id"`
	// Status is the mapped status; StatusCode is the raw code.
	Status          RunStatus `json:"-"`
	StatusCode      int       `json:"status"`
	StatusHumanized string    `json:"status_humanized"`
	StatusMessage   string    `json:"status_message"`
	DbtVersion      string    `json:"dbt_version"`
	GitBranch       string    `json:"git_branch"`
	GitSHA          string    `json:"git_sha"`
	InProgress      bool      `json:"in_progress"`
	IsComplete      bool      `json:"is_complete"`
	IsSuccess       bool      `json:"is_success"`
	IsError         bool      `json:"is_error"`
	IsCancelled     bool      `json:"is_cancelled"`
	// ArtifactsSaved, HasDocsGenerated (catalog.json exists) and
	// HasSourcesGenerated (sources.json exists) say which artifacts can be
	// fetched without a 404.
	ArtifactsSaved      bool   `json:"artifacts_saved"`
	ArtifactS3Path      string `json:"artifact_s3_path"`
	HasDocsGenerated    bool   `json:"has_docs_generated"`
	HasSourcesGenerated bool   `json:"has_sources_generated"`
	DeferringRunID      int64  `json:"deferring_run_id"`
	RetryingRunID       int64  `json:"retrying_run_id"`
	CreatedAt           Time   `json:"created_at"`
	UpdatedAt           Time   `json:"updated_at"`
	DequeuedAt          Time   `json:"dequeued_at"`
	StartedAt           Time   `json:"started_at"`
	FinishedAt          Time   `json:"finished_at"`
	// Duration, QueuedDuration and RunDuration are dbt Cloud's "HH:MM:SS"
	// strings; see ParseDuration.
	Duration       string       `json:"duration"`
	QueuedDuration string       `json:"queued_duration"`
	RunDuration    string       `json:"run_duration"`
	Href           string       `json:"href"`
	Trigger        *RunTrigger  `json:"trigger"`
	Job            *Job         `json:"job"`
	Environment    *Environment `json:"environment"`
	RunSteps       []RunStep    `json:"run_steps"`
}

func (r Run) key() int64 { return r.ID }

// UnmarshalJSON decodes a run, mapping its status code and filling
// JobDefinitionID from job_id when only the alias is present.
func (r *Run) UnmarshalJSON(b []byte) error {
	type plain Run
	var v struct {
		plain
		JobID int64 `json:"job_id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Run(v.plain)
	if r.JobDefinitionID == 0 {
		r.JobDefinitionID = v.JobID
	}
	r.Status = ParseRunStatus(r.StatusCode)
	return nil
}

// RunTrigger says why a run started.
type RunTrigger struct {
	ID              int64  `json:"id"`
	Cause           string `json:"cause"`
	CauseCategory   string `json:"cause_category"`
	JobDefinitionID int64  `json:"job_definition_id"`
	GitBranch       string `json:"git_branch"`
	GitSHA          string `json:"git_sha"`
}

// RunStep is one command of a run. Index is 1-based and is the step
// parameter of Client.Artifact.
type RunStep struct {
	ID        int64  `json:"id"`
	RunID     int64  `json:"run_id"`
	AccountID int64  `json:"account_id"`
	Index     int    `json:"index"`
	Name      string `json:"name"`
	// Status is the mapped status; StatusCode is the raw code.
	Status          RunStatus `json:"-"`
	StatusCode      int       `json:"status"`
	StatusHumanized string    `json:"status_humanized"`
	Logs            string    `json:"logs"`
	StartedAt       Time      `json:"started_at"`
	FinishedAt      Time      `json:"finished_at"`
}

// UnmarshalJSON decodes a step and maps its status code.
func (s *RunStep) UnmarshalJSON(b []byte) error {
	type plain RunStep
	if err := json.Unmarshal(b, (*plain)(s)); err != nil {
		return err
	}
	s.Status = ParseRunStatus(s.StatusCode)
	return nil
}

// Catalog converts r to the catalog's Run. DurationSeconds comes from the
// duration string, or from the timestamps when that is missing.
func (r Run) Catalog() catalog.Run {
	out := catalog.Run{
		ID:                   r.ID,
		JobID:                r.JobDefinitionID,
		Status:               r.StatusCode,
		StatusText:           r.StatusHumanized,
		GitSHA:               r.GitSHA,
		HasDocsGenerated:     r.HasDocsGenerated,
		HasSourcesGenerated:  r.HasSourcesGenerated,
		CreatedAt:            r.CreatedAt.Time,
		FinishedAt:           r.FinishedAt.Time,
		ArtifactsSaved:       r.ArtifactsSaved,
		InProgressOrQueued:   !r.Status.IsFinished() && r.Status != RunStatusUnknown,
		IsCompleteAndSuccess: r.Status.IsSuccess(),
	}
	if out.StatusText == "" {
		out.StatusText = r.Status.String()
	}
	if d, err := ParseDuration(r.Duration); err == nil && r.Duration != "" {
		out.DurationSeconds = d.Seconds()
	} else if !r.FinishedAt.IsZero() && !r.CreatedAt.IsZero() {
		out.DurationSeconds = r.FinishedAt.Sub(r.CreatedAt.Time).Seconds()
	}
	if r.Trigger != nil {
		out.TriggerCause = r.Trigger.Cause
	}
	return out
}

// RunFilter selects runs; zero fields do not filter.
type RunFilter struct {
	// JobID is sent as job_definition_id.
	JobID         int64
	EnvironmentID int64
	ProjectID     int64
	// Status filters on one status code.
	Status              RunStatus
	HasDocsGenerated    *bool
	HasSourcesGenerated *bool
	// IDGreaterThan (id__gt) returns only runs newer than a watermark; with
	// the default ascending id order this pages stably while runs arrive.
	IDGreaterThan int64
	// OrderBy is "id" (the default), "created_at" or "finished_at", with a
	// "-" prefix for descending order.
	OrderBy string
	// Limit stops the listing after this many runs (0 = all), and shrinks
	// the page size to match, e.g. Limit 1 with OrderBy "-id" for the
	// latest run.
	Limit int
	// IncludeRelated names related objects to embed, e.g. "trigger", "job".
	IncludeRelated []string
}

// Runs lists the account's runs (GET /api/v2/accounts/{a}/runs/) that
// match f. Runs of deleted jobs are included, as dbt Cloud does by default.
func (c *Client) Runs(ctx context.Context, f RunFilter) iter.Seq2[Run, error] {
	q := url.Values{}
	what := "runs"
	setID := func(name string, v int64) {
		if v != 0 {
			q.Set(name, strconv.FormatInt(v, 10))
			what += fmt.Sprintf(" %s=%d", name, v)
		}
	}
	setID("job_definition_id", f.JobID)
	setID("environment_id", f.EnvironmentID)
	setID("project_id", f.ProjectID)
	setID("status", int64(f.Status))
	setID("id__gt", f.IDGreaterThan)
	if f.HasDocsGenerated != nil {
		q.Set("has_docs_generated", strconv.FormatBool(*f.HasDocsGenerated))
	}
	if f.HasSourcesGenerated != nil {
		q.Set("has_sources_generated", strconv.FormatBool(*f.HasSourcesGenerated))
	}
	orderBy := f.OrderBy
	if orderBy == "" {
		orderBy = "id"
	}
	q.Set("order_by", orderBy)
	if len(f.IncludeRelated) > 0 {
		q.Set("include_related", includeRelated(f.IncludeRelated...))
	}
	return list[Run](ctx, c, what, c.accountPath("v2", "runs/"), q, max(f.Limit, 0))
}

// Run fetches one run (GET /api/v2/accounts/{a}/runs/{id}/), with its
// steps when includeSteps is true (include_related=["run_steps"]).
func (c *Client) Run(ctx context.Context, runID int64, includeSteps bool) (Run, error) {
	var q url.Values
	if includeSteps {
		q = url.Values{"include_related": {includeRelated("run_steps")}}
	}
	r, err := getOne[Run](ctx, c, c.accountPath("v2", "runs/"+strconv.FormatInt(runID, 10)+"/"), q)
	if err != nil {
		return Run{}, fmt.Errorf("get run %d: %w", runID, err)
	}
	return r, nil
}
