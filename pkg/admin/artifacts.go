package admin

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// RunArtifacts lists the artifact paths a run saved, relative to dbt's
// target/ directory, e.g. "manifest.json", "run_results.json",
// "compiled/<project>/models/x.sql"
// (GET /api/v2/accounts/{a}/runs/{id}/artifacts/).
func (c *Client) RunArtifacts(ctx context.Context, runID int64) ([]string, error) {
	data, _, err := getJSON[[]string](ctx, c, c.accountPath("v2", "runs/"+strconv.FormatInt(runID, 10)+"/artifacts/"), nil)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of run %d: %w", runID, err)
	}
	if data == nil {
		return nil, nil
	}
	return *data, nil
}

// Artifact streams one artifact of a run, e.g. "manifest.json"
// (GET /api/v2/accounts/{a}/runs/{id}/artifacts/{path}). step selects the
// 1-based run step whose artifact to fetch; 0 means the last step. The
// caller must close the returned body, which is read straight from the
// network. A missing artifact is an *APIError for which IsNotFound is true.
func (c *Client) Artifact(ctx context.Context, runID int64, path string, step int) (io.ReadCloser, error) {
	escaped, err := escapeArtifactPath(path)
	if err != nil {
		return nil, fmt.Errorf("artifact of run %d: %w", runID, err)
	}
	if step < 0 {
		return nil, fmt.Errorf("artifact %s of run %d: step must be 0 (last step) or a 1-based step index, got %d", path, runID, step)
	}
	var q url.Values
	if step > 0 {
		q = url.Values{"step": {strconv.Itoa(step)}}
	}
	resp, err := c.send(ctx, c.accountPath("v2", "runs/"+strconv.FormatInt(runID, 10)+"/artifacts/"+escaped), q, "*/*")
	if err != nil {
		return nil, fmt.Errorf("artifact %s of run %d: %w", path, runID, err)
	}
	return resp.Body, nil
}

// escapeArtifactPath checks that p is a relative path inside target/ and
// escapes each segment.
func escapeArtifactPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty artifact path; name a file such as manifest.json")
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return "", fmt.Errorf("artifact path %q must be relative to target/, e.g. manifest.json", p)
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("artifact path %q has an empty, . or .. segment", p)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", fmt.Errorf("artifact path %q contains control characters", p)
		}
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/"), nil
}
