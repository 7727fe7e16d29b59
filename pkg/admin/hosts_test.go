package admin_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

func TestParseAccessURLAccepts(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		url        string
		kind       admin.HostKind
		prefix     string
		cell       string
		deprecated bool
		discovery  string
	}{
		{name: "us1 cell", in: "https://ab123.us1.dbt.com", url: "https://ab123.us1.dbt.com", kind: admin.HostCell, prefix: "ab123", cell: "us1", discovery: "https://ab123.metadata.us1.dbt.com/graphql"},
		{name: "trailing slash and upper case are normalised", in: "  HTTPS://AB123.US1.dbt.com/ ", url: "https://ab123.us1.dbt.com", kind: admin.HostCell, prefix: "ab123", cell: "us1", discovery: "https://ab123.metadata.us1.dbt.com/graphql"},
		{name: "eu1 cell", in: "https://xy9.eu1.dbt.com", url: "https://xy9.eu1.dbt.com", kind: admin.HostCell, prefix: "xy9", cell: "eu1", discovery: "https://xy9.metadata.eu1.dbt.com/graphql"},
		{name: "eu2 Azure cell", in: "https://xy9.eu2.dbt.com", url: "https://xy9.eu2.dbt.com", kind: admin.HostCell, prefix: "xy9", cell: "eu2", discovery: "https://xy9.metadata.eu2.dbt.com/graphql"},
		{name: "eu3 GCP cell", in: "https://xy9.eu3.dbt.com", url: "https://xy9.eu3.dbt.com", kind: admin.HostCell, prefix: "xy9", cell: "eu3", discovery: "https://xy9.metadata.eu3.dbt.com/graphql"},
		{name: "eu4 GCP cell", in: "https://xy9.eu4.dbt.com", url: "https://xy9.eu4.dbt.com", kind: admin.HostCell, prefix: "xy9", cell: "eu4", discovery: "https://xy9.metadata.eu4.dbt.com/graphql"},
		{name: "au1 cell", in: "https://a1.au1.dbt.com", url: "https://a1.au1.dbt.com", kind: admin.HostCell, prefix: "a1", cell: "au1", discovery: "https://a1.metadata.au1.dbt.com/graphql"},
		{name: "au2 cell", in: "https://a1.au2.dbt.com", url: "https://a1.au2.dbt.com", kind: admin.HostCell, prefix: "a1", cell: "au2", discovery: "https://a1.metadata.au2.dbt.com/graphql"},
		{name: "jp1 cell", in: "https://a1.jp1.dbt.com", url: "https://a1.jp1.dbt.com", kind: admin.HostCell, prefix: "a1", cell: "jp1", discovery: "https://a1.metadata.jp1.dbt.com/graphql"},
		{name: "us2 cell", in: "https://a1.us2.dbt.com", url: "https://a1.us2.dbt.com", kind: admin.HostCell, prefix: "a1", cell: "us2", discovery: "https://a1.metadata.us2.dbt.com/graphql"},
		{name: "us3 cell", in: "https://a1.us3.dbt.com", url: "https://a1.us3.dbt.com", kind: admin.HostCell, prefix: "a1", cell: "us3", discovery: "https://a1.metadata.us3.dbt.com/graphql"},
		{name: "legacy US host", in: "https://cloud.getdbt.com", url: "https://cloud.getdbt.com", kind: admin.HostLegacy, deprecated: true, discovery: "https://metadata.cloud.getdbt.com/graphql"},
		{name: "legacy EMEA host", in: "https://emea.dbt.com", url: "https://emea.dbt.com", kind: admin.HostLegacy, discovery: "https://metadata.emea.dbt.com/graphql"},
		{name: "legacy APAC host", in: "https://au.dbt.com/", url: "https://au.dbt.com", kind: admin.HostLegacy, discovery: "https://metadata.au.dbt.com/graphql"},
		{name: "single tenant cloud.tenant", in: "https://cloud.acme.getdbt.com", url: "https://cloud.acme.getdbt.com", kind: admin.HostSingleTenant, deprecated: true, discovery: "https://metadata.cloud.acme.getdbt.com/graphql"},
		{name: "single tenant tenant host", in: "https://my-tenant.getdbt.com", url: "https://my-tenant.getdbt.com", kind: admin.HostSingleTenant, deprecated: true, discovery: "https://metadata.my-tenant.getdbt.com/graphql"},
		{name: "custom https host", in: "https://dbt.internal.example.com", url: "https://dbt.internal.example.com", kind: admin.HostCustom, discovery: "https://metadata.dbt.internal.example.com/graphql"},
		{name: "loopback IPv4 over http with port", in: "http://127.0.0.1:8080", url: "http://127.0.0.1:8080", kind: admin.HostLoopback, discovery: "http://127.0.0.1:8080/graphql"},
		{name: "loopback IPv6", in: "http://[::1]:9000/", url: "http://[::1]:9000", kind: admin.HostLoopback, discovery: "http://[::1]:9000/graphql"},
		{name: "localhost", in: "http://localhost:3000", url: "http://localhost:3000", kind: admin.HostLoopback, discovery: "http://localhost:3000/graphql"},
		{name: "localhost over https", in: "https://localhost", url: "https://localhost", kind: admin.HostLoopback, discovery: "https://localhost/graphql"},
		{name: "default port is dropped", in: "https://ab123.us1.dbt.com:443", url: "https://ab123.us1.dbt.com", kind: admin.HostCell, prefix: "ab123", cell: "us1", discovery: "https://ab123.metadata.us1.dbt.com/graphql"},
		{name: "other port is kept", in: "https://ab123.us1.dbt.com:8443", url: "https://ab123.us1.dbt.com:8443", kind: admin.HostCell, prefix: "ab123", cell: "us1", discovery: "https://ab123.metadata.us1.dbt.com:8443/graphql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := admin.ParseAccessURL(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.url, a.URL)
			require.Equal(t, tt.url, a.String())
			require.Equal(t, tt.kind, a.Kind)
			require.Equal(t, tt.prefix, a.AccountPrefix)
			require.Equal(t, tt.cell, a.Cell)
			require.Equal(t, tt.deprecated, a.Deprecated)
			d, err := admin.DiscoveryURL(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.discovery, d)
		})
	}
}

func TestParseAccessURLRejects(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		contains string
		hidden   string
	}{
		{name: "empty", in: "", contains: "is empty"},
		{name: "no scheme", in: "ab123.us1.dbt.com", contains: "write it as https://ab123.us1.dbt.com"},
		{name: "plain http off loopback", in: "http://ab123.us1.dbt.com", contains: "plain http is allowed only for loopback"},
		{name: "odd scheme", in: "ftp://ab123.us1.dbt.com", contains: `unsupported scheme "ftp"`},
		{name: "user info is refused and not echoed", in: "https://me:s3cretpw@ab123.us1.dbt.com", contains: "user name or password", hidden: "s3cretpw"},
		{name: "API path", in: "https://ab123.us1.dbt.com/api/v2/", contains: "must not have a path"},
		{name: "query string", in: "https://ab123.us1.dbt.com/?x=1", contains: "query string"},
		{name: "fragment", in: "https://ab123.us1.dbt.com/#top", contains: "query string or fragment"},
		{name: "discovery host given as access URL", in: "https://ab123.metadata.us1.dbt.com", contains: "use https://ab123.us1.dbt.com"},
		{name: "legacy discovery host", in: "https://metadata.cloud.getdbt.com", contains: "metadata API host"},
		{name: "cell without account prefix", in: "https://us1.dbt.com", contains: "lacks your account prefix"},
		{name: "login host", in: "https://login.dbt.com", contains: "only for signing in"},
		{name: "website", in: "https://www.getdbt.com", contains: "not an API host"},
		{name: "bare dbt.com", in: "https://dbt.com", contains: "website"},
		{name: "deep dbt.com host", in: "https://a.b.c.d.dbt.com", contains: "not a dbt Cloud access URL"},
		{name: "bad host characters", in: "https://ab_123.us1.dbt.com", contains: "not a valid host name"},
		{name: "no host", in: "https://", contains: "has no host"},
		{name: "empty port", in: "https://ab123.us1.dbt.com:", contains: "empty port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := admin.ParseAccessURL(tt.in)
			require.Error(t, err)
			require.ErrorContains(t, err, "DBT_CLOUD_ACCESS_URL")
			require.ErrorContains(t, err, tt.contains)
			if tt.hidden != "" {
				require.NotContains(t, err.Error(), tt.hidden)
			}
			_, err = admin.DiscoveryURL(tt.in)
			require.Error(t, err)
		})
	}
}
