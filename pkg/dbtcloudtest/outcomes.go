package dbtcloudtest

import (
	"fmt"
	"time"
)

// nodeResult is one entry of a generated run_results.json.
type nodeResult struct {
	node       *genNode
	status     string
	start      time.Time
	execMicros int64
	message    string // "" is written as null
	failures   int64
	rows       int64
	thread     int
}

func (r nodeResult) completed() time.Time {
	return r.start.Add(time.Duration(r.execMicros) * time.Microsecond)
}

func (r nodeResult) seconds() float64 { return float64(r.execMicros) / 1e6 }

func anyFailed(res []nodeResult) bool {
	for _, r := range res {
		if r.status == "error" || r.status == "fail" {
			return true
		}
	}
	return false
}

// outcomes computes the results of a build or test run from the state it
// saw. It is a pure function of the run ID, the seed and the state, so the
// artifacts, the run status and the applied state always agree.
func (g *generator) outcomes(spec *runSpec) []nodeResult {
	seed, runID := g.cfg.Seed, spec.run.ID
	st := spec.state
	var res []nodeResult
	push := func(n *genNode, status string) *nodeResult {
		i := len(res)
		r := nodeResult{node: n, status: status, start: g.resultStart(spec, i), thread: 1 + i%4}
		if status != "skipped" {
			r.execMicros = 30_000 + int64(hashN(seed, "exec:"+n.uniqueID, runID)%4_000_000)
		}
		res = append(res, r)
		return &res[len(res)-1]
	}
	testResult := func(t *genNode, blocked bool) {
		if blocked {
			push(t, "skipped")
			return
		}
		// A flaky set of 2×fraction of the tests fails in half the runs, so
		// FailingTestFraction of executions fail and some runs stay green.
		if hashF(seed, "flaky:"+t.uniqueID, 0) < 2*g.cfg.FailingTestFraction && hashF(seed, "fail:"+t.uniqueID, runID) < 0.5 {
			n := 1 + int64(hashN(seed, "failures:"+t.uniqueID, runID)%40)
			if t.severity == "WARN" {
				r := push(t, "warn")
				r.failures, r.message = n, fmt.Sprintf("Got %d results, configured to warn if != 0", n)
			} else {
				r := push(t, "fail")
				r.failures, r.message = n, fmt.Sprintf("Got %d results, configured to fail if != 0", n)
			}
			return
		}
		push(t, "pass")
	}
	switch spec.kind {
	case kindTest:
		for _, n := range st.nodes {
			if n.resourceType == "test" {
				testResult(n, false)
			}
		}
	case kindBuild:
		erroredModel := ""
		if hashF(seed, "runerr", runID) < g.cfg.ErroredRunFraction {
			var models []*genNode
			for _, n := range st.nodes {
				if n.resourceType == "model" && n.materialized != "ephemeral" {
					models = append(models, n)
				}
			}
			if len(models) > 0 {
				erroredModel = models[hashN(seed, "errmodel", runID)%uint64(len(models))].uniqueID
			}
		}
		bad := map[string]bool{}
		for _, n := range st.nodes {
			switch n.resourceType {
			case "seed", "snapshot":
				r := push(n, "success")
				r.rows = int64(hashN(seed, "rows:"+n.uniqueID, runID) % 5000)
				r.message = g.successMessage(n, r.rows)
			case "model":
				blocked := false
				for _, d := range n.deps {
					blocked = blocked || bad[d]
				}
				switch {
				case blocked:
					bad[n.uniqueID] = true
					push(n, "skipped")
				case n.uniqueID == erroredModel:
					bad[n.uniqueID] = true
					r := push(n, "error")
					r.message = fmt.Sprintf("Database Error in model %s (%s)\n  column \"legacy_%s\" does not exist\n  LINE 7:     legacy_%s,\n              ^",
						n.name, n.origPath, n.columns[len(n.columns)-1].name, n.columns[len(n.columns)-1].name)
				default:
					r := push(n, "success")
					r.rows = int64(hashN(seed, "rows:"+n.uniqueID, runID) % 250_000)
					r.message = g.successMessage(n, r.rows)
				}
				for _, t := range st.testsOf[n.uniqueID] {
					testResult(t, bad[n.uniqueID] || (t.testTo != "" && bad[t.testTo]))
				}
			}
		}
	}
	return res
}

func (g *generator) successMessage(n *genNode, rows int64) string {
	if g.cfg.Adapter == "snowflake" {
		return "SUCCESS 1"
	}
	switch n.materialized {
	case "view":
		return "CREATE VIEW"
	case "seed":
		return fmt.Sprintf("INSERT %d", rows)
	default:
		return fmt.Sprintf("SELECT %d", rows)
	}
}

// docsResults lists the compile-only results `dbt docs generate` writes.
func (g *generator) docsResults(spec *runSpec) []nodeResult {
	var res []nodeResult
	for _, n := range spec.state.nodes {
		switch n.resourceType {
		case "seed", "snapshot", "model", "test":
			i := len(res)
			res = append(res, nodeResult{
				node: n, status: "success", start: spec.run.FinishedAt.Add(-20*time.Second + time.Duration(i)*time.Millisecond),
				execMicros: 1_000 + int64(hashN(g.cfg.Seed, "docs:"+n.uniqueID, spec.run.ID)%9_000), thread: 1 + i%4,
			})
		}
	}
	return res
}

// freshResult is one entry of a generated sources.json.
type freshResult struct {
	node        *genNode
	status      string
	start       time.Time
	execMicros  int64
	snapshotted time.Time
	maxLoaded   time.Time
	ageMicros   int64
}

func (g *generator) freshness(spec *runSpec) []freshResult {
	seed, runID := g.cfg.Seed, spec.run.ID
	var res []freshResult
	for _, n := range spec.state.nodes {
		if n.resourceType != "source" {
			continue
		}
		i := len(res)
		f := freshResult{node: n, start: g.resultStart(spec, i)}
		f.execMicros = 20_000 + int64(hashN(seed, "fexec:"+n.uniqueID, runID)%900_000)
		f.snapshotted = f.start.Add(time.Duration(f.execMicros) * time.Microsecond)
		u := hashN(seed, "age:"+n.uniqueID, runID)
		switch p := hashF(seed, "fresh:"+n.uniqueID, runID); {
		case p < 0.87:
			f.status, f.ageMicros = "pass", int64(600+u%40_000)*1e6+int64(u%1e6)
		case p < 0.97:
			f.status, f.ageMicros = "warn", int64(43_300+u%42_000)*1e6+int64(u%1e6)
		default:
			f.status, f.ageMicros = "error", int64(86_500+u%300_000)*1e6+int64(u%1e6)
		}
		f.maxLoaded = f.snapshotted.Add(-time.Duration(f.ageMicros) * time.Microsecond)
		res = append(res, f)
	}
	return res
}

// freshnessCriteria is the JSON of every generated source's freshness
// criteria, in the key order dbt writes it.
const freshnessCriteria = `{"warn_after":{"count":12,"period":"hour"},"error_after":{"count":24,"period":"hour"},"filter":null}`
