// Package discovery is a client for the dbt Cloud Discovery API (GraphQL).
// It reads one environment's applied state (models, sources, tests, seeds,
// snapshots and exposures, with catalog columns, lineage, test results and
// source freshness) and converts it to pkg/catalog types.
//
// Queries are built from Go structs by github.com/hasura/go-graphql-client;
// its types never leave this package. Every response passes one error gate
// that returns the typed errors below. The library's own retry is off:
// retries belong to the *http.Client's transport, which the caller supplies.
package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	graphql "github.com/hasura/go-graphql-client"
	"go.uber.org/zap"
)

// MaxPageSize is the largest page the Discovery API serves (`first` ≤ 500).
const MaxPageSize = 500

// minPageSize is the smallest page the client shrinks to when dbt answers
// COMPLEXITY_EXCEEDED before it falls back to a lighter field set.
const minPageSize = 10

// defaultTimeout bounds each request when the caller gives no HTTP client.
const defaultTimeout = 60 * time.Second

// Client queries the Discovery API of one dbt Cloud account. It is safe
// for concurrent use.
type Client struct {
	token    string // only to scrub it from server-echoed error text
	endpoint string
	gql      *graphql.Client
	pageSize int
	log      *zap.Logger
}

// Option configures a Client.
type Option func(*settings)

type settings struct {
	httpClient *http.Client
	pageSize   int
	log        *zap.Logger
}

// WithHTTPClient sets the HTTP client requests go through; install the
// retrying, rate-limiting transport there. The default is a plain client
// with a 60 s timeout and no retries.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) { s.httpClient = c }
}

// WithPageSize sets `first` for every connection (default and maximum 500).
// NewClient refuses values outside 1..500.
func WithPageSize(n int) Option {
	return func(s *settings) { s.pageSize = n }
}

// WithLogger sets the logger (default: no logging). The client logs under
// the name "discovery" and never logs the token.
func WithLogger(l *zap.Logger) Option {
	return func(s *settings) { s.log = l }
}

// NewClient returns a client for the Discovery endpoint (e.g.
// https://ab123.metadata.us1.dbt.com/graphql) authenticating with token as
// "Authorization: Bearer <token>". The endpoint must be https, or http on a
// loopback host. It returns an error for an invalid endpoint, an empty
// token or a page size outside 1..500.
func NewClient(endpoint, token string, opts ...Option) (*Client, error) {
	s := settings{pageSize: MaxPageSize}
	for _, o := range opts {
		o(&s)
	}
	var errs []error
	if err := checkEndpoint(endpoint); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(token) == "" {
		errs = append(errs, errors.New("discovery token is empty: set DBT_CLOUD_TOKEN or DBT_CLOUD_TOKEN_FILE"))
	} else if strings.ContainsAny(token, "\r\n \t") {
		errs = append(errs, errors.New("discovery token contains whitespace: check DBT_CLOUD_TOKEN or the token file for stray newlines"))
	}
	if s.pageSize < 1 || s.pageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("discovery page size %d is out of range: use 1..%d", s.pageSize, MaxPageSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: defaultTimeout}
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	auth := "Bearer " + token
	gql := graphql.NewClient(endpoint, s.httpClient, graphql.WithRetry(0)).
		WithRequestModifier(func(r *http.Request) {
			r.Header.Set("Authorization", auth)
			r.Header.Set("Accept", "application/json")
			r.Header.Set("X-dbt-partner-source", "dbt-crawler")
		})
	return &Client{endpoint: endpoint, gql: gql, pageSize: s.pageSize, log: s.log.Named("discovery"), token: token}, nil
}

func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("discovery endpoint %q is not an absolute URL: set DBT_CLOUD_DISCOVERY_URL like https://ab123.metadata.us1.dbt.com/graphql", endpoint)
	}
	if u.User != nil {
		return errors.New("discovery endpoint must not carry credentials in the URL: pass the token separately")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("discovery endpoint %s uses plain http: only loopback hosts may, use https", u.Redacted())
	}
	return fmt.Errorf("discovery endpoint %s: scheme %q is not http or https", u.Redacted(), u.Scheme)
}

// query sends one operation built from q (a pointer to a query struct) and
// decodes the response into q. It is the package's single error gate.
func (c *Client) query(ctx context.Context, op string, q any, vars map[string]any) error {
	data, err := c.gql.QueryRaw(ctx, q, vars, graphql.OperationName(op))
	if err != nil {
		return c.classify(ctx, op, data, q, err)
	}
	return decodeData(op, data, q)
}

func decodeData(op string, data []byte, q any) error {
	if len(data) == 0 || string(data) == "null" {
		return fmt.Errorf("discovery %s: the response holds no data", op)
	}
	if err := json.Unmarshal(data, q); err != nil {
		return fmt.Errorf("discovery %s: decode response: %w", op, err)
	}
	return nil
}

// classify turns the library's error into this package's typed errors.
func (c *Client) classify(ctx context.Context, op string, data []byte, q any, err error) error {
	return c.scrubErr(c.classifyRaw(ctx, op, data, q, err))
}

func (c *Client) classifyRaw(ctx context.Context, op string, data []byte, q any, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("discovery %s: %w", op, ctxErr)
	}
	var netErr graphql.NetworkError
	if errors.As(err, &netErr) {
		return c.statusError(op, netErr.StatusCode(), netErr.Body())
	}
	var gerrs graphql.Errors
	if !errors.As(err, &gerrs) {
		return fmt.Errorf("discovery %s: %w", op, err)
	}
	server := make([]GraphQLError, 0, len(gerrs))
	for _, e := range gerrs {
		if inner := e.Unwrap(); inner != nil {
			// Raised by the library itself: transport or decoding failure.
			return fmt.Errorf("discovery %s: %w", op, inner)
		}
		server = append(server, convertError(c.scrub(e.Message), e.Extensions, e.Path))
	}
	if len(data) > 0 && string(data) != "null" {
		if derr := decodeData(op, data, q); derr != nil {
			return derr
		}
		return &PartialError{Operation: op, Errors: server}
	}
	return &QueryError{Operation: op, StatusCode: http.StatusOK, Errors: server}
}

func convertError(msg string, ext map[string]any, path []any) GraphQLError {
	code, _ := ext["code"].(string)
	return GraphQLError{Message: msg, Code: code, Path: path}
}

// statusError maps a non-2xx response to a typed error.
func (c *Client) statusError(op string, status int, body string) error {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &AuthError{Operation: op, StatusCode: status, Endpoint: redact(c.endpoint)}
	}
	qe := &QueryError{Operation: op, StatusCode: status}
	var parsed struct {
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
			Path       []any          `json:"path"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &parsed) == nil && len(parsed.Errors) > 0 {
		for _, e := range parsed.Errors {
			qe.Errors = append(qe.Errors, convertError(c.scrub(e.Message), e.Extensions, e.Path))
		}
	} else {
		qe.Body = truncate(strings.TrimSpace(c.scrub(body)), 512)
	}
	return qe
}

func redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(invalid endpoint)"
	}
	return u.Redacted()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// scrub removes the token from text a server sent back.
func (c *Client) scrub(s string) string {
	if len(c.token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, c.token, "REDACTED")
}

// scrubErr hides the token in an error's text, keeping the error chain for
// errors.Is and errors.As.
func (c *Client) scrubErr(err error) error {
	if err == nil || len(c.token) < 4 || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &scrubbedError{msg: c.scrub(err.Error()), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
