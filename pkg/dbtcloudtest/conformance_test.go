package dbtcloudtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
)

// specDeviation is a place where the published OpenAPI spec disagrees with
// what dbt Cloud really returns (per the recorded fixtures and the API
// reference), and the emulator follows the real service. The test patches
// the loaded spec with exactly these entries and nothing else.
type specDeviation struct {
	spec     string // "v2" or "v3"
	schema   string // component schema name
	property string
	// nullable: the property may be JSON null; optional: it may be absent.
	nullable, optional bool
	// spaceTime: the property is a timestamp in the layout
	// "2021-12-07 10:32:24.326116+00:00", which is not RFC 3339 date-time.
	spaceTime bool
	why       string
}

var specDeviations = []specDeviation{
	// Envelope.
	{spec: "v2", schema: "ResponseStatus", property: "developer_message", nullable: true, why: "error bodies carry developer_message null"},
	{spec: "v3", schema: "ResponseStatus", property: "developer_message", nullable: true, why: "error bodies carry developer_message null"},
	{spec: "v3", schema: "Extra", property: "order_by", nullable: true, why: "account list fixture has order_by null"},
	{spec: "v2", schema: "Extra", property: "order_by", nullable: true, why: "account list fixture has order_by null"},
	{spec: "v2", schema: "AccountResponse", property: "billing_email_address", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "AccountResponse", property: "docs_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "AccountResponse", property: "freshness_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "AccountResponse", property: "enterprise_login_slug", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "AccountResponse", property: "lock_reason", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "AccountResponse", property: "starter_repo_url", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "AccountResponse", property: "unlocked_at", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "AccountResponse", property: "billing_email_address", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "AccountResponse", property: "docs_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "AccountResponse", property: "freshness_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "AccountResponse", property: "enterprise_login_slug", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "AccountResponse", property: "lock_reason", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "AccountResponse", property: "starter_repo_url", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "AccountResponse", property: "unlocked_at", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "AccountResponse", property: "copilot_locked_until", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v2", schema: "AccountResponse", property: "run_locked_until", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v2", schema: "AccountResponse", property: "trial_end_date", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v2", schema: "AccountResponse", property: "vanity_subdomain", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v2", schema: "AccountResponse", property: "lock_cause", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v3", schema: "AccountResponse", property: "copilot_locked_until", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v3", schema: "AccountResponse", property: "run_locked_until", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v3", schema: "AccountResponse", property: "trial_end_date", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v3", schema: "AccountResponse", property: "vanity_subdomain", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v3", schema: "AccountResponse", property: "lock_cause", nullable: true, why: "required but valueless for ordinary accounts; absent from the fixtures, sent as null"},
	{spec: "v2", schema: "ProjectResponse", property: "dbt_project_subdirectory", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "ProjectResponse", property: "docs_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "ProjectResponse", property: "freshness_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "ProjectResponse", property: "docs_job", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "ProjectResponse", property: "freshness_job", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "ProjectResponse", property: "connection", nullable: true, why: "nullable in practice (API reference section 3); sent only with include_related"},
	{spec: "v2", schema: "ProjectResponse", property: "repository", nullable: true, why: "nullable in practice (API reference section 3); sent only with include_related"},
	{spec: "v2", schema: "ProjectResponse", property: "fusion_readiness", nullable: true, why: "untyped and required; null when not computed"},
	{spec: "v2", schema: "ProjectResponse", property: "environments", optional: true, why: "absent from the project fixtures"},
	{spec: "v2", schema: "ProjectResponse", property: "created_at", spaceTime: true, why: "project fixtures use the space-separated layout"},
	{spec: "v2", schema: "ProjectResponse", property: "updated_at", spaceTime: true, why: "project fixtures use the space-separated layout"},
	{spec: "v3", schema: "ProjectResponse", property: "dbt_project_subdirectory", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "ProjectResponse", property: "docs_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "ProjectResponse", property: "freshness_job_id", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "ProjectResponse", property: "docs_job", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "ProjectResponse", property: "freshness_job", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "ProjectResponse", property: "connection", nullable: true, why: "nullable in practice (API reference section 3); sent only with include_related"},
	{spec: "v3", schema: "ProjectResponse", property: "repository", nullable: true, why: "nullable in practice (API reference section 3); sent only with include_related"},
	{spec: "v3", schema: "ProjectResponse", property: "fusion_readiness", nullable: true, why: "untyped and required; null when not computed"},
	{spec: "v3", schema: "ProjectResponse", property: "environments", optional: true, why: "absent from the project fixtures"},
	{spec: "v3", schema: "ProjectResponse", property: "created_at", spaceTime: true, why: "project fixtures use the space-separated layout"},
	{spec: "v3", schema: "ProjectResponse", property: "updated_at", spaceTime: true, why: "project fixtures use the space-separated layout"},
	{spec: "v3", schema: "EnvironmentV3Response", property: "credentials", nullable: true, why: "related objects are null unless include_related asks for them"},
	{spec: "v3", schema: "EnvironmentV3Response", property: "project", nullable: true, why: "related objects are null unless include_related asks for them"},
	{spec: "v3", schema: "EnvironmentV3Response", property: "fusion_readiness", nullable: true, why: "untyped and required; null when not computed"},
	{spec: "v3", schema: "EnvironmentV3Response", property: "deployment_type", nullable: true, why: "null for development and general environments"},
	{spec: "v3", schema: "EnvironmentV3Response", property: "custom_branch", nullable: true, why: "null for development and general environments"},
	{spec: "v2", schema: "EnvironmentV2Response", property: "created_by_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "EnvironmentV2Response", property: "dbt_project_subdirectory", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "EnvironmentV2Response", property: "connection", nullable: true, why: "related objects are null unless include_related asks for them"},
	{spec: "v2", schema: "EnvironmentV2Response", property: "repository", nullable: true, why: "related objects are null unless include_related asks for them"},
	{spec: "v2", schema: "EnvironmentV2Response", property: "deployment_type", nullable: true, why: "null for development and general environments"},
	{spec: "v2", schema: "EnvironmentV2Response", property: "custom_branch", nullable: true, why: "null for development and general environments"},
	{spec: "v2", schema: "EnvironmentV2Response", property: "jobs", optional: true, why: "absent from the environment fixtures"},
	{spec: "v2", schema: "EnvironmentV2", property: "created_by_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "EnvironmentV2", property: "dbt_project_subdirectory", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "EnvironmentV2", property: "deployment_type", nullable: true, why: "null for development and general environments"},
	{spec: "v2", schema: "EnvironmentV2", property: "custom_branch", nullable: true, why: "null for development and general environments"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "dbt_version", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "deferring_job_definition_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "lifecycle_webhooks_url", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "account", nullable: true, why: "related objects are null unless include_related asks for them"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "project", nullable: true, why: "related objects are null unless include_related asks for them"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "environment", nullable: true, why: "related objects are null unless include_related asks for them"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "job_completion_trigger_condition", nullable: true, why: "required; null for jobs without a completion trigger"},
	{spec: "v2", schema: "HumanReadableJobDefinitionResponse", property: "fusion_readiness", nullable: true, why: "required; null for jobs without a completion trigger"},
	{spec: "v3", schema: "JobDefinitionV2", property: "dbt_version", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "JobDefinitionV2", property: "deferring_job_definition_id", nullable: true, why: "fixtures show null"},
	{spec: "v3", schema: "Project", property: "dbt_project_subdirectory", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "InternalJobDefinition", property: "dbt_version", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "InternalJobDefinition", property: "deferring_job_definition_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "status_message", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "owner_thread_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "deferring_run_id", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "last_checked_at", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "last_heartbeat_at", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "should_start_at", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "trigger", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "job", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "environment", nullable: true, why: "fixtures show null"},
	{spec: "v2", schema: "RunResponse", property: "created_at", spaceTime: true, why: "run fixture uses the space-separated layout"},
	{spec: "v2", schema: "RunResponse", property: "updated_at", spaceTime: true, why: "run fixture uses the space-separated layout"},
	{spec: "v2", schema: "RunResponse", property: "dequeued_at", spaceTime: true, why: "run fixture uses the space-separated layout"},
	{spec: "v2", schema: "RunResponse", property: "started_at", spaceTime: true, why: "run fixture uses the space-separated layout"},
	{spec: "v2", schema: "RunResponse", property: "finished_at", spaceTime: true, why: "run fixture uses the space-separated layout"},
}

type specRouter struct {
	doc    *openapi3.T
	router routers.Router
}

func loadSpec(t *testing.T, shared, name, serverURL string) *specRouter {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join(shared, "reference", "dbt-cloud-admin-api", "openapi-"+name+".yaml"))
	require.NoError(t, err, "load openapi-%s.yaml", name)
	for _, d := range specDeviations {
		if d.spec != name {
			continue
		}
		ref := doc.Components.Schemas[d.schema]
		require.NotNil(t, ref, "deviation names unknown schema %s in %s", d.schema, name)
		s := ref.Value
		prop := s.Properties[d.property]
		require.NotNil(t, prop, "deviation names unknown property %s.%s in %s", d.schema, d.property, name)
		if d.nullable {
			s.Properties[d.property] = &openapi3.SchemaRef{Value: &openapi3.Schema{Nullable: true, AllOf: openapi3.SchemaRefs{prop}}}
		}
		if d.spaceTime {
			c := *prop.Value
			c.Format = ""
			s.Properties[d.property] = &openapi3.SchemaRef{Value: &c}
		}
		if d.optional {
			s.Required = slices.DeleteFunc(slices.Clone(s.Required), func(r string) bool { return r == d.property })
		}
	}
	// Route against the emulator instead of dbt's hosts.
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	return &specRouter{doc: doc, router: router}
}

// checkResponse validates one response against the operation's 200 schema.
func (sr *specRouter) checkResponse(ctx context.Context, req *http.Request, resp *http.Response, body []byte) error {
	route, pathParams, err := sr.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("no spec route for %s: %w", req.URL.Path, err)
	}
	return openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{ExcludeRequestBody: true},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			MultiError:            true,
			IncludeResponseStatus: true,
		},
	})
}

func TestConformanceOpenAPI(t *testing.T) {
	shared := sharedtest.Root(t, "reference", "dbt-cloud-admin-api")
	ds := Generate(DefaultGenConfig())
	srv := NewServer(ds)
	t.Cleanup(srv.Close)
	v2 := loadSpec(t, shared, "v2", srv.URL)
	v3 := loadSpec(t, shared, "v3", srv.URL)

	a := ds.Account.ID
	p := ds.Projects[0].ID
	e := ds.Environments[0].ID
	j := ds.Jobs[0].ID
	r := ds.Runs[0].ID
	rel := `include_related=["trigger","job","environment","run_steps"]`
	cases := []struct {
		spec *specRouter
		path string
	}{
		{v2, "/api/v2/accounts/"},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/", a)},
		{v3, "/api/v3/accounts/"},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/projects/", a)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/projects/%d/", a, p)},
		{v3, fmt.Sprintf("/api/v3/accounts/%d/projects/", a)},
		{v3, fmt.Sprintf("/api/v3/accounts/%d/projects/?include_related=[\"docs_job\",\"freshness_job\"]", a)},
		{v3, fmt.Sprintf("/api/v3/accounts/%d/projects/%d/", a, p)},
		{v3, fmt.Sprintf("/api/v3/accounts/%d/projects/%d/environments/", a, p)},
		{v3, fmt.Sprintf("/api/v3/accounts/%d/projects/%d/environments/?include_related=[\"project\"]", a, p)},
		{v3, fmt.Sprintf("/api/v3/accounts/%d/projects/%d/environments/%d/", a, p, e)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/environments/", a)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/environments/%d/", a, e)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/jobs/", a)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/jobs/?include_related=[\"environment\",\"most_recent_run\",\"most_recent_completed_run\"]", a)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/jobs/%d/", a, j)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/jobs/%d/artifacts/manifest.json", a, j)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/runs/", a)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/runs/?%s", a, rel)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/", a, r)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/?%s", a, r, rel)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/artifacts/", a, r)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/artifacts/manifest.json", a, r)},
		{v2, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/artifacts/run_results.json?step=4", a, r)},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tc.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Token "+DefaultToken)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %.300s", body)
			require.NoError(t, tc.spec.checkResponse(t.Context(), req, resp, body))
		})
	}

	// Error bodies: the spec defines no error responses for these paths, so
	// check them against the envelope's own ResponseStatus schema.
	status := v2.doc.Components.Schemas["ResponseStatus"].Value
	errCases := []struct {
		name, path, token string
		code              int
	}{
		{"bad token is 401", fmt.Sprintf("/api/v2/accounts/%d/runs/", a), "nope", 401},
		{"metadata-only token is 403", fmt.Sprintf("/api/v2/accounts/%d/runs/", a), MetadataOnlyToken, 403},
		{"unknown run is 404", fmt.Sprintf("/api/v2/accounts/%d/runs/1/", a), DefaultToken, 404},
		{"limit above 100 is 400", fmt.Sprintf("/api/v2/accounts/%d/runs/?limit=101", a), DefaultToken, 400},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tc.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Token "+tc.token)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.code, resp.StatusCode)
			var env struct {
				Status map[string]any `json:"status"`
				Data   any            `json:"data"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
			require.NoError(t, status.VisitJSON(env.Status))
			require.Equal(t, false, env.Status["is_success"])
			require.EqualValues(t, tc.code, env.Status["code"])
		})
	}
}
