// Package dbtcloudtest is an emulator of dbt Cloud for tests, demos and
// benchmarks: the Administrative API (REST v2/v3), the Discovery API
// (GraphQL) and raw run artifacts, served from a deterministic generated
// dataset, with injectable faults. Use it like httptest.NewServer.
package dbtcloudtest

import (
	"sync"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// Dataset is everything the emulator serves for one account. The REST side
// serves Account, Projects, Environments, Jobs, Runs and Artifacts; the
// GraphQL side serves Applied. Generated datasets keep the two consistent:
// the applied state of an environment is what its runs' artifacts describe.
type Dataset struct {
	Account      Account
	Projects     []Project
	Environments []Environment
	Jobs         []Job
	Runs         []Run
	// Artifacts maps run ID to artifact path (e.g. "manifest.json") to bytes.
	Artifacts map[int64]map[string][]byte
	// Applied maps environment ID to the environment's applied state.
	Applied map[int64]*AppliedState

	// mu guards every field above while a test mutates the dataset (AddRuns,
	// RemoveModel) and servers read it. Hold RLock to read fields directly
	// from another goroutine; the accessor methods lock for you.
	mu sync.RWMutex
	// gen produces the artifacts of generated runs on demand; nil for
	// datasets built by hand or loaded from a directory.
	gen *generator
}

// Account is a dbt Cloud account.
type Account struct {
	ID   int64
	Name string
	Plan string
}

// Project is a dbt Cloud project.
type Project struct {
	ID          int64
	AccountID   int64
	Name        string
	Description string
	State       int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// DocsJobID and FreshnessJobID name the jobs whose runs carry the
	// project's catalog.json and sources.json (0 when unset).
	DocsJobID      int64
	FreshnessJobID int64
}

// Environment is a dbt Cloud environment.
type Environment struct {
	ID        int64
	AccountID int64
	ProjectID int64
	Name      string
	// Type is "deployment" or "development".
	Type string
	// DeploymentType is "production", "staging" or "" (general).
	DeploymentType string
	DbtVersion     string
	State          int
	// CustomBranch is the git branch deployment runs check out ("" = default).
	CustomBranch string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Job is a dbt Cloud job.
type Job struct {
	ID                 int64
	AccountID          int64
	ProjectID          int64
	EnvironmentID      int64
	Name               string
	ExecuteSteps       []string
	GenerateDocs       bool
	RunGenerateSources bool
	State              int
	CreatedAt          time.Time
	// JobType is "scheduled", "ci", "merge" or "other".
	JobType string
	// Cron is the job's schedule; "" when the job has no schedule trigger.
	Cron      string
	UpdatedAt time.Time
}

// Run is a dbt Cloud run. Status uses dbt's codes: 1 queued, 2 starting,
// 3 running, 10 success, 20 error, 30 cancelled.
type Run struct {
	ID                  int64
	AccountID           int64
	ProjectID           int64
	EnvironmentID       int64
	JobID               int64
	Status              int
	GitSHA              string
	DbtVersion          string
	HasDocsGenerated    bool
	HasSourcesGenerated bool
	ArtifactsSaved      bool
	CreatedAt           time.Time
	StartedAt           time.Time
	FinishedAt          time.Time
	Steps               []RunStep
	// GitBranch is the branch the run checked out.
	GitBranch string
	// TriggerCause is the human cause dbt Cloud records, e.g. "Scheduled".
	TriggerCause string
	// StatusMessage is the error summary of errored runs ("" otherwise).
	StatusMessage string
}

// RunStep is one step of a run (one dbt command).
type RunStep struct {
	ID     int64
	Index  int
	Name   string
	Status int
}

// AppliedState is an environment's applied state as the Discovery API
// reports it: dbt's merge of all jobs in the environment.
type AppliedState struct {
	AdapterType    string
	DbtProjectName string
	LastUpdatedAt  time.Time
	LatestGitSHA   string
	// Snapshot holds the applied assets, their columns, lineage edges, the
	// latest test result of each test, and source freshness. Scope and
	// Complete are set; Jobs, Runs and Watermarks are empty.
	Snapshot *catalog.Snapshot
}
