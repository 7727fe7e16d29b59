package dbtcloudtest

import (
	"fmt"
	"slices"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// AddRuns appends one new run to every job of every generated deployment
// environment, as if each job ran once more, and returns the new runs in
// ID order. Before the runs, the description of changeFraction (0..1) of
// each environment's models changes; which models is decided by seed. The
// new runs' artifacts describe the changed project and carry new test
// results, and Applied is updated to match. Applied entries are replaced,
// never modified in place, so a reader holding an *AppliedState keeps a
// consistent view. AddRuns returns nil for datasets that were not
// generated.
func (d *Dataset) AddRuns(seed int64, changeFraction float64) []Run {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.gen
	if g == nil {
		return nil
	}
	changeFraction = clamp01(changeFraction)
	t := g.lastTime.Add(6 * time.Hour)
	var out []Run
	for _, id := range g.order {
		ge := g.envs[id]
		ge.changes++
		old := ge.state
		st := &envState{version: old.version + 1, nodes: slices.Clone(old.nodes)}
		for i, n := range st.nodes {
			if n.resourceType == "model" && hashF(seed, "change:"+n.uniqueID, ge.env.ID) < changeFraction {
				c := *n
				if c.baseDescription == "" {
					c.baseDescription = n.description
				}
				c.description = fmt.Sprintf("%s Revised in change %d.", c.baseDescription, ge.changes)
				st.nodes[i] = &c
			}
		}
		st.gitSHA = hex40(g.cfg.Seed*7919+ge.env.ID, "sha", int64(st.version))
		st.index()
		ge.state = st
		for k := range 3 {
			r := g.newRun(ge, jobKind(k), t)
			d.Runs = append(d.Runs, r)
			out = append(out, r)
			t = t.Add(7 * time.Minute)
		}
		if a := g.applied(ge); a != nil {
			d.Applied[id] = a
		}
	}
	return out
}

// RemoveModel deletes the model uniqueID (with its tests and the edges that
// touch it) from environment envID: runs added later no longer contain it
// and Applied no longer has it. Existing runs keep their artifacts. Removing
// an unknown model does nothing.
func (d *Dataset) RemoveModel(envID int64, uniqueID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g := d.gen; g != nil {
		if ge := g.envs[envID]; ge != nil && ge.state.byID[uniqueID] != nil {
			old := ge.state
			st := &envState{version: old.version + 1}
			for _, n := range old.nodes {
				if n.uniqueID == uniqueID || (n.resourceType == "test" && (n.attached == uniqueID || n.testTo == uniqueID)) {
					continue
				}
				if slices.Contains(n.deps, uniqueID) {
					c := *n
					c.deps = slices.DeleteFunc(slices.Clone(n.deps), func(s string) bool { return s == uniqueID })
					n = &c
				}
				st.nodes = append(st.nodes, n)
			}
			st.gitSHA = hex40(g.cfg.Seed*7919+envID, "sha", int64(st.version))
			st.index()
			ge.state = st
			if a := g.applied(ge); a != nil {
				d.Applied[envID] = a
			}
			return
		}
	}
	// Datasets built by hand or loaded from disk: drop it from Applied only.
	a := d.Applied[envID]
	if a == nil || a.Snapshot == nil {
		return
	}
	removed := map[string]bool{uniqueID: true}
	for _, as := range a.Snapshot.Assets {
		if as.TestedUniqueID == uniqueID {
			removed[as.UniqueID] = true
		}
	}
	s := *a.Snapshot
	s.Assets = slices.DeleteFunc(slices.Clone(s.Assets), func(x catalog.Asset) bool { return removed[x.UniqueID] })
	s.Columns = slices.DeleteFunc(slices.Clone(s.Columns), func(x catalog.Column) bool { return removed[x.AssetUniqueID] })
	s.Edges = slices.DeleteFunc(slices.Clone(s.Edges), func(x catalog.Edge) bool { return removed[x.Upstream] || removed[x.Downstream] })
	s.TestResults = slices.DeleteFunc(slices.Clone(s.TestResults), func(x catalog.TestResult) bool { return removed[x.TestUniqueID] })
	na := *a
	na.Snapshot = &s
	d.Applied[envID] = &na
}
