package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// clients are the two API clients of one connection and their transports.
type clients struct {
	admin        *admin.Client
	discovery    *discovery.Client // nil when disabled
	adminT       *transport.Transport
	discoveryT   *transport.Transport
	discoveryURL string
}

// newClients wires one connection: a TLS-verifying network transport, the
// shared retrying transport with the API's budget, the per-crawl meters, and
// a redirect policy that never follows a redirect to another host.
func newClients(cfg *config.Config, conn config.Connection, log *zap.Logger) (*clients, error) {
	network := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c := &clients{}
	c.adminT = transport.New(crawl.MeterTransport(network, false), transport.Options{
		Name:    "admin",
		Budget:  transport.Budget{PerMinute: float64(conn.AdminPerMinute), Burst: 100},
		Timeout: cfg.RequestTimeout,
		Logger:  log,
	})
	ac, err := admin.NewClient(conn.AccessURL, conn.AccountID, conn.Token,
		admin.WithHTTPClient(&http.Client{Transport: crawl.MeterTransport(c.adminT, true), CheckRedirect: sameHost}),
		admin.WithUserAgent("dbt-crawler/"+version),
		admin.WithLogger(log))
	if err != nil {
		return nil, err
	}
	c.admin = ac
	if !conn.UseDiscovery() {
		return c, nil
	}
	endpoint := conn.DiscoveryURL
	if endpoint == "" {
		endpoint = ac.AccessURL().DiscoveryURL()
	}
	c.discoveryURL = endpoint
	c.discoveryT = transport.New(crawl.MeterTransport(network, false), transport.Options{
		Name:      "discovery",
		Budget:    transport.Budget{PerMinute: float64(conn.DiscoveryPerMinute), Burst: 25},
		Timeout:   cfg.RequestTimeout,
		RetryPOST: true,
		Logger:    log,
	})
	dc, err := discovery.NewClient(endpoint, conn.Token,
		discovery.WithHTTPClient(&http.Client{Transport: crawl.MeterTransport(c.discoveryT, true), CheckRedirect: sameHost}),
		discovery.WithLogger(log))
	if err != nil {
		return nil, err
	}
	c.discovery = dc
	return c, nil
}

// sameHost refuses redirects to another host, so the token never follows
// one; Go would strip the header, but a cross-host redirect from dbt Cloud
// is a misconfiguration worth reporting.
func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("refusing a redirect from %s to another host (%s): check the access URL", via[0].URL.Host, req.URL.Host)
	}
	return nil
}
