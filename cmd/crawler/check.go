package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
)

// checkResult is one line of `crawler check`.
type checkResult struct {
	name   string
	status string // ok, warn, FAIL, skip
	detail string
}

func cmdCheck(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	cfg, err := config.Load(config.Flags{ConfigFile: c.configFile, DatabaseURL: c.databaseURL, DataDir: c.dataDir}, getenv)
	var results []checkResult
	if err != nil {
		results = append(results, checkResult{"configuration", "FAIL", err.Error()})
		return printChecks(stdout, results)
	}
	if err := cfg.Validate(true); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			results = append(results, checkResult{"configuration", "FAIL", line})
		}
		return printChecks(stdout, results)
	}
	results = append(results, checkResult{"configuration", "ok", fmt.Sprintf("%d connection(s)", len(cfg.Connections))})
	for _, w := range cfg.Warnings {
		results = append(results, checkResult{"configuration", "warn", w})
	}
	for _, conn := range cfg.Connections {
		results = append(results, checkConnection(ctx, cfg, conn)...)
	}
	if cfg.DatabaseURL != "" {
		results = append(results, checkDatabase(ctx, cfg))
	} else {
		results = append(results, checkResult{"database", "ok", "no DATABASE_URL: the embedded PostgreSQL under " + cfg.DataDir + " will be used"})
	}
	return printChecks(stdout, results)
}

func printChecks(w io.Writer, results []checkResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL / FIX")
	failed := 0
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, r.status, strings.ReplaceAll(r.detail, "\n", " "))
		if r.status == "FAIL" {
			failed++
		}
	}
	tw.Flush()
	if failed > 0 {
		fmt.Fprintf(w, "\n%d blocking problem(s): fix them and run `crawler check` again.\n", failed)
		return errSilent
	}
	fmt.Fprintln(w, "\nReady to crawl.")
	return nil
}

func checkConnection(ctx context.Context, cfg *config.Config, conn config.Connection) []checkResult {
	p := func(s string) string { return "[" + conn.Name + "] " + s }
	var out []checkResult
	au, err := admin.ParseAccessURL(conn.AccessURL)
	if err != nil {
		return append(out, checkResult{p("access URL"), "FAIL", err.Error()})
	}
	detail := au.URL
	if au.Deprecated {
		out = append(out, checkResult{p("access URL"), "warn", au.URL + " is a legacy host: use your account's access URL from Account settings, e.g. https://ab123.us1.dbt.com"})
	} else {
		out = append(out, checkResult{p("access URL"), "ok", detail})
	}
	host := au.URL
	if u, err := url.Parse(au.URL); err == nil {
		host = u.Hostname()
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	addrs, err := net.DefaultResolver.LookupHost(rctx, host)
	cancel()
	if err != nil {
		return append(out, checkResult{p("DNS"), "FAIL", fmt.Sprintf("cannot resolve %s: check DBT_CLOUD_ACCESS_URL and the network or proxy (%v)", host, err)})
	}
	out = append(out, checkResult{p("DNS"), "ok", fmt.Sprintf("%s resolves (%d addresses)", host, len(addrs))})

	cl, err := newClients(cfg, conn, zap.NewNop())
	if err != nil {
		return append(out, checkResult{p("clients"), "FAIL", err.Error()})
	}
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	acct, err := cl.Admin.Account(ctx)
	if err != nil {
		return append(out, checkResult{p("Admin API: token"), "FAIL", adminFix(err)})
	}
	out = append(out, checkResult{p("Admin API: token"), "ok", fmt.Sprintf("account %d %q (%s plan)", acct.ID, acct.Name, acct.Plan)})

	projects, envs, jobs, docsJobs, freshJobs := 0, []int64{}, 0, 0, 0
	for pr, err := range cl.Admin.Projects(ctx) {
		if err != nil {
			return append(out, checkResult{p("Admin API: projects"), "FAIL", adminFix(err)})
		}
		if !conn.Projects.Match(pr.ID, pr.Name) {
			continue
		}
		projects++
		for e, err := range cl.Admin.Environments(ctx, pr.ID) {
			if err != nil {
				return append(out, checkResult{p("Admin API: environments"), "FAIL", adminFix(err)})
			}
			if (e.Type == "deployment" || conn.IncludeDevelopment) && conn.Environments.Match(e.ID, e.Name) {
				envs = append(envs, e.ID)
			}
		}
		for j, err := range cl.Admin.Jobs(ctx, admin.JobFilter{ProjectID: pr.ID}) {
			if err != nil {
				return append(out, checkResult{p("Admin API: jobs"), "FAIL", adminFix(err) + " (the token needs the Job Viewer or Read-only permission set)"})
			}
			jobs++
			if j.GenerateDocs {
				docsJobs++
			}
			if j.RunGenerateSources {
				freshJobs++
			}
		}
	}
	out = append(out, checkResult{p("Admin API: listing"), "ok", fmt.Sprintf("%d projects, %d environments, %d jobs in scope", projects, len(envs), jobs)})
	if projects == 0 || len(envs) == 0 {
		out = append(out, checkResult{p("scope"), "FAIL", "no project or deployment environment matches the filters: widen --project/--environment or the connection's filters"})
	}
	if docsJobs == 0 {
		out = append(out, checkResult{p("catalog.json"), "warn", "no job generates docs, so there is no catalog.json: enable \"Generate docs on run\" on a deployment job for warehouse columns and relations"})
	} else {
		out = append(out, checkResult{p("catalog.json"), "ok", fmt.Sprintf("%d job(s) generate docs", docsJobs)})
	}
	if freshJobs == 0 {
		out = append(out, checkResult{p("sources.json"), "warn", "no job runs source freshness: enable \"Run source freshness\" on a job to record freshness"})
	}
	if cl.Discovery == nil {
		return append(out, checkResult{p("Discovery API"), "skip", "disabled in the configuration: crawling from artifacts alone"})
	}
	if len(envs) == 0 {
		return out
	}
	info, err := cl.Discovery.Info(ctx, envs[0])
	if err != nil {
		return append(out, checkResult{p("Discovery API"), "warn", discoveryFix(err, cl.DiscoveryURL) + " (the crawler falls back to artifacts alone)"})
	}
	out = append(out, checkResult{p("Discovery API"), "ok", fmt.Sprintf("%s: environment %d, adapter %s, applied state updated %s", cl.DiscoveryURL, envs[0], info.AdapterType, info.LastUpdatedAt.Format(time.RFC3339))})
	return out
}

func adminFix(err error) string {
	msg := err.Error()
	switch {
	case admin.IsUnauthorized(err):
		return msg + ". If the token is current, the access URL may be wrong: use your account's own access URL (Account settings), e.g. https://ab123.us1.dbt.com"
	case admin.IsForbidden(err):
		return msg + ". Give the token the Read-only (Team plan) or Job Viewer (Enterprise) permission set, and allow the crawler's IP address in the account's IP restrictions"
	case admin.IsNotFound(err):
		return msg + ". Check DBT_CLOUD_ACCOUNT_ID: the account does not exist on this host or the token cannot see it"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return msg + ". Check the network, proxy settings and DBT_CLOUD_ACCESS_URL"
	}
	return msg
}

func discoveryFix(err error, endpoint string) string {
	var ae *discovery.AuthError
	if errors.As(err, &ae) {
		return err.Error()
	}
	return fmt.Sprintf("%s: %v: check DBT_CLOUD_DISCOVERY_URL, or that the plan includes the Discovery API", endpoint, err)
}
