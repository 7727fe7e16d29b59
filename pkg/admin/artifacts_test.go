package admin_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

func TestArtifactStreams(t *testing.T) {
	release := make(chan struct{})
	var accept, query, rawPath string
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		accept, query, rawPath = r.Header.Get("Accept"), r.URL.RawQuery, r.URL.EscapedPath()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"metadata": {}, `)
		w.(http.Flusher).Flush()
		<-release // the client must see the first part before the rest exists
		_, _ = io.WriteString(w, `"nodes": {}}`)
	})
	body, err := a.client.Artifact(t.Context(), 55, "manifest.json", 2)
	require.NoError(t, err)
	br := bufio.NewReader(body)
	first, err := br.ReadString(',')
	require.NoError(t, err)
	require.Equal(t, `{"metadata": {},`, first)
	close(release)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	require.Equal(t, ` "nodes": {}}`, string(rest))
	require.Equal(t, "*/*", accept)
	require.Equal(t, "step=2", query)
	require.Equal(t, "/api/v2/accounts/4242/runs/55/artifacts/manifest.json", rawPath)
	require.EqualValues(t, len(`{"metadata": {}, "nodes": {}}`), a.client.Transport().Stats().BytesRead)
}

func TestArtifactPaths(t *testing.T) {
	var rawPath, query string
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		rawPath, query = r.URL.EscapedPath(), r.URL.RawQuery
		_, _ = io.WriteString(w, "select 1")
	})
	body, err := a.client.Artifact(t.Context(), 1, "compiled/my proj/models/a b.sql", 0)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	require.Equal(t, "/api/v2/accounts/4242/runs/1/artifacts/compiled/my%20proj/models/a%20b.sql", rawPath)
	require.Empty(t, query, "step 0 means the last step and is not sent")

	for _, bad := range []string{"", "/etc/passwd", "../secrets", "a//b", "a/./b", `a\b`, "x\n.json"} {
		t.Run("rejects "+strings.ReplaceAll(bad, "\n", `\n`), func(t *testing.T) {
			before := a.requests.Load()
			_, err := a.client.Artifact(t.Context(), 1, bad, 0)
			require.Error(t, err)
			require.Equal(t, before, a.requests.Load())
		})
	}
	_, err = a.client.Artifact(t.Context(), 1, "manifest.json", -1)
	require.ErrorContains(t, err, "step must be 0")
}

func TestMissingArtifactIsNotFound(t *testing.T) {
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, 404, nil, `"The requested artifact was not found."`)
	})
	_, err := a.client.Artifact(t.Context(), 9, "catalog.json", 0)
	require.True(t, admin.IsNotFound(err))
	require.ErrorContains(t, err, "artifact catalog.json of run 9")
	require.EqualValues(t, 1, a.requests.Load(), "404 is not retried")
}

func TestRunWithSteps(t *testing.T) {
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, 200, map[string]any{
			"id": 8, "status": 3, "job_definition_id": 2,
			"run_steps": []map[string]any{{"index": 1, "name": "Clone", "status": 10}, {"index": 2, "name": "dbt build", "status": 3}},
		}, `"Success!"`)
	})
	r, err := a.client.Run(t.Context(), 8, true)
	require.NoError(t, err)
	require.Equal(t, admin.RunStatusRunning, r.Status)
	require.False(t, r.Status.IsFinished())
	require.Len(t, r.RunSteps, 2)
	require.Equal(t, 2, r.RunSteps[1].Index)
	require.Equal(t, `include_related=%5B%22run_steps%22%5D`, a.Queries()[0])
	require.Equal(t, "/api/v2/accounts/4242/runs/8/", a.Paths()[0])

	_, err = a.client.Run(t.Context(), 8, false)
	require.NoError(t, err)
	require.Empty(t, a.Queries()[1])
}

func TestRunWithoutData(t *testing.T) {
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, 200, nil, `"Success!"`)
	})
	_, err := a.client.Run(t.Context(), 8, false)
	require.ErrorContains(t, err, "response has no data")
}

func TestJobsIncludeMostRecentCompletedRun(t *testing.T) {
	a := newAPI(t, pager([]map[string]any{{
		"id": 1, "name": "nightly", "most_recent_completed_run": map[string]any{"id": 99, "status": 10},
	}}, true))
	jobs, err := collect(t, a.client.Jobs(t.Context(), admin.JobFilter{IncludeMostRecentCompletedRun: true}))
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.NotNil(t, jobs[0].MostRecentCompletedRun)
	require.EqualValues(t, 99, jobs[0].MostRecentCompletedRun.ID)
	require.True(t, jobs[0].MostRecentCompletedRun.Status.IsSuccess())
	require.Contains(t, a.Queries()[0], "include_related=%5B%22most_recent_completed_run%22%5D")
}
