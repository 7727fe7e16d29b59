package admin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// HostKind classifies an access URL's host.
type HostKind string

// The kinds of dbt Cloud hosts ParseAccessURL recognises.
const (
	// HostCell is an account-prefixed cell host, e.g. ab123.us1.dbt.com.
	HostCell HostKind = "cell"
	// HostLegacy is a shared regional host: cloud.getdbt.com, emea.dbt.com
	// or au.dbt.com.
	HostLegacy HostKind = "legacy"
	// HostSingleTenant is a single-tenant host under getdbt.com, e.g.
	// cloud.acme.getdbt.com.
	HostSingleTenant HostKind = "single-tenant"
	// HostCustom is any other https host (e.g. a private endpoint).
	HostCustom HostKind = "custom"
	// HostLoopback is 127.0.0.1, ::1 or localhost, e.g. the emulator.
	HostLoopback HostKind = "loopback"
)

// AccessURL is a validated, normalised dbt Cloud access URL.
type AccessURL struct {
	// URL is scheme and host (with a non-default port, if any) without a
	// trailing slash, e.g. "https://ab123.us1.dbt.com".
	URL  string
	Kind HostKind
	// AccountPrefix and Cell are set for HostCell: "ab123" and "us1".
	AccountPrefix string
	Cell          string
	// Deprecated is true for getdbt.com hosts, which dbt retires on
	// 2026-11-01 in favour of account-prefixed dbt.com hosts.
	Deprecated bool

	scheme, host string
}

const accessURLSetting = "DBT_CLOUD_ACCESS_URL"

var (
	labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	cellRE  = regexp.MustCompile(`^[a-z]{2}[0-9]+$`)
)

// hostError builds an error naming the access URL setting and the fix. shown
// is the sanitised URL (never user info).
func hostError(shown, problem, fix string) error {
	return fmt.Errorf("%s %q: %s; %s", accessURLSetting, shown, problem, fix)
}

// ParseAccessURL validates and normalises a dbt Cloud access URL: https (or
// http for loopback hosts only), no user info, no path other than "/", no
// query or fragment, and a host that can serve the Admin API. Errors name
// the DBT_CLOUD_ACCESS_URL setting and say how to fix it; they never repeat
// user info from the URL.
func ParseAccessURL(raw string) (AccessURL, error) {
	const example = "use your account's access URL from Account settings, e.g. https://ab123.us1.dbt.com"
	s := strings.TrimSpace(raw)
	if s == "" {
		return AccessURL{}, fmt.Errorf("%s is empty; %s", accessURLSetting, example)
	}
	if !strings.Contains(s, "://") {
		return AccessURL{}, hostError(sanitise(s), "missing scheme", "write it as https://"+strings.TrimPrefix(sanitise(s), "//"))
	}
	u, err := url.Parse(s)
	if err != nil {
		return AccessURL{}, hostError(sanitise(s), "not a valid URL", example)
	}
	shown := u.Scheme + "://" + u.Host
	if u.User != nil {
		return AccessURL{}, hostError(shown+" (with user info)", "must not contain a user name or password",
			"remove them and put the token in DBT_CLOUD_TOKEN")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return AccessURL{}, hostError(shown, fmt.Sprintf("unsupported scheme %q", u.Scheme), "use https://")
	}
	if u.Opaque != "" || u.Host == "" {
		return AccessURL{}, hostError(sanitise(s), "has no host", example)
	}
	if u.Path != "" && u.Path != "/" {
		return AccessURL{}, hostError(shown+u.EscapedPath(), "must not have a path",
			"give the bare host, "+shown+" (the client adds /api/v2/... itself)")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return AccessURL{}, hostError(shown, "must not have a query string or fragment", "give the bare host, "+shown)
	}

	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return AccessURL{}, hostError(shown, "has an empty port", "remove the trailing colon")
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	a := AccessURL{scheme: scheme, host: host}
	if port != "" {
		a.host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		a.host = "[" + host + "]"
	}
	a.URL = scheme + "://" + a.host

	if isLoopback(host) {
		a.Kind = HostLoopback
		return a, nil
	}
	if scheme != "https" {
		return AccessURL{}, hostError(shown, "plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost)",
			"use https://"+a.host)
	}
	if ip := net.ParseIP(host); ip != nil {
		a.Kind = HostCustom
		return a, nil
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return AccessURL{}, hostError(shown, "is not a valid host name", example)
		}
	}
	if err := classify(&a, labels); err != nil {
		return AccessURL{}, hostError(shown, err.Error(), example)
	}
	return a, nil
}

// classify sets a.Kind and related fields from the host's labels.
func classify(a *AccessURL, labels []string) error {
	n := len(labels)
	switch {
	case n >= 2 && labels[n-2] == "dbt" && labels[n-1] == "com":
		return classifyDbtCom(a, labels[:n-2])
	case n >= 2 && labels[n-2] == "getdbt" && labels[n-1] == "com":
		sub := labels[:n-2]
		a.Deprecated = true
		switch {
		case len(sub) == 0:
			return errors.New("getdbt.com is the website, not an API host")
		case len(sub) == 1 && sub[0] == "cloud":
			a.Kind = HostLegacy
		case sub[0] == "metadata" || sub[0] == "semantic-layer":
			return fmt.Errorf("%s is a %s API host, not the access URL", strings.Join(labels, "."), sub[0])
		case len(sub) == 1 && reservedGetdbt[sub[0]]:
			return fmt.Errorf("%s is not an API host", strings.Join(labels, "."))
		default:
			a.Kind = HostSingleTenant
		}
		return nil
	default:
		a.Kind = HostCustom
		return nil
	}
}

var reservedGetdbt = map[string]bool{"www": true, "docs": true, "hub": true, "schemas": true, "login": true, "blog": true, "discourse": true}

func classifyDbtCom(a *AccessURL, sub []string) error {
	switch {
	case len(sub) == 0:
		return errors.New("dbt.com is the website, not an API host")
	case len(sub) == 1 && (sub[0] == "emea" || sub[0] == "au"):
		a.Kind = HostLegacy
		return nil
	case len(sub) == 1 && sub[0] == "login":
		return errors.New("login.dbt.com is only for signing in to the web UI, not an API host")
	case len(sub) == 1 && cellRE.MatchString(sub[0]):
		return fmt.Errorf("%s.dbt.com lacks your account prefix", sub[0])
	case len(sub) == 1:
		return fmt.Errorf("%s.dbt.com is not an API host", sub[0])
	case len(sub) == 2 && sub[1] == "metadata":
		return fmt.Errorf("%s.metadata.dbt.com is not an access URL", sub[0])
	case len(sub) == 3 && (sub[1] == "metadata" || sub[1] == "semantic-layer"):
		return fmt.Errorf("%s is the %s API host, not the access URL; use https://%s.%s.dbt.com",
			strings.Join(sub, ".")+".dbt.com", sub[1], sub[0], sub[2])
	case len(sub) == 2:
		a.Kind = HostCell
		a.AccountPrefix, a.Cell = sub[0], sub[1]
		return nil
	default:
		return fmt.Errorf("%s.dbt.com is not a dbt Cloud access URL", strings.Join(sub, "."))
	}
}

// DiscoveryURL derives the Discovery (GraphQL) API endpoint from an access
// URL: https://PREFIX.metadata.CELL.dbt.com/graphql for account-prefixed
// hosts, https://metadata.HOST/graphql for legacy, single-tenant and custom
// hosts (e.g. https://metadata.cloud.getdbt.com/graphql), and the same
// host plus /graphql for loopback hosts. It returns ParseAccessURL's error
// for an invalid access URL.
func DiscoveryURL(accessURL string) (string, error) {
	a, err := ParseAccessURL(accessURL)
	if err != nil {
		return "", err
	}
	return a.DiscoveryURL(), nil
}

// DiscoveryURL derives the Discovery endpoint for a; see the package-level
// DiscoveryURL.
func (a AccessURL) DiscoveryURL() string {
	switch a.Kind {
	case HostLoopback:
		return a.URL + "/graphql"
	case HostCell:
		host := a.AccountPrefix + ".metadata." + a.Cell + ".dbt.com"
		if _, port, err := net.SplitHostPort(a.host); err == nil {
			host = net.JoinHostPort(host, port)
		}
		return a.scheme + "://" + host + "/graphql"
	default:
		return a.scheme + "://metadata." + a.host + "/graphql"
	}
}

// String returns a.URL.
func (a AccessURL) String() string { return a.URL }

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sanitise cuts anything that looks like user info out of a URL-ish string
// before it is shown in an error, and bounds its length.
func sanitise(s string) string {
	prefix, rest := "", s
	if i := strings.Index(s, "://"); i >= 0 {
		prefix, rest = s[:i+3], s[i+3:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	s = prefix + rest
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
