package crawl

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// Clients are the two API clients of one connection and their transports.
type Clients struct {
	Admin        *admin.Client
	Discovery    *discovery.Client // nil when disabled
	AdminT       *transport.Transport
	DiscoveryT   *transport.Transport // nil when disabled
	DiscoveryURL string
}

// ConnectOptions tune the clients Connect builds. The zero value is the
// production setting.
type ConnectOptions struct {
	// RequestTimeout bounds one request until its headers (default 60s).
	RequestTimeout time.Duration
	// Retry overrides the transport's retry and backoff settings (tests use
	// short delays); Name, Budget, Timeout and RetryPOST are set by Connect.
	Retry transport.Options
	// Network is the innermost round tripper; nil builds a TLS-verifying
	// http.Transport.
	Network http.RoundTripper
	// UserAgent names the crawler and its version.
	UserAgent string
	Logger    *zap.Logger
}

// Connect builds the clients of one connection: a TLS-verifying network
// transport, the retrying transport with each API's request budget, the
// per-environment meters, and a redirect policy that never follows a
// redirect to another host (so the token never leaves the account's hosts).
func Connect(conn config.Connection, o ConnectOptions) (*Clients, error) {
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	network := o.Network
	if network == nil {
		network = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          32,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   15 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	adminOpts := o.Retry
	adminOpts.Name = "admin"
	adminOpts.Budget = transport.Budget{PerMinute: float64(perMinute(conn.AdminPerMinute, config.DefaultAdminPerMinute)), Rolling: true}
	adminOpts.Timeout = o.RequestTimeout
	adminOpts.Logger = log
	c := &Clients{}
	c.AdminT = transport.New(MeterTransport(network, false), adminOpts)
	ua := o.UserAgent
	if ua == "" {
		ua = "dbt-crawler"
	}
	ac, err := admin.NewClient(conn.AccessURL, conn.AccountID, conn.Token,
		admin.WithHTTPClient(&http.Client{Transport: MeterTransport(c.AdminT, true), CheckRedirect: SameHostRedirects}),
		admin.WithUserAgent(ua),
		admin.WithLogger(log))
	if err != nil {
		return nil, err
	}
	c.Admin = ac
	if !conn.UseDiscovery() {
		return c, nil
	}
	endpoint := conn.DiscoveryURL
	if endpoint == "" {
		endpoint = ac.AccessURL().DiscoveryURL()
	}
	c.DiscoveryURL = endpoint
	discOpts := o.Retry
	discOpts.Name = "discovery"
	discOpts.Budget = transport.Budget{PerMinute: float64(perMinute(conn.DiscoveryPerMinute, config.DefaultDiscoveryPerMinute)), Rolling: true}
	discOpts.Timeout = o.RequestTimeout
	discOpts.RetryPOST = true
	discOpts.Logger = log
	c.DiscoveryT = transport.New(MeterTransport(network, false), discOpts)
	dc, err := discovery.NewClient(endpoint, conn.Token,
		discovery.WithHTTPClient(&http.Client{Transport: MeterTransport(c.DiscoveryT, true), CheckRedirect: SameHostRedirects}),
		discovery.WithLogger(log))
	if err != nil {
		return nil, err
	}
	c.Discovery = dc
	return c, nil
}

func perMinute(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// SameHostRedirects is an http.Client CheckRedirect that refuses redirects
// to another host or scheme. Go would drop the Authorization header on such
// a redirect anyway; dbt Cloud never sends one, so it is reported as the
// misconfiguration it is.
func SameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("refusing a redirect from %s to another host (%s): check the access URL", via[0].URL.Host, req.URL.Host)
	}
	return nil
}
