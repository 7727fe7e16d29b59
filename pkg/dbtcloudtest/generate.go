package dbtcloudtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"sync"
	"time"
)

// GenConfig sizes and shapes a generated dataset. Zero values take the
// defaults of DefaultGenConfig where noted.
type GenConfig struct {
	// Seed makes the dataset reproducible: one seed, identical bytes.
	Seed int64
	// AccountID of the generated account (default 70001).
	AccountID int64
	// Projects in the account (default 1).
	Projects int
	// EnvironmentsPerProject counts deployment environments: the first is
	// production, the second staging, any further ones general deployment
	// environments. Default 1.
	EnvironmentsPerProject int
	// DevelopmentEnvironment adds one development environment per project,
	// with no jobs and no applied state (crawlers skip it by default).
	DevelopmentEnvironment bool
	// Models per environment (default 30).
	Models int
	// ColumnsPerModel (default 6, minimum 2).
	ColumnsPerModel int
	// TestsPerModel generic tests on each model (default 2).
	TestsPerModel int
	// SourcesPerEnv source tables per environment; 0 means Models/4 (at
	// least 1).
	SourcesPerEnv int
	// Seeds, Snapshots and Exposures per environment.
	Seeds     int
	Snapshots int
	Exposures int
	// RunsPerJob generated runs of every deployment job (default 3).
	RunsPerJob int
	// FailingTestFraction of test executions that fail or warn (0..1).
	FailingTestFraction float64
	// ErroredRunFraction of build runs in which one model errors, skipping
	// its descendants (0..1; negative means none). Default 0.25.
	ErroredRunFraction float64
	// CompiledCodeBytes is the approximate size of each model's compiled SQL
	// (default 400). Large values make large manifests.
	CompiledCodeBytes int
	// Adapter is "postgres" (default) or "snowflake". Snowflake catalogs
	// carry upper-case database, schema, table and column names.
	Adapter string
	// DbtVersion written into environments, runs and artifacts (default
	// "1.9.4").
	DbtVersion string
	// ArtifactCacheBytes bounds the memory of lazily generated artifacts
	// kept for reuse (default 256 MiB; negative disables caching).
	ArtifactCacheBytes int64
}

// DefaultGenConfig returns a small, realistic configuration: 2 projects with
// a production and a staging environment each, 30 models per environment,
// and 3 runs of each of the 3 jobs per environment.
func DefaultGenConfig() GenConfig {
	return GenConfig{
		Seed:                   1,
		AccountID:              70001,
		Projects:               2,
		EnvironmentsPerProject: 2,
		Models:                 30,
		ColumnsPerModel:        6,
		TestsPerModel:          2,
		Seeds:                  2,
		Snapshots:              2,
		Exposures:              2,
		RunsPerJob:             3,
		FailingTestFraction:    0.03,
		ErroredRunFraction:     0.25,
		CompiledCodeBytes:      400,
		Adapter:                "postgres",
		DbtVersion:             "1.9.4",
	}
}

// DemoGenConfig returns the configuration `crawler demo` serves: 3 projects,
// production, staging and a development environment each, 120 models per
// environment on Snowflake.
func DemoGenConfig() GenConfig {
	c := DefaultGenConfig()
	c.Seed = 42
	c.Projects = 3
	c.DevelopmentEnvironment = true
	c.Models = 120
	c.ColumnsPerModel = 8
	c.TestsPerModel = 3
	c.Seeds = 4
	c.Snapshots = 3
	c.Exposures = 5
	c.RunsPerJob = 5
	c.Adapter = "snowflake"
	return c
}

func (c GenConfig) withDefaults() GenConfig {
	d := DefaultGenConfig()
	if c.AccountID <= 0 {
		c.AccountID = d.AccountID
	}
	if c.Projects <= 0 {
		c.Projects = 1
	}
	if c.EnvironmentsPerProject <= 0 {
		c.EnvironmentsPerProject = 1
	}
	if c.Models <= 0 {
		c.Models = d.Models
	}
	if c.ColumnsPerModel <= 0 {
		c.ColumnsPerModel = d.ColumnsPerModel
	}
	if c.ColumnsPerModel < 2 {
		c.ColumnsPerModel = 2
	}
	if c.TestsPerModel < 0 {
		c.TestsPerModel = 0
	}
	if c.SourcesPerEnv <= 0 {
		c.SourcesPerEnv = max(1, c.Models/4)
	}
	c.Seeds, c.Snapshots, c.Exposures = max(0, c.Seeds), max(0, c.Snapshots), max(0, c.Exposures)
	if c.RunsPerJob < 0 {
		c.RunsPerJob = 0
	}
	c.FailingTestFraction = clamp01(c.FailingTestFraction)
	if c.ErroredRunFraction == 0 {
		c.ErroredRunFraction = d.ErroredRunFraction
	}
	c.ErroredRunFraction = clamp01(c.ErroredRunFraction)
	if c.CompiledCodeBytes <= 0 {
		c.CompiledCodeBytes = d.CompiledCodeBytes
	}
	c.Adapter = strings.ToLower(c.Adapter)
	if c.Adapter != "snowflake" {
		c.Adapter = "postgres"
	}
	if c.DbtVersion == "" {
		c.DbtVersion = d.DbtVersion
	}
	if c.ArtifactCacheBytes == 0 {
		c.ArtifactCacheBytes = 256 << 20
	}
	return c
}

func clamp01(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}

// baseTime anchors every generated timestamp, so datasets do not depend on
// the clock.
var baseTime = time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)

// jobKind says what a generated job runs.
type jobKind int

const (
	kindBuild     jobKind = iota // dbt build + docs generate
	kindFreshness                // dbt source freshness
	kindTest                     // dbt test
)

// generator holds what is needed to produce the artifacts of generated
// runs on demand. Its maps are guarded by the owning Dataset's mutex;
// envState values are immutable once published.
type generator struct {
	cfg  GenConfig
	envs map[int64]*genEnv
	runs map[int64]*runSpec
	// order lists environment IDs in creation order.
	order     []int64
	nextRunID int64
	lastTime  time.Time
	cache     artifactCache
}

// genEnv is one generated deployment environment.
type genEnv struct {
	env      Environment
	project  Project
	pkg      string
	target   string // target schema, e.g. "prod"
	database string
	state    *envState
	jobs     [3]Job // indexed by jobKind
	projIdx  int
	envIdx   int
	// changes counts AddRuns rounds, for description revisions.
	changes int
}

// runSpec records what one generated run saw: its environment, the state
// its artifacts describe and the kind of job.
type runSpec struct {
	run   Run
	env   *genEnv
	state *envState
	kind  jobKind
}

// envState is an immutable version of an environment's dbt project.
type envState struct {
	version int
	gitSHA  string
	nodes   []*genNode // sources, seeds, snapshots, models, tests, exposures
	byID    map[string]*genNode
	// testsOf maps a tested node to its tests, in node order.
	testsOf map[string][]*genNode
}

// genNode is one manifest entry. Nodes are shared between state versions
// and never modified after publication; a change clones the node.
type genNode struct {
	uniqueID     string
	resourceType string
	name         string
	description  string
	// baseDescription is the description before any AddRuns revision.
	baseDescription string
	database        string
	schema          string
	alias           string
	materialized    string
	layer           string
	entity          string
	tags            []string
	owner           string
	tier            string
	deps            []string
	macros          []string
	columns         []genColumn
	path            string // relative to models/ (or seeds/, snapshots/)
	origPath        string
	// Tests.
	testName   string
	testColumn string
	attached   string
	severity   string
	testKind   string
	testTo     string // relationships target node
	// Sources.
	sourceName string
	loader     string
	// Exposures.
	url   string
	label string
}

type genColumn struct {
	name        string
	description string
	kind        colKind
}

type colKind int

const (
	colInt colKind = iota
	colText
	colTime
	colNumeric
	colBool
	colVarchar
)

func (k colKind) typeName(adapter string) string {
	if adapter == "snowflake" {
		return [...]string{"NUMBER(38,0)", "TEXT", "TIMESTAMP_NTZ", "NUMBER(18,2)", "BOOLEAN", "VARCHAR(256)"}[k]
	}
	return [...]string{"integer", "text", "timestamp without time zone", "numeric(18,2)", "boolean", "character varying(256)"}[k]
}

var (
	entities = []string{"customers", "orders", "payments", "products", "sessions", "events", "invoices",
		"subscriptions", "accounts", "users", "shipments", "refunds", "campaigns", "leads", "tickets",
		"inventory", "suppliers", "stores", "employees", "contracts"}
	systems     = []string{"stripe", "shopify", "salesforce", "hubspot", "app_db", "segment", "zendesk", "netsuite"}
	projectBase = []string{"analytics", "marketing", "finance", "product", "operations", "growth", "risk", "supply_chain"}
	teams       = []string{"data-platform@example.com", "analytics-eng@example.com", "finance-data@example.com", "growth@example.com"}
	columnNames = []struct {
		name string
		kind colKind
	}{
		{"customer_id", colInt}, {"status", colVarchar}, {"amount", colNumeric}, {"created_at", colTime},
		{"updated_at", colTime}, {"is_active", colBool}, {"email", colText}, {"country_code", colVarchar},
		{"quantity", colInt}, {"currency", colVarchar}, {"discount", colNumeric}, {"channel", colText},
	}
)

// Generate builds a deterministic dataset from cfg: the same configuration
// (seed included) always gives identical objects and identical artifact
// bytes. Artifacts of generated runs are produced on first request (see
// Dataset.Artifact) and kept in a bounded cache; Artifacts stays empty
// until Materialize is called.
func Generate(cfg GenConfig) *Dataset {
	cfg = cfg.withDefaults()
	g := &generator{
		cfg:       cfg,
		envs:      map[int64]*genEnv{},
		runs:      map[int64]*runSpec{},
		nextRunID: 900001,
		cache:     newArtifactCache(cfg.ArtifactCacheBytes),
	}
	ds := &Dataset{
		Account:   Account{ID: cfg.AccountID, Name: "Emulated Analytics Co", Plan: "enterprise"},
		Artifacts: map[int64]map[string][]byte{},
		Applied:   map[int64]*AppliedState{},
		gen:       g,
	}
	envID := int64(200001)
	jobID := int64(400001)
	for p := 0; p < cfg.Projects; p++ {
		pname := projectBase[p%len(projectBase)]
		if p >= len(projectBase) {
			pname = fmt.Sprintf("%s_%d", pname, p/len(projectBase)+1)
		}
		created := baseTime.Add(-time.Duration(400-p) * 24 * time.Hour).Add(time.Duration(p) * 13 * time.Minute)
		proj := Project{
			ID: int64(100001 + p), AccountID: cfg.AccountID, Name: pname,
			Description: fmt.Sprintf("dbt project for the %s domain.", strings.ReplaceAll(pname, "_", " ")),
			State:       1, CreatedAt: created, UpdatedAt: created.Add(30 * 24 * time.Hour),
		}
		pIdx := len(ds.Projects)
		ds.Projects = append(ds.Projects, proj)
		for e := 0; e < cfg.EnvironmentsPerProject; e++ {
			env := Environment{
				ID: envID, AccountID: cfg.AccountID, ProjectID: proj.ID, Type: "deployment",
				DbtVersion: cfg.DbtVersion, State: 1, CreatedAt: created.Add(time.Duration(e+1) * time.Hour),
				UpdatedAt: created.Add(time.Duration(e+1)*time.Hour + 40*24*time.Hour),
			}
			target := "prod"
			switch e {
			case 0:
				env.Name, env.DeploymentType, env.CustomBranch = "Production", "production", "main"
			case 1:
				env.Name, env.DeploymentType, env.CustomBranch, target = "Staging", "staging", "develop", "staging"
			default:
				env.Name, target = fmt.Sprintf("QA %d", e-1), fmt.Sprintf("qa%d", e-1)
				env.CustomBranch = "qa"
			}
			envID++
			ge := &genEnv{env: env, project: proj, pkg: pname, target: target, projIdx: p, envIdx: e}
			ge.database = "analytics"
			if cfg.Adapter == "snowflake" {
				ge.database = "ANALYTICS"
			}
			ge.state = g.buildState(ge)
			names := [3]string{"Daily build", "Source freshness", "CI tests"}
			for k := range 3 {
				j := Job{
					ID: jobID, AccountID: cfg.AccountID, ProjectID: proj.ID, EnvironmentID: env.ID,
					Name: fmt.Sprintf("%s (%s)", names[k], strings.ToLower(env.Name)), State: 1,
					CreatedAt: env.CreatedAt.Add(time.Duration(k+1) * time.Minute), JobType: "scheduled",
				}
				j.UpdatedAt = j.CreatedAt.Add(24 * time.Hour)
				switch jobKind(k) {
				case kindBuild:
					j.ExecuteSteps, j.GenerateDocs, j.Cron = []string{"dbt build"}, true, "0 6 * * *"
				case kindFreshness:
					j.ExecuteSteps, j.RunGenerateSources, j.Cron = []string{"dbt source freshness"}, true, "0 */6 * * *"
				case kindTest:
					j.ExecuteSteps, j.JobType = []string{"dbt test"}, "other"
				}
				jobID++
				ge.jobs[k] = j
				ds.Jobs = append(ds.Jobs, j)
			}
			if e == 0 {
				ds.Projects[pIdx].DocsJobID = ge.jobs[kindBuild].ID
				ds.Projects[pIdx].FreshnessJobID = ge.jobs[kindFreshness].ID
			}
			g.envs[env.ID] = ge
			g.order = append(g.order, env.ID)
			ds.Environments = append(ds.Environments, env)
		}
		if cfg.DevelopmentEnvironment {
			ds.Environments = append(ds.Environments, Environment{
				ID: envID, AccountID: cfg.AccountID, ProjectID: proj.ID, Name: "Development",
				Type: "development", DbtVersion: cfg.DbtVersion, State: 1,
				CreatedAt: created, UpdatedAt: created.Add(24 * time.Hour),
			})
			envID++
		}
	}
	// Runs: round by round, every job of every environment, ascending IDs.
	t := baseTime
	for r := 0; r < cfg.RunsPerJob; r++ {
		for _, id := range g.order {
			ge := g.envs[id]
			for k := range 3 {
				ds.Runs = append(ds.Runs, g.newRun(ge, jobKind(k), t))
				t = t.Add(7 * time.Minute)
			}
		}
		t = baseTime.Add(time.Duration(r+1) * 6 * time.Hour)
	}
	for _, id := range g.order {
		if a := g.applied(g.envs[id]); a != nil {
			ds.Applied[id] = a
		}
	}
	return ds
}

// newRun creates the next run of ge's job of kind k, created at t, and
// records its spec. The run's outcome is computed from the state it sees.
func (g *generator) newRun(ge *genEnv, k jobKind, t time.Time) Run {
	if !t.After(g.lastTime) {
		t = g.lastTime.Add(time.Minute)
	}
	id := g.nextRunID
	g.nextRunID++
	job := ge.jobs[k]
	run := Run{
		ID: id, AccountID: g.cfg.AccountID, ProjectID: ge.project.ID, EnvironmentID: ge.env.ID, JobID: job.ID,
		GitSHA: ge.state.gitSHA, DbtVersion: g.cfg.DbtVersion, ArtifactsSaved: true,
		GitBranch: ge.env.CustomBranch, TriggerCause: "Kicked off from UI by emulator@example.com",
	}
	if job.Cron != "" {
		run.TriggerCause = "Scheduled"
	}
	run.CreatedAt = t
	run.StartedAt = t.Add(time.Duration(20+hashN(g.cfg.Seed, "queue", id)%40) * time.Second)
	spec := &runSpec{run: run, env: ge, state: ge.state, kind: k}
	steps := []string{"Clone git repository", "Create profile from connection " + g.cfg.Adapter, "Invoke dbt with `dbt deps`"}
	var n int
	var failed bool
	switch k {
	case kindBuild:
		res := g.outcomes(spec)
		n, failed = len(res), anyFailed(res)
		steps = append(steps, "Invoke dbt with `dbt build`", "Invoke dbt with `dbt docs generate`")
		run.HasDocsGenerated = true
		for _, r := range res {
			if r.status == "error" {
				run.StatusMessage = "Database Error in model " + r.node.name
				break
			}
		}
	case kindTest:
		res := g.outcomes(spec)
		n, failed = len(res), anyFailed(res)
		steps = append(steps, "Invoke dbt with `dbt test`")
	case kindFreshness:
		fr := g.freshness(spec)
		n = len(fr)
		for _, f := range fr {
			failed = failed || f.status == "error"
		}
		steps = append(steps, "Invoke dbt with `dbt source freshness`")
		run.HasSourcesGenerated = true
	}
	run.FinishedAt = g.resultStart(spec, n).Add(30 * time.Second)
	run.Status = 10
	if failed {
		run.Status = 20
		if run.StatusMessage == "" {
			run.StatusMessage = "Some nodes failed"
		}
	}
	for i, name := range steps {
		st := 10
		if i == len(steps)-1 && failed && k != kindBuild {
			st = 20
		}
		if k == kindBuild && failed && i == len(steps)-2 {
			st = 20
		}
		run.Steps = append(run.Steps, RunStep{ID: id*10 + int64(i+1), Index: i + 1, Name: name, Status: st})
	}
	spec.run = run
	g.runs[id] = spec
	g.lastTime = run.CreatedAt
	return run
}

// resultStart is when the i-th result of a run starts executing.
func (g *generator) resultStart(spec *runSpec, i int) time.Time {
	return spec.run.StartedAt.Add(25*time.Second + time.Duration(i)*150*time.Millisecond)
}

// buildState generates the dbt project of one environment. Environments of
// one project get the same nodes in different schemas.
func (g *generator) buildState(ge *genEnv) *envState {
	cfg := g.cfg
	pkg := ge.pkg
	seed := cfg.Seed*1000003 + int64(ge.projIdx)
	st := &envState{version: 1}
	add := func(n *genNode) { st.nodes = append(st.nodes, n) }
	rawDB := "raw"
	if cfg.Adapter == "snowflake" {
		rawDB = "RAW"
	}
	// Sources.
	var sources []*genNode
	for j := 0; j < cfg.SourcesPerEnv; j++ {
		grp := j / 6
		sname := systems[grp%len(systems)]
		if grp >= len(systems) {
			sname = fmt.Sprintf("%s_%d", sname, grp/len(systems)+1)
		}
		table := suffixed(entities, j)
		n := &genNode{
			uniqueID: "source." + pkg + "." + sname + "." + table, resourceType: "source", name: table,
			description: fmt.Sprintf("Raw %s rows replicated from %s.", strings.ReplaceAll(table, "_", " "), sname),
			database:    rawDB, schema: sname, alias: table, sourceName: sname, entity: table,
			loader: []string{"fivetran", "airbyte", "stitch"}[hashN(seed, "loader", int64(grp))%3],
			owner:  teams[hashN(seed, "owner-src", int64(j))%uint64(len(teams))], tier: "raw",
			tags: []string{sname}, origPath: "models/staging/" + sname + "/_" + sname + "__sources.yml",
		}
		n.path = n.origPath
		n.columns = g.columns(n, max(2, cfg.ColumnsPerModel/2))
		sources = append(sources, n)
		add(n)
	}
	var seeds []*genNode
	for j := 0; j < cfg.Seeds; j++ {
		name := suffixed([]string{"country_codes", "currency_rates", "holiday_calendar", "product_categories", "region_mapping"}, j)
		n := &genNode{
			uniqueID: "seed." + pkg + "." + name, resourceType: "seed", name: name, materialized: "seed",
			description: fmt.Sprintf("Static reference data: %s.", strings.ReplaceAll(name, "_", " ")),
			database:    ge.database, schema: ge.target + "_seeds", alias: name, entity: name,
			owner: teams[0], tier: "bronze", tags: []string{"reference"},
			path: name + ".csv", origPath: "seeds/" + name + ".csv",
		}
		n.columns = g.columns(n, 3)
		seeds = append(seeds, n)
		add(n)
	}
	for j := 0; j < cfg.Snapshots; j++ {
		src := sources[j%len(sources)]
		name := src.name + "_snapshot"
		if j >= len(sources) {
			name = fmt.Sprintf("%s_snapshot_%d", src.name, j/len(sources)+1)
		}
		n := &genNode{
			uniqueID: "snapshot." + pkg + "." + name, resourceType: "snapshot", name: name, materialized: "snapshot",
			description: fmt.Sprintf("Type 2 history of %s.", src.name), database: ge.database,
			schema: "snapshots_" + ge.target, alias: name, entity: src.name, owner: src.owner, tier: "silver",
			tags: []string{"history"}, deps: []string{src.uniqueID}, path: name + ".sql",
			origPath: "snapshots/" + name + ".sql", macros: []string{"macro.dbt.snapshot"},
		}
		n.columns = g.columns(n, cfg.ColumnsPerModel)
		add(n)
	}
	// Models, in topological order: staging, intermediate, marts.
	var models []*genNode
	nStg := max(1, cfg.Models*4/10)
	nInt := cfg.Models * 3 / 10
	for i := 0; i < cfg.Models; i++ {
		n := &genNode{resourceType: "model", database: ge.database}
		switch {
		case i < nStg:
			src := sources[i%len(sources)]
			n.layer, n.entity = "staging", src.name
			n.name = "stg_" + src.sourceName + "__" + src.name
			if i >= len(sources) {
				n.name = fmt.Sprintf("%s_v%d", n.name, i/len(sources)+1)
			}
			n.deps = []string{src.uniqueID}
			n.materialized = "view"
			n.description = fmt.Sprintf("Staged %s from %s: renamed, typed and deduplicated.", src.name, src.sourceName)
			n.path = "staging/" + src.sourceName + "/" + n.name + ".sql"
		case i < nStg+nInt:
			j := i - nStg
			n.layer, n.entity = "intermediate", suffixed(entities, j)
			n.name = "int_" + n.entity + "_joined"
			n.deps = g.pickDeps(seed, "int", int64(i), models[:nStg], 2)
			n.materialized = "table"
			if hashF(seed, "ephemeral", int64(i)) < 0.15 {
				n.materialized = "ephemeral"
			}
			n.description = fmt.Sprintf("%s joined with their related entities.", capitalize(n.entity))
			n.path = "intermediate/" + n.name + ".sql"
		default:
			j := i - nStg - nInt
			prefix := "fct_"
			if j%2 == 1 {
				prefix = "dim_"
			}
			n.layer, n.entity = "marts", suffixed(entities, j/2)
			n.name = prefix + n.entity
			n.deps = g.pickDeps(seed, "mart", int64(i), models, 3)
			if len(seeds) > 0 && hashF(seed, "seeddep", int64(i)) < 0.2 {
				n.deps = append(n.deps, seeds[hashN(seed, "seedpick", int64(i))%uint64(len(seeds))].uniqueID)
			}
			n.materialized = "table"
			if hashF(seed, "incr", int64(i)) < 0.25 {
				n.materialized = "incremental"
			}
			n.description = fmt.Sprintf("One row per %s, ready for reporting.", strings.TrimSuffix(n.entity, "s"))
			n.path = "marts/" + n.name + ".sql"
		}
		n.uniqueID = "model." + pkg + "." + n.name
		n.alias = n.name
		n.schema = ge.target + "_" + n.layer
		n.origPath = "models/" + n.path
		n.owner = teams[hashN(seed, "owner", int64(i))%uint64(len(teams))]
		n.tier = []string{"bronze", "silver", "gold"}[hashN(seed, "tier", int64(i))%3]
		n.tags = []string{n.layer}
		if hashF(seed, "pii", int64(i)) < 0.2 {
			n.tags = append(n.tags, "pii")
		}
		n.macros = []string{"macro.dbt.ref"}
		if n.materialized == "incremental" {
			n.macros = append(n.macros, "macro.dbt.is_incremental")
		}
		n.columns = g.columns(n, cfg.ColumnsPerModel)
		models = append(models, n)
		add(n)
	}
	// Tests.
	for _, m := range models {
		for k := 0; k < cfg.TestsPerModel; k++ {
			add(g.test(seed, pkg, ge, m, k))
		}
	}
	// Exposures.
	marts := models[nStg+nInt:]
	if len(marts) == 0 {
		marts = models
	}
	for j := 0; j < cfg.Exposures; j++ {
		name := suffixed([]string{"executive_dashboard", "revenue_report", "churn_model", "weekly_kpis", "ops_monitor"}, j)
		n := &genNode{
			uniqueID: "exposure." + pkg + "." + name, resourceType: "exposure", name: name,
			description: fmt.Sprintf("The %s, built on the marts.", strings.ReplaceAll(name, "_", " ")),
			owner:       teams[hashN(seed, "exp-owner", int64(j))%uint64(len(teams))], tier: "gold",
			deps: g.pickDeps(seed, "exp", int64(j), marts, 3), tags: []string{"bi"},
			url: "https://bi.example.com/dashboards/" + name, label: capitalize(strings.ReplaceAll(name, "_", " ")),
			origPath: "models/exposures.yml", path: "exposures.yml",
		}
		add(n)
	}
	st.gitSHA = hex40(seed, "sha", int64(st.version))
	st.index()
	return st
}

// index fills byID and testsOf.
func (st *envState) index() {
	st.byID = make(map[string]*genNode, len(st.nodes))
	st.testsOf = map[string][]*genNode{}
	for _, n := range st.nodes {
		st.byID[n.uniqueID] = n
		if n.resourceType == "test" {
			st.testsOf[n.attached] = append(st.testsOf[n.attached], n)
		}
	}
}

func (g *generator) test(seed int64, pkg string, ge *genEnv, m *genNode, k int) *genNode {
	cols := m.columns
	var col, kind string
	switch {
	case k == 0:
		col, kind = cols[0].name, "unique"
	case k == 1:
		col, kind = cols[0].name, "not_null"
	default:
		c := 1 + (k-2)%(len(cols)-1)
		col = cols[c].name
		kind = []string{"not_null", "accepted_values", "relationships"}[((k-2)/(len(cols)-1))%3]
	}
	n := &genNode{
		resourceType: "test", testKind: kind, testName: kind, testColumn: col, attached: m.uniqueID,
		database: ge.database, schema: ge.target + "_dbt_test__audit", materialized: "test",
		deps: []string{m.uniqueID}, macros: []string{"macro.dbt.test_" + kind}, entity: m.entity,
	}
	name := kind + "_" + m.name + "_" + col
	switch kind {
	case "accepted_values":
		name += "__a__b__c"
	case "relationships":
		n.testTo = m.deps[0]
		toName := n.testTo[strings.LastIndexByte(n.testTo, '.')+1:]
		name += "__id__ref_" + toName + "_"
		n.deps = append(n.deps, n.testTo)
		n.macros = append(n.macros, "macro.dbt.get_where_subquery")
	}
	if k >= 2+3*(len(cols)-1) {
		name += fmt.Sprintf("_%d", k)
	}
	n.name, n.alias = name, name
	n.uniqueID = "test." + pkg + "." + name + "." + hex40(seed, name, 0)[:10]
	n.severity = "ERROR"
	if hashF(seed, "sev", int64(hashN(seed, name, 0))) < 0.3 {
		n.severity = "WARN"
	}
	n.path = name + ".sql"
	n.origPath = "models/" + m.path[:strings.LastIndexByte(m.path, '/')+1] + "_" + m.layer + "__models.yml"
	return n
}

func (g *generator) pickDeps(seed int64, salt string, i int64, from []*genNode, maxN int) []string {
	if len(from) == 0 {
		return nil
	}
	cnt := 1 + int(hashN(seed, salt+"n", i)%uint64(maxN))
	seen := map[string]bool{}
	var out []string
	for d := 0; d < cnt; d++ {
		n := from[hashN(seed, salt, i*31+int64(d))%uint64(len(from))]
		if !seen[n.uniqueID] {
			seen[n.uniqueID] = true
			out = append(out, n.uniqueID)
		}
	}
	return out
}

// columns returns n's columns: an id first, then common business columns.
func (g *generator) columns(n *genNode, count int) []genColumn {
	base := strings.TrimSuffix(n.entity, "s")
	if i := strings.LastIndexByte(base, '_'); i > 0 && strings.HasPrefix(base[i+1:], "v") {
		base = base[:i]
	}
	cols := make([]genColumn, 0, count)
	cols = append(cols, genColumn{name: base + "_id", description: "Primary key of the " + base + ".", kind: colInt})
	for i := 1; i < count; i++ {
		c := columnNames[(i-1)%len(columnNames)]
		name := c.name
		if i-1 >= len(columnNames) {
			name = fmt.Sprintf("%s_%d", name, (i-1)/len(columnNames)+1)
		}
		if name == cols[0].name {
			name = "related_" + name
		}
		cols = append(cols, genColumn{name: name, description: "The " + strings.ReplaceAll(name, "_", " ") + ".", kind: c.kind})
	}
	if n.resourceType == "snapshot" {
		for _, s := range []string{"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"} {
			k := colTime
			if s == "dbt_scd_id" {
				k = colText
			}
			cols = append(cols, genColumn{name: s, description: "Snapshot metadata: " + s + ".", kind: k})
		}
	}
	return cols
}

func suffixed(words []string, i int) string {
	w := words[i%len(words)]
	if i >= len(words) {
		return fmt.Sprintf("%s_v%d", w, i/len(words)+1)
	}
	return w
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// hashN is a deterministic 64-bit hash of (seed, salt, i): the generator's
// randomness, independent of call order so lazily generated artifacts do
// not depend on what was generated before.
func hashN(seed int64, salt string, i int64) uint64 {
	h := fnv.New64a()
	var b [16]byte
	for k := range 8 {
		b[k] = byte(uint64(seed) >> (8 * k))
		b[8+k] = byte(uint64(i) >> (8 * k))
	}
	h.Write(b[:])
	h.Write([]byte(salt))
	// splitmix64 finaliser for better low bits.
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hashF is hashN mapped to [0, 1).
func hashF(seed int64, salt string, i int64) float64 {
	return float64(hashN(seed, salt, i)>>11) / (1 << 53)
}

func hex40(seed int64, salt string, i int64) string {
	s := sha256.Sum256(fmt.Appendf(nil, "%d/%s/%d", seed, salt, i))
	return hex.EncodeToString(s[:20])
}

// uuidFor returns a deterministic UUID-shaped string.
func uuidFor(seed int64, salt string, i int64) string {
	h := hex40(seed, salt, i)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// artifactCache keeps recently generated artifacts within a byte budget.
type artifactCache struct {
	mu     sync.Mutex
	budget int64
	size   int64
	items  map[string][]byte
	order  []string
}

func newArtifactCache(budget int64) artifactCache {
	return artifactCache{budget: budget, items: map[string][]byte{}}
}

func (c *artifactCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.items[key]
	return b, ok
}

func (c *artifactCache) put(key string, b []byte) {
	if c.budget < 0 || int64(len(b)) > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	for c.size+int64(len(b)) > c.budget && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.size -= int64(len(c.items[old]))
		delete(c.items, old)
	}
	c.items[key] = b
	c.order = append(c.order, key)
	c.size += int64(len(b))
}
