package admin_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

// FuzzParseAccessURL checks that any input either fails without echoing a
// password or yields an https (or loopback) base URL with no path, query
// or user info, whose Discovery URL ends in /graphql.
func FuzzParseAccessURL(f *testing.F) {
	for _, s := range []string{
		"https://ab123.us1.dbt.com", "http://127.0.0.1:8080/", "https://cloud.getdbt.com",
		"https://u:pw@x.eu1.dbt.com", "ab123.us1.dbt.com", "https://[::1]:1/", "https://a.metadata.us1.dbt.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := admin.ParseAccessURL(in)
		if err != nil {
			if u, perr := url.Parse(strings.TrimSpace(in)); perr == nil && u.User != nil {
				// The host is shown in the error, escaped, and may happen to
				// contain the password's characters; an echo of the user
				// info shows the password followed by its '@'.
				rest := in[strings.LastIndex(in, "@")+1:]
				if pw, ok := u.User.Password(); ok && len(pw) > 3 && !strings.Contains(rest, pw) &&
					(strings.Contains(err.Error(), pw+"@") || strings.Contains(err.Error(), u.User.String())) {
					t.Fatalf("error echoes the password: %v", err)
				}
			}
			return
		}
		u, perr := url.Parse(a.URL)
		if perr != nil {
			t.Fatalf("normalised URL %q does not parse: %v", a.URL, perr)
		}
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			t.Fatalf("normalised URL %q keeps user info, path or query", a.URL)
		}
		if u.Scheme != "https" && a.Kind != admin.HostLoopback {
			t.Fatalf("non-loopback URL %q is not https", a.URL)
		}
		if !strings.HasSuffix(a.DiscoveryURL(), "/graphql") {
			t.Fatalf("discovery URL %q", a.DiscoveryURL())
		}
	})
}

// FuzzRunDecode checks that decoding arbitrary JSON as a Run never panics
// and that a decoded status is always consistent with its raw code.
func FuzzRunDecode(f *testing.F) {
	f.Add([]byte(`{"id": 1, "status": 10, "created_at": "2021-12-07 10:32:24.326116+00:00"}`))
	f.Add([]byte(`{"id": "1", "status": "Succeeded"}`))
	f.Add([]byte(`{"run_steps": [{"status": 77}], "finished_at": null, "duration": "1 day, 0:00:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r admin.Run
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		if r.Status != admin.ParseRunStatus(r.StatusCode) {
			t.Fatalf("status %v does not match code %d", r.Status, r.StatusCode)
		}
		_ = r.Catalog()
	})
}
