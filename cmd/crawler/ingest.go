package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

func cmdIngest(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	var c common
	c.register(fs)
	dir := fs.String("dir", "", "dbt target/ directory holding manifest.json (and catalog.json, run_results.json, sources.json)")
	project := fs.String("project", "", "project name to file the artifacts under (default: the manifest's project name, else the directory name)")
	environment := fs.String("environment", "default", "environment name to file the artifacts under")
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	if *dir == "" {
		return usageError{"ingest needs --dir: the dbt target/ directory with manifest.json"}
	}
	boot := newLogger("info", "json", stderr)
	cfg, err := loadConfig(c, config.Flags{}, getenv, false, boot)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	snap, err := buildFromDir(*dir, *project, *environment, cfg)
	if err != nil {
		return err
	}
	st, _, closeFn, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	started := time.Now()
	res, err := st.Apply(ctx, snap, &store.CrawlRecord{StartedAt: started, FinishedAt: time.Now(), Status: "succeeded", Warnings: snap.Warnings})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ingested %s as project %q environment %q: %d assets (%d inserted, %d updated, %d unchanged, %d archived), %d columns written, %d lineage edges written, %d test results added\n",
		*dir, snap.Scope.ProjectName, snap.Scope.EnvironmentName, len(snap.Assets), res.Inserted, res.Updated, res.Unchanged, res.Archived,
		res.ColumnsWritten, res.EdgesWritten, res.TestResultsAdded)
	for _, w := range snap.Warnings {
		fmt.Fprintf(stdout, "  warning %s (x%d): %s\n", w.Code, w.Count, w.Message)
	}
	return nil
}

// buildFromDir builds a snapshot from the artifacts in a dbt target/
// directory. manifest.json is required; the others are used when present.
func buildFromDir(dir, project, environment string, cfg *config.Config) (*catalog.Snapshot, error) {
	open := func(name string) (*os.File, error) {
		f, err := os.Open(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return f, err
	}
	mf, err := open("manifest.json")
	if err != nil {
		return nil, err
	}
	if mf == nil {
		return nil, fmt.Errorf("%s has no manifest.json: point --dir at the target/ directory of a dbt project after `dbt build` or `dbt docs generate`", dir)
	}
	defer mf.Close()
	b := catalog.NewBuilder(catalog.CoreScope(project, environment), catalog.BuildOptions{Decode: catalog.DecodeOptions{MaxBytes: cfg.MaxArtifactBytes, MaxDepth: cfg.MaxJSONDepth}})
	st, _ := mf.Stat()
	prov := catalog.Provenance{FinishedAt: st.ModTime()}
	if err := b.AddManifest(mf, prov); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	for _, a := range []struct {
		name string
		add  func(io.Reader) error
	}{
		{"catalog.json", b.AddCatalog},
		{"run_results.json", func(r io.Reader) error { return b.AddRunResults(r, prov) }},
		{"sources.json", func(r io.Reader) error { return b.AddSources(r, prov) }},
	} {
		f, err := open(a.name)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		err = a.add(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, a.name), err)
		}
	}
	snap := b.Build()
	snap.Complete = true
	if project == "" {
		// Named after the manifest's project, else the directory holding target/.
		if project = b.ProjectName(); project == "" {
			project = filepath.Base(filepath.Dir(filepath.Clean(dir)))
		}
		snap.Scope = catalog.CoreScope(project, environment)
	}
	return snap, nil
}
