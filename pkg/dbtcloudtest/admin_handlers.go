package dbtcloudtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxPageSize is the largest `limit` the Administrative API accepts. A
// larger limit is refused with 400: dbt documents the maximum but not what
// it does above it, and refusing makes a client that asks for more fail
// loudly instead of silently missing rows.
const MaxPageSize = 100

type obj = map[string]any

// routes registers the Administrative API. Paths keep dbt's trailing
// slashes; v2 list/detail paths that v3 replaced answer the same objects.
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /api/v2/accounts/", s.listAccounts)
	m.HandleFunc("GET /api/v3/accounts/", s.listAccounts)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/", s.getAccount)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/projects/", s.listProjects)
	m.HandleFunc("GET /api/v3/accounts/{account_id}/projects/", s.listProjects)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/projects/{id}/", s.getProject)
	m.HandleFunc("GET /api/v3/accounts/{account_id}/projects/{id}/", s.getProject)
	m.HandleFunc("GET /api/v3/accounts/{account_id}/projects/{project_id}/environments/", s.listEnvironmentsV3)
	m.HandleFunc("GET /api/v3/accounts/{account_id}/projects/{project_id}/environments/{id}/", s.getEnvironmentV3)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/environments/", s.listEnvironmentsV2)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/environments/{id}/", s.getEnvironmentV2)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/jobs/", s.listJobs)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/jobs/{id}/", s.getJob)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/jobs/{job_id}/artifacts/{remainder...}", s.getJobArtifact)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/runs/", s.listRuns)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/runs/{id}/", s.getRun)
	m.HandleFunc("GET /api/v2/accounts/{account_id}/runs/{run_id}/artifacts/{remainder...}", s.getArtifact)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "The requested resource was not found.")
	})
}

// ---- envelopes and errors ----

type apiStatus struct {
	Code             int     `json:"code"`
	IsSuccess        bool    `json:"is_success"`
	UserMessage      string  `json:"user_message"`
	DeveloperMessage *string `json:"developer_message"`
}

type apiExtra struct {
	Filters    obj     `json:"filters"`
	OrderBy    *string `json:"order_by"`
	Pagination struct {
		Count      int `json:"count"`
		TotalCount int `json:"total_count"`
	} `json:"pagination"`
}

type envelope struct {
	Status apiStatus `json:"status"`
	Data   any       `json:"data"`
	Extra  *apiExtra `json:"extra,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"status":{"code":500,"is_success":false,"user_message":"emulator: encode response","developer_message":null},"data":null}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// writeError writes dbt's error envelope: is_success false, a
// developer_message of null and data null.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, envelope{Status: apiStatus{Code: code, UserMessage: msg}})
}

func writeOK(w http.ResponseWriter, data any, extra *apiExtra) {
	empty := ""
	writeJSON(w, http.StatusOK, envelope{
		Status: apiStatus{Code: 200, IsSuccess: true, UserMessage: "Success!", DeveloperMessage: &empty},
		Data:   data, Extra: extra,
	})
}

// ---- query parsing ----

// params parses and validates query parameters, echoing recognised
// filters as dbt does in extra.filters. The first error wins.
type params struct {
	v       url.Values
	filters obj
	err     error
}

func newParams(r *http.Request, accountID int64) *params {
	return &params{v: r.URL.Query(), filters: obj{"account_id": accountID}}
}

func (p *params) fail(format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, a...)
	}
}

func (p *params) int(name string) (int64, bool) {
	s := p.v.Get(name)
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.fail("Invalid value for %s: %q is not an integer.", name, s)
		return 0, false
	}
	p.filters[name] = n
	return n, true
}

// list parses a list parameter in any encoding clients use: a JSON array
// (["a","b"] or [1,2]), a Python-style list ('a'), a comma-separated
// string, or the parameter repeated.
func list(v url.Values, name string) ([]string, bool) {
	vals, ok := v[name]
	if !ok {
		return nil, false
	}
	var out []string
	for _, s := range vals {
		s = strings.TrimSpace(s)
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		for _, part := range strings.Split(s, ",") {
			part = strings.Trim(strings.TrimSpace(part), `"'`)
			if part != "" {
				out = append(out, part)
			}
		}
	}
	return out, true
}

func (p *params) ints(name string) ([]int64, bool) {
	parts, ok := list(p.v, name)
	if !ok {
		return nil, false
	}
	out := make([]int64, 0, len(parts))
	for _, s := range parts {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			p.fail("Invalid value for %s: %q is not an integer.", name, s)
			return nil, false
		}
		out = append(out, n)
	}
	p.filters[name] = out
	return out, true
}

func (p *params) strs(name string) ([]string, bool) {
	out, ok := list(p.v, name)
	if ok {
		p.filters[name] = out
	}
	return out, ok
}

func (p *params) bool(name string) (bool, bool) {
	s := p.v.Get(name)
	if s == "" {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true", "1", "t", "yes":
		p.filters[name] = true
		return true, true
	case "false", "0", "f", "no":
		p.filters[name] = false
		return false, true
	}
	p.fail("Invalid value for %s: %q is not a boolean.", name, s)
	return false, false
}

func (p *params) str(name string) (string, bool) {
	s, ok := p.v[name]
	if !ok || len(s) == 0 {
		return "", false
	}
	p.filters[name] = s[0]
	return s[0], true
}

// state parses the soft-deletion filter; it returns the allowed states.
func (p *params) state(def string) func(int) bool {
	s := p.v.Get("state")
	if s == "" {
		s = def
	}
	switch strings.ToLower(s) {
	case "active", "1":
		p.filters["state"] = 1
		return func(st int) bool { return st == 1 }
	case "deleted", "2":
		p.filters["state"] = 2
		return func(st int) bool { return st == 2 }
	case "all":
		return func(int) bool { return true }
	}
	p.fail("Invalid value for state: %q (use active, deleted, all, 1 or 2).", s)
	return func(int) bool { return false }
}

// page validates limit and offset.
func (p *params) page() (limit, offset int) {
	limit, offset = MaxPageSize, 0
	if s := p.v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil || n < 1:
			p.fail("Invalid value for limit: %q (use an integer from 1 to %d).", s, MaxPageSize)
		case n > MaxPageSize:
			p.fail("Invalid value for limit: %d is above the maximum of %d.", n, MaxPageSize)
		default:
			limit = n
		}
	}
	if s := p.v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			p.fail("Invalid value for offset: %q (use an integer of 0 or more).", s)
		} else {
			offset = n
		}
	}
	p.filters["limit"], p.filters["offset"] = limit, offset
	return limit, offset
}

func (p *params) include() map[string]bool {
	parts, _ := list(p.v, "include_related")
	out := map[string]bool{}
	for _, s := range parts {
		out[s] = true
	}
	return out
}

// orderBy validates order_by against the allowed fields (each also
// accepted with a "-" prefix).
func (p *params) orderBy(def string, allowed ...string) string {
	s := p.v.Get("order_by")
	if s == "" {
		return def
	}
	if !slices.Contains(allowed, strings.TrimPrefix(s, "-")) {
		p.fail("Invalid value for order_by: %q (use one of %s, optionally prefixed with -).", s, strings.Join(allowed, ", "))
		return def
	}
	return s
}

// paginate slices items per limit and offset and builds extra.
func paginate[T any](p *params, items []T, orderBy string) ([]T, *apiExtra) {
	limit, offset := p.page()
	total := len(items)
	lo := min(offset, total)
	hi := min(lo+limit, total)
	page := items[lo:hi]
	ex := &apiExtra{Filters: p.filters, OrderBy: &orderBy}
	ex.Pagination.Count = len(page)
	ex.Pagination.TotalCount = total
	return page, ex
}

// sortByOrder sorts items by an order_by value: a field name, with "-" in
// front for descending; by compares two items on a field (0 for a field it
// does not know), and ties are broken by id in the same direction.
func sortByOrder[T any](items []T, order string, id func(T) int64, by func(field string, a, b T) int) {
	field, desc := strings.TrimPrefix(order, "-"), strings.HasPrefix(order, "-")
	slices.SortStableFunc(items, func(a, b T) int {
		c := cmp.Or(by(field, a, b), cmp.Compare(id(a), id(b)))
		if desc {
			return -c
		}
		return c
	})
}

// writeList answers a list request: the page of items the parameters ask
// for, each rendered, in the response envelope, or 400 for bad parameters.
func writeList[T any](w http.ResponseWriter, p *params, items []T, order string, render func(T) obj) {
	page, ex := paginate(p, items, order)
	if p.err != nil {
		writeError(w, http.StatusBadRequest, p.err.Error())
		return
	}
	data := make([]obj, 0, len(page))
	for _, it := range page {
		data = append(data, render(it))
	}
	writeOK(w, data, ex)
}

// checkAccount answers 404 when the path's account is not the dataset's.
func (s *Server) checkAccount(w http.ResponseWriter, r *http.Request) bool {
	id, err := strconv.ParseInt(r.PathValue("account_id"), 10, 64)
	if err != nil || id != s.ds.Account.ID {
		writeError(w, http.StatusNotFound, "The requested resource was not found. Please check that you have the proper permissions.")
		return false
	}
	return true
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "The requested resource was not found.")
		return 0, false
	}
	return id, true
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// ---- accounts ----

func (s *Server) accountObj() obj {
	a := s.ds.Account
	created := baseTime.Add(-500 * 24 * time.Hour)
	return obj{
		"id": a.ID, "name": a.Name, "state": 1, "plan": cmp.Or(a.Plan, "enterprise"),
		"docs_job_id": nil, "freshness_job_id": nil, "docs_job": nil, "freshness_job": nil,
		"lock_reason": nil, "lock_cause": nil, "unlock_if_subscription_renewed": false, "locked": false,
		"unlocked_at": nil, "pending_cancel": false, "run_slots": 15, "developer_seats": 10,
		"read_only_seats": 10, "it_seats": 0, "explorer_seats": 0, "analyst_seats": 0,
		"queue_limit": 50, "pod_memory_request_mebibytes": 600, "develop_pod_memory_request_mebibytes": 600,
		"run_duration_limit_seconds": 86400, "enterprise_authentication_method": nil,
		"enterprise_login_slug": nil, "enterprise_unique_identifier": nil, "billing_email_address": nil,
		"develop_file_system": true, "created_at": apiTimeT(created), "updated_at": apiTimeT(created.Add(90 * 24 * time.Hour)),
		"starter_repo_url": nil, "sso_reauth": false, "git_auth_level": "team",
		"identifier": fmt.Sprintf("act_%d", a.ID), "static_subdomain": fmt.Sprintf("em%d", a.ID),
		"vanity_subdomain": nil, "trial_end_date": nil, "run_locked_until": nil, "copilot_locked_until": nil,
		"business_critical": false, "agent_credit_locked": false, "account_migration_events": []any{},
		"groups": []any{}, "enterprise_login_url": "https://emulator.invalid/enterprise-login/None/",
	}
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	s.ds.mu.RLock()
	a := s.accountObj()
	id := s.ds.Account.ID
	s.ds.mu.RUnlock()
	// As observed: a token sees its own account; filters echo pk__in and
	// order_by is null.
	ex := &apiExtra{Filters: obj{"pk__in": []int64{id}}}
	ex.Pagination.Count, ex.Pagination.TotalCount = 1, 1
	writeOK(w, []obj{a}, ex)
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	s.ds.mu.RLock()
	a := s.accountObj()
	s.ds.mu.RUnlock()
	writeOK(w, a, nil)
}

// ---- projects ----

func (s *Server) projectObj(p Project, inc map[string]bool) obj {
	o := obj{
		"id": p.ID, "account_id": p.AccountID, "name": p.Name, "description": p.Description,
		"connection_id": p.ID + 300000, "repository_id": p.ID + 200000,
		"created_at": apiTime(p.CreatedAt), "updated_at": apiTime(p.UpdatedAt), "skipped_setup": false,
		"state": p.State, "dbt_project_subdirectory": nil, "connection": nil, "repository": nil,
		"group_permissions": []any{}, "docs_job_id": nullID(p.DocsJobID), "freshness_job_id": nullID(p.FreshnessJobID),
		"docs_job": nil, "freshness_job": nil, "type": 0, "default_version": "latest", "fusion_readiness": nil,
	}
	if inc["docs_job"] && p.DocsJobID != 0 {
		if j, ok := s.findJob(p.DocsJobID); ok {
			o["docs_job"] = s.internalJobObj(j)
		}
	}
	if inc["freshness_job"] && p.FreshnessJobID != 0 {
		if j, ok := s.findJob(p.FreshnessJobID); ok {
			o["freshness_job"] = s.internalJobObj(j)
		}
	}
	return o
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	p := newParams(r, s.ds.Account.ID)
	pk, hasPK := p.int("pk")
	pkGT, hasPKGT := p.int("pk__gt")
	pkIn, hasPKIn := p.ints("pk__in")
	name, hasName := p.str("name__icontains")
	state := p.state("active")
	order := p.orderBy("id", "id", "name", "created_at", "updated_at")
	inc := p.include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	var items []Project
	for _, pr := range s.ds.Projects {
		if (hasPK && pr.ID != pk) || (hasPKGT && pr.ID <= pkGT) || (hasPKIn && !slices.Contains(pkIn, pr.ID)) ||
			(hasName && !strings.Contains(strings.ToLower(pr.Name), strings.ToLower(name))) || !state(pr.State) {
			continue
		}
		items = append(items, pr)
	}
	sortProjects(items, order)
	writeList(w, p, items, order, func(pr Project) obj { return s.projectObj(pr, inc) })
}

func sortProjects(items []Project, order string) {
	sortByOrder(items, order, func(x Project) int64 { return x.ID }, func(field string, a, b Project) int {
		switch field {
		case "name":
			return cmp.Compare(a.Name, b.Name)
		case "created_at":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "updated_at":
			return a.UpdatedAt.Compare(b.UpdatedAt)
		}
		return 0
	})
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	inc := newParams(r, 0).include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	for _, pr := range s.ds.Projects {
		if pr.ID == id {
			writeOK(w, s.projectObj(pr, inc), nil)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("Project %d was not found.", id))
}

// ---- environments ----

func (s *Server) envObj(e Environment, v3 bool, inc map[string]bool) obj {
	o := obj{
		"id": e.ID, "account_id": e.AccountID, "project_id": e.ProjectID, "name": e.Name,
		"connection_id": e.ProjectID + 300000, "repository_id": e.ProjectID + 200000,
		"credentials_id": e.ID + 600000, "created_by_id": nil,
		"dbt_project_subdirectory": nil, "use_custom_branch": e.CustomBranch != "",
		"custom_branch": nullStr(e.CustomBranch), "dbt_version": e.DbtVersion, "raw_dbt_version": e.DbtVersion,
		"supports_docs": e.Type == "deployment", "state": e.State, "type": e.Type,
		"deployment_type": nullStr(e.DeploymentType), "created_at": apiTimeT(e.CreatedAt),
		"updated_at": apiTimeT(e.UpdatedAt), "repository": nil, "connection": nil,
	}
	if v3 {
		o["credentials"] = nil
		o["project"] = nil
		o["is_deferrable"] = e.Type == "deployment"
		o["enable_model_query_history"] = false
		o["fusion_readiness"] = nil
		if inc["project"] {
			for _, p := range s.ds.Projects {
				if p.ID == e.ProjectID {
					o["project"] = s.projectObj(p, nil)
				}
			}
		}
	} else {
		o["custom_environment_variables"] = []any{}
	}
	return o
}

func (s *Server) filterEnvs(p *params, projectIDs []int64) ([]Environment, string) {
	deployment, hasDep := p.str("deployment_type")
	depIn, hasDepIn := p.strs("deployment_type__in")
	typ, hasType := p.str("type")
	name, hasName := p.str("name")
	nameLike, hasNameLike := p.str("name__icontains")
	idGT, hasIDGT := p.int("id__gt")
	pk, hasPK := p.int("pk")
	pkIn, hasPKIn := p.ints("pk__in")
	state := p.state("active")
	order := p.orderBy("id", "id", "name", "created_at", "updated_at")
	var items []Environment
	for _, e := range s.ds.Environments {
		if (projectIDs != nil && !slices.Contains(projectIDs, e.ProjectID)) ||
			(hasDep && e.DeploymentType != deployment) || (hasDepIn && !slices.Contains(depIn, e.DeploymentType)) ||
			(hasType && e.Type != typ) || (hasName && e.Name != name) ||
			(hasNameLike && !strings.Contains(strings.ToLower(e.Name), strings.ToLower(nameLike))) ||
			(hasIDGT && e.ID <= idGT) || (hasPK && e.ID != pk) || (hasPKIn && !slices.Contains(pkIn, e.ID)) ||
			!state(e.State) {
			continue
		}
		items = append(items, e)
	}
	sortByOrder(items, order, func(x Environment) int64 { return x.ID }, func(field string, a, b Environment) int {
		switch field {
		case "name":
			return cmp.Compare(a.Name, b.Name)
		case "created_at":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "updated_at":
			return a.UpdatedAt.Compare(b.UpdatedAt)
		}
		return 0
	})
	return items, order
}

func (s *Server) hasProject(id int64) bool {
	for _, p := range s.ds.Projects {
		if p.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) listEnvironmentsV3(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	p := newParams(r, s.ds.Account.ID)
	p.filters["project_id"] = pid
	inc := p.include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	if !s.hasProject(pid) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Project %d was not found.", pid))
		return
	}
	items, order := s.filterEnvs(p, []int64{pid})
	writeList(w, p, items, order, func(e Environment) obj { return s.envObj(e, true, inc) })
}

func (s *Server) listEnvironmentsV2(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	p := newParams(r, s.ds.Account.ID)
	var projects []int64
	if id, ok := p.int("project_id"); ok {
		projects = []int64{id}
	}
	if ids, ok := p.ints("project_id__in"); ok {
		projects = ids
	}
	inc := p.include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	items, order := s.filterEnvs(p, projects)
	writeList(w, p, items, order, func(e Environment) obj { return s.envObj(e, false, inc) })
}

func (s *Server) getEnv(w http.ResponseWriter, r *http.Request, v3 bool) {
	if !s.checkAccount(w, r) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var pid int64
	if v3 {
		if pid, ok = pathID(w, r, "project_id"); !ok {
			return
		}
	}
	inc := newParams(r, 0).include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	for _, e := range s.ds.Environments {
		if e.ID == id && (!v3 || e.ProjectID == pid) {
			writeOK(w, s.envObj(e, v3, inc), nil)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("Environment %d was not found.", id))
}

func (s *Server) getEnvironmentV3(w http.ResponseWriter, r *http.Request) { s.getEnv(w, r, true) }
func (s *Server) getEnvironmentV2(w http.ResponseWriter, r *http.Request) { s.getEnv(w, r, false) }

// ---- jobs ----

func (s *Server) findJob(id int64) (Job, bool) {
	for _, j := range s.ds.Jobs {
		if j.ID == id {
			return j, true
		}
	}
	return Job{}, false
}

// jobObj renders a job as the jobs endpoints return it
// (HumanReadableJobDefinitionResponse).
func (s *Server) jobObj(j Job, inc map[string]bool) obj {
	version := ""
	for _, e := range s.ds.Environments {
		if e.ID == j.EnvironmentID {
			version = e.DbtVersion
		}
	}
	sched := obj{"cron": "0 0 * * *", "date": obj{"type": "custom_cron", "cron": "0 0 * * *"}, "time": obj{"type": "every_hour", "interval": 1}}
	humanized := "Not scheduled"
	if j.Cron != "" {
		sched = obj{"cron": j.Cron, "date": obj{"type": "custom_cron", "cron": j.Cron}, "time": obj{"type": "every_hour", "interval": 1}}
		humanized = "Custom cron: " + j.Cron
	}
	o := obj{
		"id": j.ID, "account_id": j.AccountID, "project_id": j.ProjectID, "environment_id": j.EnvironmentID,
		"name": j.Name, "description": "", "dbt_version": nil, "raw_dbt_version": version,
		"created_at": apiTimeT(j.CreatedAt), "updated_at": apiTimeT(j.UpdatedAt),
		"execute_steps": j.ExecuteSteps, "state": j.State, "generate_docs": j.GenerateDocs,
		"run_generate_sources": j.RunGenerateSources, "generate_sources": j.RunGenerateSources,
		"deferring_job_definition_id": nil,
		"lifecycle_webhooks":          false, "lifecycle_webhooks_url": nil,
		"triggers": obj{"github_webhook": false, "git_provider_webhook": false, "custom_branch_only": true,
			"schedule": j.Cron != "", "on_merge": false},
		"settings":  obj{"threads": 4, "target_name": "default"},
		"execution": obj{"timeout_seconds": 0}, "schedule": sched, "is_deferrable": false,
		"cron_humanized": humanized, "next_run": nil, "next_run_humanized": nil,
		"job_type": cmp.Or(j.JobType, "other"), "triggers_on_draft_pr": false,
		"run_compare_changes": false, "compare_changes_flags": "--select state:modified",
		"run_lint": false, "errors_on_lint_failure": true, "job_completion_trigger_condition": nil,
		"run_failure_count": 0, "account": nil, "project": nil, "environment": nil, "fusion_readiness": nil,
	}
	if inc["environment"] {
		for _, e := range s.ds.Environments {
			if e.ID == j.EnvironmentID {
				o["environment"] = s.envObj(e, false, nil)
			}
		}
	}
	if inc["most_recent_run"] || inc["most_recent_completed_run"] {
		var last, lastDone *Run
		for i := range s.ds.Runs {
			r := &s.ds.Runs[i]
			if r.JobID != j.ID {
				continue
			}
			if last == nil || r.ID > last.ID {
				last = r
			}
			if isTerminal(r.Status) && (lastDone == nil || r.ID > lastDone.ID) {
				lastDone = r
			}
		}
		if inc["most_recent_run"] {
			o["most_recent_run"] = s.runObjOrNil(last)
		}
		if inc["most_recent_completed_run"] {
			o["most_recent_completed_run"] = s.runObjOrNil(lastDone)
		}
	}
	return o
}

// internalJobObj renders a job embedded in another object (a run's job, a
// project's docs_job): the internal shape, whose schedule names the date
// and time strategies as plain strings.
func (s *Server) internalJobObj(j Job) obj {
	jo := s.jobObj(j, nil)
	jo["schedule"] = obj{"cron": cmp.Or(j.Cron, "0 0 * * *"), "date": "custom_cron", "time": "every_hour"}
	return jo
}

func (s *Server) runObjOrNil(r *Run) any {
	if r == nil {
		return nil
	}
	return s.runObj(*r, nil)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	p := newParams(r, s.ds.Account.ID)
	pid, hasPID := p.int("project_id")
	pids, hasPIDs := p.ints("project_id__in")
	eid, hasEID := p.int("environment_id")
	pk, hasPK := p.int("pk")
	name, hasName := p.str("name__icontains")
	sched, hasSched := p.bool("triggers_schedule")
	state := p.state("active")
	order := p.orderBy("id", "id", "name", "created_at", "updated_at")
	inc := p.include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	var items []Job
	for _, j := range s.ds.Jobs {
		if (hasPID && j.ProjectID != pid) || (hasPIDs && !slices.Contains(pids, j.ProjectID)) ||
			(hasEID && j.EnvironmentID != eid) || (hasPK && j.ID != pk) ||
			(hasName && !strings.Contains(strings.ToLower(j.Name), strings.ToLower(name))) ||
			(hasSched && (j.Cron != "") != sched) || !state(j.State) {
			continue
		}
		items = append(items, j)
	}
	sortByOrder(items, order, func(x Job) int64 { return x.ID }, func(field string, a, b Job) int {
		switch field {
		case "name":
			return cmp.Compare(a.Name, b.Name)
		case "created_at":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "updated_at":
			return a.UpdatedAt.Compare(b.UpdatedAt)
		}
		return 0
	})
	writeList(w, p, items, order, func(j Job) obj { return s.jobObj(j, inc) })
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	inc := newParams(r, 0).include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	j, ok := s.findJob(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Job %d was not found.", id))
		return
	}
	writeOK(w, s.jobObj(j, inc), nil)
}

// ---- runs ----

func isTerminal(status int) bool { return status == 10 || status == 20 || status == 30 }

func statusHumanized(status int) string {
	switch status {
	case 1:
		return "Queued"
	case 2:
		return "Starting"
	case 3:
		return "Running"
	case 10:
		return "Success"
	case 20:
		return "Error"
	case 30:
		return "Cancelled"
	}
	return "Unknown"
}

func clockDuration(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	plural := func(n int, unit string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	var parts []string
	if h := int(d.Hours()); h > 0 {
		parts = append(parts, plural(h, "hour"))
	}
	if m := int(d.Minutes()) % 60; m > 0 {
		parts = append(parts, plural(m, "minute"))
	}
	if sec := int(d.Seconds()) % 60; sec > 0 || len(parts) == 0 {
		parts = append(parts, plural(sec, "second"))
	}
	return strings.Join(parts, ", ")
}

func (s *Server) runObj(run Run, inc map[string]bool) obj {
	dequeued := run.CreatedAt.Add(run.StartedAt.Sub(run.CreatedAt) / 2)
	success, errored := run.Status == 10, run.Status == 20
	o := obj{
		"id": run.ID, "trigger_id": run.ID + 5_000_000, "account_id": run.AccountID,
		"environment_id": run.EnvironmentID, "project_id": run.ProjectID,
		"job_definition_id": run.JobID, "job_id": run.JobID, "status": run.Status,
		"dbt_version": run.DbtVersion, "git_branch": nullStr(run.GitBranch), "git_sha": nullStr(run.GitSHA),
		"status_message": nullStr(run.StatusMessage), "owner_thread_id": nil,
		"executed_by_thread_id": fmt.Sprintf("dbt-run-%d-%s", run.ID, hex40(run.ID, "pod", 0)[:5]),
		"deferring_run_id":      nil, "artifacts_saved": run.ArtifactsSaved,
		"artifact_s3_path":   fmt.Sprintf("prod/runs/%d/artifacts/target", run.ID),
		"has_docs_generated": run.HasDocsGenerated, "has_sources_generated": run.HasSourcesGenerated,
		"notifications_sent": true, "blocked_by": []any{}, "scribe_enabled": true,
		"created_at": apiTime(run.CreatedAt), "updated_at": apiTime(run.FinishedAt),
		"dequeued_at": apiTime(dequeued), "started_at": apiTime(run.StartedAt), "finished_at": apiTime(run.FinishedAt),
		"last_checked_at": nil, "last_heartbeat_at": nil, "should_start_at": nil,
		"trigger": nil, "job": nil, "environment": nil, "run_steps": []any{},
		"status_humanized": statusHumanized(run.Status), "in_progress": !isTerminal(run.Status),
		"is_complete": isTerminal(run.Status), "is_success": success, "is_error": errored,
		"is_cancelled": run.Status == 30, "is_running": run.Status == 3,
		"href":                      fmt.Sprintf("https://emulator.invalid/deploy/%d/projects/%d/runs/%d/", run.AccountID, run.ProjectID, run.ID),
		"duration":                  clockDuration(run.FinishedAt.Sub(run.CreatedAt)),
		"queued_duration":           clockDuration(run.StartedAt.Sub(run.CreatedAt)),
		"run_duration":              clockDuration(run.FinishedAt.Sub(run.StartedAt)),
		"duration_humanized":        humanDuration(run.FinishedAt.Sub(run.CreatedAt)),
		"queued_duration_humanized": humanDuration(run.StartedAt.Sub(run.CreatedAt)),
		"run_duration_humanized":    humanDuration(run.FinishedAt.Sub(run.StartedAt)),
		"created_at_humanized":      run.CreatedAt.UTC().Format("Jan 2, 2006 15:04"),
		"finished_at_humanized":     run.FinishedAt.UTC().Format("Jan 2, 2006 15:04"),
		"can_retry":                 errored, "used_repo_cache": false,
	}
	if inc["trigger"] {
		o["trigger"] = obj{
			"id": run.ID + 5_000_000, "cause": run.TriggerCause, "job_definition_id": run.JobID,
			"git_branch": nullStr(run.GitBranch), "git_sha": nullStr(run.GitSHA),
			"cause_category": map[bool]string{true: "scheduled", false: "ui"}[run.TriggerCause == "Scheduled"],
			"created_at":     apiTime(run.CreatedAt),
		}
	}
	if inc["job"] {
		if j, ok := s.findJob(run.JobID); ok {
			o["job"] = s.internalJobObj(j)
		}
	}
	if inc["environment"] {
		for _, e := range s.ds.Environments {
			if e.ID == run.EnvironmentID {
				o["environment"] = s.envObj(e, false, nil)
			}
		}
	}
	if inc["run_steps"] {
		steps := make([]obj, 0, len(run.Steps))
		span := run.FinishedAt.Sub(run.StartedAt) / time.Duration(max(1, len(run.Steps)))
		for i, st := range run.Steps {
			start := run.StartedAt.Add(time.Duration(i) * span)
			logs := fmt.Sprintf("%s\n%s", st.Name, statusHumanized(st.Status))
			steps = append(steps, obj{
				"id": st.ID, "run_id": run.ID, "account_id": run.AccountID, "index": st.Index,
				"status": st.Status, "name": st.Name, "logs": logs, "debug_logs": logs,
				"log_path":         fmt.Sprintf("runs/%d/steps/%d/logs.txt", run.ID, st.Index),
				"debug_log_path":   fmt.Sprintf("runs/%d/steps/%d/debug.txt", run.ID, st.Index),
				"status_humanized": statusHumanized(st.Status), "duration": clockDuration(span),
				"duration_humanized": humanDuration(span), "created_at": apiTime(start),
				"updated_at": apiTime(start.Add(span)), "started_at": apiTime(start), "finished_at": apiTime(start.Add(span)),
			})
		}
		o["run_steps"] = steps
	}
	return o
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	p := newParams(r, s.ds.Account.ID)
	jid, hasJID := p.int("job_definition_id")
	eid, hasEID := p.int("environment_id")
	pid, hasPID := p.int("project_id")
	pids, hasPIDs := p.ints("project_id__in")
	status, hasStatus := p.int("status")
	statusIn, hasStatusIn := p.ints("status__in")
	docs, hasDocs := p.bool("has_docs_generated")
	srcs, hasSrcs := p.bool("has_sources_generated")
	idGT, hasIDGT := p.int("id__gt")
	pk, hasPK := p.int("pk")
	pkIn, hasPKIn := p.ints("pk__in")
	ver, hasVer := p.str("dbt_version")
	state := p.state("all")
	order := p.orderBy("id", "id", "created_at", "finished_at")
	inc := p.include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	var items []Run
	for _, run := range s.ds.Runs {
		if (hasJID && run.JobID != jid) || (hasEID && run.EnvironmentID != eid) ||
			(hasPID && run.ProjectID != pid) || (hasPIDs && !slices.Contains(pids, run.ProjectID)) ||
			(hasStatus && int64(run.Status) != status) || (hasStatusIn && !slices.Contains(statusIn, int64(run.Status))) ||
			(hasDocs && run.HasDocsGenerated != docs) || (hasSrcs && run.HasSourcesGenerated != srcs) ||
			(hasIDGT && run.ID <= idGT) || (hasPK && run.ID != pk) || (hasPKIn && !slices.Contains(pkIn, run.ID)) ||
			(hasVer && run.DbtVersion != ver) || !state(1) {
			continue
		}
		items = append(items, run)
	}
	sortByOrder(items, order, func(x Run) int64 { return x.ID }, func(field string, a, b Run) int {
		switch field {
		case "created_at":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "finished_at":
			return a.FinishedAt.Compare(b.FinishedAt)
		}
		return 0
	})
	writeList(w, p, items, order, func(run Run) obj { return s.runObj(run, inc) })
}

func (s *Server) findRun(id int64) (Run, bool) {
	for _, r := range s.ds.Runs {
		if r.ID == id {
			return r, true
		}
	}
	return Run{}, false
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	inc := newParams(r, 0).include()
	s.ds.mu.RLock()
	defer s.ds.mu.RUnlock()
	run, ok := s.findRun(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Run %d was not found.", id))
		return
	}
	writeOK(w, s.runObj(run, inc), nil)
}

// ---- artifacts ----

func (s *Server) listArtifacts(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	id, ok := pathID(w, r, "run_id")
	if !ok {
		return
	}
	if _, ok := s.ds.RunByID(id); !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Run %d was not found.", id))
		return
	}
	names := s.ds.ArtifactNames(id)
	if names == nil {
		names = []string{}
	}
	writeOK(w, names, nil)
}

// getArtifact serves both the artifact list (empty remainder) and one
// artifact: one pattern, as ServeMux treats the two as overlapping.
func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("remainder") == "" {
		s.listArtifacts(w, r)
		return
	}
	if !s.checkAccount(w, r) {
		return
	}
	id, ok := pathID(w, r, "run_id")
	if !ok {
		return
	}
	s.serveArtifact(w, r, id)
}

func (s *Server) serveArtifact(w http.ResponseWriter, r *http.Request, runID int64) {
	name := r.PathValue("remainder")
	step := 0
	if v := r.URL.Query().Get("step"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid value for step: %q (use the 1-based step index).", v))
			return
		}
		step = n
	}
	if _, ok := s.ds.RunByID(runID); !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Run %d was not found.", runID))
		return
	}
	b, ok := s.ds.StepArtifact(runID, step, name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("The artifact %s was not found for run %d.", name, runID))
		return
	}
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(name, ".json"):
		ct = "application/json"
	case strings.HasSuffix(name, ".sql"), strings.HasSuffix(name, ".csv"), strings.HasSuffix(name, ".txt"):
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// getJobArtifact serves the artifact of the newest run of the job that has
// it. (dbt documents "the latest matching artifact" without saying whether
// errored runs count; the emulator counts them.)
func (s *Server) getJobArtifact(w http.ResponseWriter, r *http.Request) {
	if !s.checkAccount(w, r) {
		return
	}
	jid, ok := pathID(w, r, "job_id")
	if !ok {
		return
	}
	name := r.PathValue("remainder")
	s.ds.mu.RLock()
	var ids []int64
	for _, run := range s.ds.Runs {
		if run.JobID == jid {
			ids = append(ids, run.ID)
		}
	}
	_, jobOK := s.findJob(jid)
	s.ds.mu.RUnlock()
	if !jobOK {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Job %d was not found.", jid))
		return
	}
	slices.Sort(ids)
	for i := len(ids) - 1; i >= 0; i-- {
		if slices.Contains(s.ds.ArtifactNames(ids[i]), name) {
			s.serveArtifact(w, r, ids[i])
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("The artifact %s was not found for job %d.", name, jid))
}
