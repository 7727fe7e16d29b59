package dbtcloudtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LoadConfig names the objects LoadDir wraps around a target/ directory.
// Zero values take the defaults noted.
type LoadConfig struct {
	AccountID     int64 // default 70001
	ProjectID     int64 // default 100001
	EnvironmentID int64 // default 200001
	JobID         int64 // default 400001
	RunID         int64 // default 900001
	// ProjectName defaults to the manifest's metadata.project_name, else
	// the directory's parent name.
	ProjectName     string
	EnvironmentName string // default "Production"
}

// LoadDir returns a dataset with one project, one production environment,
// one job and one successful run whose artifacts are the *.json files found
// directly in dir (a dbt target/ directory). The run has docs when
// catalog.json is present and sources when sources.json is. Applied is left
// empty: deriving a snapshot from arbitrary artifacts is pkg/catalog's job.
func LoadDir(dir string, cfg LoadConfig) (*Dataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load artifacts from %s: %w", dir, err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("load artifacts from %s: %w", dir, err)
		}
		files[e.Name()] = b
	}
	if _, ok := files["manifest.json"]; !ok {
		return nil, fmt.Errorf("load artifacts from %s: no manifest.json (point at a dbt target/ directory after `dbt build` or `dbt docs generate`)", dir)
	}
	meta, err := manifestMetadata(files["manifest.json"])
	if err != nil {
		return nil, fmt.Errorf("load artifacts from %s: manifest.json: %w", dir, err)
	}
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.AccountID, 70001)
	def(&cfg.ProjectID, 100001)
	def(&cfg.EnvironmentID, 200001)
	def(&cfg.JobID, 400001)
	def(&cfg.RunID, 900001)
	if cfg.ProjectName == "" {
		cfg.ProjectName = meta.ProjectName
	}
	if cfg.ProjectName == "" {
		cfg.ProjectName = filepath.Base(filepath.Dir(filepath.Clean(dir)))
	}
	if cfg.EnvironmentName == "" {
		cfg.EnvironmentName = "Production"
	}
	at := baseTime
	if t, err := time.Parse(time.RFC3339Nano, meta.GeneratedAt); err == nil {
		at = t.UTC()
	}
	_, docs := files["catalog.json"]
	_, srcs := files["sources.json"]
	steps := []string{"dbt build"}
	if srcs {
		steps = append([]string{"dbt source freshness"}, steps...)
	}
	ds := &Dataset{
		Account: Account{ID: cfg.AccountID, Name: "Local artifacts", Plan: "enterprise"},
		Projects: []Project{{
			ID: cfg.ProjectID, AccountID: cfg.AccountID, Name: cfg.ProjectName, State: 1,
			CreatedAt: at.Add(-time.Hour), UpdatedAt: at.Add(-time.Hour), DocsJobID: cfg.JobID,
		}},
		Environments: []Environment{{
			ID: cfg.EnvironmentID, AccountID: cfg.AccountID, ProjectID: cfg.ProjectID, Name: cfg.EnvironmentName,
			Type: "deployment", DeploymentType: "production", DbtVersion: meta.DbtVersion, State: 1,
			CreatedAt: at.Add(-time.Hour), UpdatedAt: at.Add(-time.Hour),
		}},
		Jobs: []Job{{
			ID: cfg.JobID, AccountID: cfg.AccountID, ProjectID: cfg.ProjectID, EnvironmentID: cfg.EnvironmentID,
			Name: "Local artifacts", ExecuteSteps: steps, GenerateDocs: docs, RunGenerateSources: srcs, State: 1,
			CreatedAt: at.Add(-time.Hour), UpdatedAt: at.Add(-time.Hour), JobType: "other",
		}},
		Runs: []Run{{
			ID: cfg.RunID, AccountID: cfg.AccountID, ProjectID: cfg.ProjectID, EnvironmentID: cfg.EnvironmentID,
			JobID: cfg.JobID, Status: 10, DbtVersion: meta.DbtVersion, HasDocsGenerated: docs,
			HasSourcesGenerated: srcs, ArtifactsSaved: true, CreatedAt: at.Add(-5 * time.Minute),
			StartedAt: at.Add(-4 * time.Minute), FinishedAt: at, TriggerCause: "Kicked off from UI",
			Steps: []RunStep{{ID: cfg.RunID * 10, Index: 1, Name: "Invoke dbt with `dbt build`", Status: 10}},
		}},
		Artifacts: map[int64]map[string][]byte{cfg.RunID: files},
		Applied:   map[int64]*AppliedState{},
	}
	return ds, nil
}

type artifactMeta struct {
	DbtVersion  string `json:"dbt_version"`
	GeneratedAt string `json:"generated_at"`
	ProjectName string `json:"project_name"`
}

// manifestMetadata reads the metadata object without decoding the rest of
// a possibly huge manifest (dbt writes metadata first).
func manifestMetadata(b []byte) (artifactMeta, error) {
	var m artifactMeta
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return m, errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return m, err
		}
		if t == "metadata" {
			err := dec.Decode(&m)
			return m, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return m, err
		}
	}
	return m, nil
}
