package dbtcloudtest

import (
	"io"
	"maps"
	"slices"
)

// Artifacts of generated runs are produced lazily. Dataset.Artifact and
// friends first look in the Artifacts map (filled by hand, by LoadDir or by
// Materialize) and then ask the generator, which writes the file from the
// run's recorded project state and keeps it in a bounded cache
// (GenConfig.ArtifactCacheBytes). The bytes are identical every time, so a
// cache miss only costs time. WriteArtifact streams without caching, for
// very large manifests.

// RLock locks the dataset for reading. Hold it while reading the exported
// fields from a goroutine other than the one that mutates the dataset
// (AddRuns, RemoveModel); the methods of Dataset lock by themselves.
func (d *Dataset) RLock() { d.mu.RLock() }

// RUnlock undoes one RLock.
func (d *Dataset) RUnlock() { d.mu.RUnlock() }

// AppliedFor returns the applied state of environment envID, or false when
// the environment has none (development environments, environments without
// runs). The returned value is never modified afterwards: mutators replace
// it.
func (d *Dataset) AppliedFor(envID int64) (*AppliedState, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	a, ok := d.Applied[envID]
	return a, ok && a != nil
}

// Artifact returns the bytes of artifact path (relative to target/, e.g.
// "manifest.json") of run runID, as produced by the run's last step, and
// false when the run did not produce it.
func (d *Dataset) Artifact(runID int64, path string) ([]byte, bool) {
	return d.StepArtifact(runID, 0, path)
}

// StepArtifact is Artifact for the 1-based step index step of the run; 0
// means the last step. Datasets built by hand or loaded with LoadDir have
// one set of files, served for every step.
func (d *Dataset) StepArtifact(runID int64, step int, path string) ([]byte, bool) {
	d.mu.RLock()
	if b, ok := d.Artifacts[runID][path]; ok {
		d.mu.RUnlock()
		return b, true
	}
	var spec *runSpec
	if d.gen != nil {
		spec = d.gen.runs[runID]
	}
	d.mu.RUnlock()
	if spec == nil {
		return nil, false
	}
	// Specs and the states they point to are immutable, so generation runs
	// without the lock.
	return d.gen.artifactBytes(spec, step, path)
}

// WriteArtifact streams artifact path of step (0 = last) of run runID to w
// without caching it. It reports false when the run has no such artifact.
func (d *Dataset) WriteArtifact(w io.Writer, runID int64, step int, path string) (bool, error) {
	d.mu.RLock()
	b, ok := d.Artifacts[runID][path]
	var spec *runSpec
	if !ok && d.gen != nil {
		spec = d.gen.runs[runID]
	}
	d.mu.RUnlock()
	if ok {
		_, err := w.Write(b)
		return true, err
	}
	if spec == nil {
		return false, nil
	}
	return d.gen.writeArtifact(w, spec, step, path)
}

// ArtifactNames lists, sorted, the artifact paths of run runID's last step,
// as the list-artifacts endpoint returns them.
func (d *Dataset) ArtifactNames(runID int64) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	names := slices.Collect(maps.Keys(d.Artifacts[runID]))
	if d.gen != nil {
		if spec := d.gen.runs[runID]; spec != nil {
			names = append(names, spec.stepOf(0).names()...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Materialize generates the last-step artifacts of every generated run
// into the Artifacts map. Meant for small datasets that tests inspect
// directly; large datasets should rely on lazy generation.
func (d *Dataset) Materialize() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen == nil {
		return
	}
	if d.Artifacts == nil {
		d.Artifacts = map[int64]map[string][]byte{}
	}
	for _, r := range d.Runs {
		spec := d.gen.runs[r.ID]
		if spec == nil {
			continue
		}
		files := d.Artifacts[r.ID]
		if files == nil {
			files = map[string][]byte{}
			d.Artifacts[r.ID] = files
		}
		for _, name := range spec.stepOf(0).names() {
			if b, ok := d.gen.artifactBytes(spec, 0, name); ok {
				files[name] = b
			}
		}
	}
}

// RunByID returns the run with the given ID.
func (d *Dataset) RunByID(id int64) (Run, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, r := range d.Runs {
		if r.ID == id {
			return r, true
		}
	}
	return Run{}, false
}
