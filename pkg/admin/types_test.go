package admin_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

func TestTimeLayouts(t *testing.T) {
	want := time.Date(2021, 12, 7, 10, 32, 24, 326116000, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{name: "space separator with offset", in: `"2021-12-07 10:32:24.326116+00:00"`, want: want},
		{name: "T separator with offset", in: `"2021-12-07T10:32:24.326116+00:00"`, want: want},
		{name: "Z suffix", in: `"2021-12-07T10:32:24.326116Z"`, want: want},
		{name: "no fraction", in: `"2021-12-07T10:32:24Z"`, want: want.Truncate(time.Second)},
		{name: "space without fraction", in: `"2021-12-07 10:32:24+00:00"`, want: want.Truncate(time.Second)},
		{name: "other offset normalised to UTC", in: `"2021-12-07T12:32:24.326116+02:00"`, want: want},
		{name: "compact offset", in: `"2021-12-07 10:32:24.326116+0000"`, want: want},
		{name: "no zone is UTC", in: `"2021-12-07 10:32:24.326116"`, want: want},
		{name: "null", in: `null`},
		{name: "empty string", in: `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got admin.Time
			require.NoError(t, json.Unmarshal([]byte(tt.in), &got))
			require.True(t, tt.want.Equal(got.Time), "got %s", got.Time)
			if !tt.want.IsZero() {
				require.Equal(t, time.UTC, got.Location())
			}
		})
	}
	for _, bad := range []string{`"yesterday"`, `1642377765`, `"2021-13-07 10:32:24"`} {
		t.Run("rejects "+bad, func(t *testing.T) {
			var got admin.Time
			require.Error(t, json.Unmarshal([]byte(bad), &got))
		})
	}
	t.Run("round trips through JSON", func(t *testing.T) {
		b, err := json.Marshal(admin.Time{Time: want})
		require.NoError(t, err)
		require.Equal(t, `"2021-12-07T10:32:24.326116Z"`, string(b))
		b, err = json.Marshal(admin.Time{})
		require.NoError(t, err)
		require.Equal(t, "null", string(b))
	})
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "00:01:50", want: 110 * time.Second},
		{in: "1 day, 02:03:04", want: 26*time.Hour + 3*time.Minute + 4*time.Second},
		{in: "3 days, 0:00:00.5", want: 72*time.Hour + 500*time.Millisecond},
		{in: "", want: 0},
		{in: "12 seconds", bad: true},
		{in: "00:61:00", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := admin.ParseDuration(tt.in)
			if tt.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRunStatus(t *testing.T) {
	tests := []struct {
		code                      int
		want                      admin.RunStatus
		success, failed, finished bool
		name                      string
	}{
		{code: 1, want: admin.RunStatusQueued, name: "Queued"},
		{code: 2, want: admin.RunStatusStarting, name: "Starting"},
		{code: 3, want: admin.RunStatusRunning, name: "Running"},
		{code: 10, want: admin.RunStatusSuccess, success: true, finished: true, name: "Success"},
		{code: 20, want: admin.RunStatusError, failed: true, finished: true, name: "Error"},
		{code: 30, want: admin.RunStatusCancelled, finished: true, name: "Cancelled"},
		{code: 40, want: admin.RunStatusUnknown, name: "Unknown"},
		{code: 0, want: admin.RunStatusUnknown, name: "Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r admin.Run
			require.NoError(t, json.Unmarshal([]byte(`{"id": 1, "status": `+itoa(tt.code)+`}`), &r))
			require.Equal(t, tt.want, r.Status)
			require.Equal(t, tt.code, r.StatusCode, "the raw code is kept")
			require.Equal(t, tt.success, r.Status.IsSuccess())
			require.Equal(t, tt.failed, r.Status.IsError())
			require.Equal(t, tt.finished, r.Status.IsFinished())
			require.Equal(t, tt.code == 30, r.Status.IsCancelled())
			require.Equal(t, tt.name, r.Status.String())
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRunDecodingAndCatalog(t *testing.T) {
	var r admin.Run
	require.NoError(t, json.Unmarshal([]byte(`{
		"id": 77, "job_id": 5, "status": 20, "git_sha": "abc", "has_docs_generated": true,
		"created_at": "2024-03-25 13:47:20.129690+00:00", "finished_at": "2024-03-25T13:49:20.129690Z",
		"duration": "00:02:00", "trigger": {"cause": "scheduled"}, "job": null, "environment": null,
		"run_steps": [{"index": 1, "name": "dbt build", "status": 10}, {"index": 2, "name": "dbt docs generate", "status": 99}]
	}`), &r))
	require.EqualValues(t, 5, r.JobDefinitionID, "job_id alias fills the job id")
	require.Nil(t, r.Job)
	require.Nil(t, r.Environment)
	require.Len(t, r.RunSteps, 2)
	require.Equal(t, admin.RunStatusSuccess, r.RunSteps[0].Status)
	require.Equal(t, admin.RunStatusUnknown, r.RunSteps[1].Status)
	require.Equal(t, 99, r.RunSteps[1].StatusCode)

	c := r.Catalog()
	require.EqualValues(t, 77, c.ID)
	require.EqualValues(t, 5, c.JobID)
	require.Equal(t, 20, c.Status)
	require.Equal(t, "Error", c.StatusText)
	require.Equal(t, "scheduled", c.TriggerCause)
	require.InDelta(t, 120, c.DurationSeconds, 1e-9)
	require.False(t, c.InProgressOrQueued)
	require.False(t, c.IsCompleteAndSuccess)
	require.True(t, c.HasDocsGenerated)

	j := admin.Job{ID: 3, EnvironmentID: 4, Name: "nightly", GenerateDocs: true, RunGenerateSources: true, ExecuteSteps: []string{"dbt build"}, State: 1}
	cj := j.Catalog()
	require.Equal(t, j.ExecuteSteps, cj.ExecuteSteps)
	require.True(t, cj.RunFreshness)

	e := admin.Environment{ID: 9, AccountID: 1, ProjectID: 2, Name: "Prod", Type: "deployment", DeploymentType: "production"}
	s := e.Scope(admin.Project{ID: 2, Name: "jaffle"})
	require.Equal(t, "jaffle", s.ProjectName)
	require.Equal(t, "production", s.DeploymentType)
	require.EqualValues(t, 9, s.EnvironmentID)
}

func TestRecordedFixturesDecode(t *testing.T) {
	dir := sharedtest.Path(t, "reference", "dbt-cloud-admin-api", "fixtures")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("recorded Admin API fixtures not found at %s (set DBT_CRAWLER_SHARED): %v", dir, err)
	}

	// Each fixture is served by a test server on the endpoint it was
	// recorded from, and read through the client's own method.
	checks := map[string]func(t *testing.T, c *admin.Client){
		"account_get_response.json": func(t *testing.T, c *admin.Client) {
			a, err := c.Account(t.Context())
			require.NoError(t, err)
			require.EqualValues(t, 123456, a.ID)
			require.Equal(t, "enterprise", a.Plan)
			require.Equal(t, 2021, a.CreatedAt.Year())
		},
		"project_list_response.json": func(t *testing.T, c *admin.Client) {
			ps, err := collect(t, c.Projects(t.Context()))
			require.NoError(t, err)
			require.NotEmpty(t, ps)
			p := ps[0]
			require.EqualValues(t, 123457, p.ID)
			require.Equal(t, "jaffle_shop", p.Name)
			require.False(t, p.CreatedAt.IsZero())
			require.NotNil(t, p.Connection)
			require.Equal(t, "bigquery", p.Connection.Type)
			require.NotNil(t, p.Repository)
			require.Nil(t, p.DocsJob)
			require.Zero(t, p.DocsJobID)
		},
		"environment_list_response.json": func(t *testing.T, c *admin.Client) {
			// The recording is a limit=1 page of 43; a static server would
			// repeat it, so read the first environment only.
			var es []admin.Environment
			for e, err := range c.Environments(t.Context(), 26597) {
				require.NoError(t, err)
				es = append(es, e)
				break
			}
			require.NotEmpty(t, es)
			require.EqualValues(t, 49818, es[0].ID)
			require.Equal(t, "Development", es[0].Name)
			require.Equal(t, "1.4.0-latest", es[0].DbtVersion)
			require.NotNil(t, es[0].Connection)
		},
		"job_list_response.json": func(t *testing.T, c *admin.Client) {
			js, err := collect(t, c.Jobs(t.Context(), admin.JobFilter{}))
			require.NoError(t, err)
			require.Len(t, js, 1)
			require.EqualValues(t, 43167, js[0].ID)
			require.Equal(t, []string{"dbt run -s not_a_model"}, js[0].ExecuteSteps)
			require.NotNil(t, js[0].Triggers)
			require.False(t, js[0].Triggers.GitProviderWebhook, "null decodes as false")
			require.Equal(t, "0 * * * *", js[0].Schedule.Cron)
			require.Equal(t, 4, js[0].Settings.Threads)
		},
		"run_get_response.json": func(t *testing.T, c *admin.Client) {
			r, err := c.Run(t.Context(), 36053848, false)
			require.NoError(t, err)
			require.EqualValues(t, 36053848, r.ID)
			require.EqualValues(t, 43167, r.JobDefinitionID)
			require.Equal(t, admin.RunStatusSuccess, r.Status)
			require.Equal(t, time.Date(2021, 12, 7, 10, 32, 24, 326116000, time.UTC), r.CreatedAt.Time)
			require.True(t, r.ArtifactsSaved)
			require.Nil(t, r.Trigger)
			require.Empty(t, r.RunSteps)
		},
		"run_list_artifacts_response.json": func(t *testing.T, c *admin.Client) {
			paths, err := c.RunArtifacts(t.Context(), 1)
			require.NoError(t, err)
			require.Contains(t, paths, "manifest.json")
			require.Contains(t, paths, "run_results.json")
		},
		"run_get_artifact_response.json": func(t *testing.T, c *admin.Client) {
			body, err := c.Artifact(t.Context(), 39214624, "run_results.json", 0)
			require.NoError(t, err)
			defer body.Close()
			var rr struct {
				Metadata struct {
					DbtVersion string `json:"dbt_version"`
				} `json:"metadata"`
				Results []json.RawMessage `json:"results"`
			}
			require.NoError(t, json.NewDecoder(body).Decode(&rr))
			require.Equal(t, "0.21.0", rr.Metadata.DbtVersion)
			require.Len(t, rr.Results, 3)
		},
		"run_list_response.json": func(t *testing.T, c *admin.Client) {
			// The legacy v4 shape (string ids, "Succeeded") is not a v2
			// response and must be refused, not half-decoded.
			_, err := collect(t, c.Runs(t.Context(), admin.RunFilter{}))
			require.Error(t, err)
		},
	}
	// Single-object fixtures with no list method of their own are decoded
	// as the matching type.
	decodeOnly := map[string]func(t *testing.T, data []byte){
		"account_list_response.json": func(t *testing.T, data []byte) {
			var env struct{ Data []admin.Account }
			require.NoError(t, json.Unmarshal(data, &env))
			require.Equal(t, "Jaffle Shop", env.Data[0].Name)
		},
		"project_get_response.json": func(t *testing.T, data []byte) {
			var env struct{ Data admin.Project }
			require.NoError(t, json.Unmarshal(data, &env))
			require.EqualValues(t, 123457, env.Data.ID)
			require.Equal(t, 2021, env.Data.UpdatedAt.Year())
		},
		"environment_get_response.json": func(t *testing.T, data []byte) {
			var env struct{ Data admin.Environment }
			require.NoError(t, json.Unmarshal(data, &env))
			require.EqualValues(t, 67890, env.Data.ID)
			require.EqualValues(t, 13579, env.Data.CredentialsID)
		},
		"job_get_response.json": func(t *testing.T, data []byte) {
			var env struct{ Data admin.Job }
			require.NoError(t, json.Unmarshal(data, &env))
			require.EqualValues(t, 49819, env.Data.EnvironmentID)
			require.Equal(t, 2021, env.Data.UpdatedAt.Year())
		},
	}

	seen := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		_, short, _ := strings.Cut(e.Name(), "__")
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		t.Run(e.Name(), func(t *testing.T) {
			if check, ok := checks[short]; ok {
				a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(data)
				})
				check(t, a.client)
				return
			}
			decode, ok := decodeOnly[short]
			require.True(t, ok, "fixture %s has no conformance check; add one", e.Name())
			decode(t, data)
		})
		seen++
	}
	require.NotZero(t, seen, "no fixtures in %s", dir)
}
