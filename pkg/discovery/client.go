// Package discovery is a client for the dbt Cloud Discovery API (GraphQL).
// It reads one environment's applied state (models, sources, tests, seeds,
// snapshots and exposures, with catalog columns, lineage, test results and
// source freshness) and converts it to pkg/catalog types.
//
// Queries are built from Go structs by github.com/hasura/go-graphql-client;
// its types never leave this package. The client POSTs them itself and
// decodes each response as it streams in, straight into the query struct
// (github.com/goccy/go-json), so a page is read once. Every response
// passes one error gate that returns the typed errors below. The client
// never retries: retries belong to the *http.Client's transport, which the
// caller supplies.
package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"
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
	token    string // sent as a bearer token and scrubbed from error text
	endpoint string
	hc       *http.Client
	pageSize int
	log      *zap.Logger
	// docs caches each operation's GraphQL document by operation name.
	docs sync.Map
	// idChunk, when positive, replaces maxIDsPerWalk (tests only).
	idChunk int
	// bodies holds *bytes.Buffer to read responses into, reused from
	// request to request.
	bodies sync.Pool
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
	return &Client{endpoint: endpoint, hc: s.httpClient, pageSize: s.pageSize, log: s.log.Named("discovery"), token: token}, nil
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

// maxErrorBody bounds how much of a non-2xx response body is read.
const maxErrorBody = 1 << 20

// response is a GraphQL response whose data decodes straight into the
// operation's query struct.
type response[Q any] struct {
	Data   *Q          `json:"data"`
	Errors []wireError `json:"errors"`
}

// wireError is one entry of a response's "errors" array as sent.
type wireError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
	Path       []any          `json:"path"`
}

// requestPayload is the body of a GraphQL POST.
type requestPayload struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables,omitempty"`
	OperationName string         `json:"operationName,omitempty"`
}

// query sends operation op built from q (a pointer to a query struct) and
// decodes the response's data into q: into the slices and pointers q
// already holds where it can, so a caller may reuse q from page to page
// once it zeroed what it must not keep (q is zeroed when the response has
// no data). It is the package's single error gate: every failure comes
// back as one of the typed errors, with the token scrubbed.
func query[Q any](ctx context.Context, c *Client, op string, q *Q, vars map[string]any) error {
	err := queryRaw(ctx, c, op, q, vars)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// Whatever failed, the context ending is the cause to report.
		return fmt.Errorf("discovery %s: %w", op, ctxErr)
	}
	return c.scrubErr(err)
}

func queryRaw[Q any](ctx context.Context, c *Client, op string, q *Q, vars map[string]any) error {
	doc, err := c.document(op, q, vars)
	if err != nil {
		return fmt.Errorf("discovery %s: build query: %w", op, err)
	}
	body, err := json.Marshal(requestPayload{Query: doc, Variables: vars, OperationName: op})
	if err != nil {
		return fmt.Errorf("discovery %s: encode request: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("discovery %s: build request: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("X-dbt-partner-source", "dbt-crawler")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("discovery %s: %w", op, err)
	}
	defer func() {
		// Drain what the decoder left (a trailing newline) so the
		// connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		_ = resp.Body.Close()
	}()
	switch {
	case resp.StatusCode >= 400:
		text, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && len(text) == 0 {
			text = []byte(resp.Status)
		}
		return c.statusError(op, resp.StatusCode, string(text))
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated:
		return fmt.Errorf("discovery %s: unexpected HTTP status %s: the endpoint may not be a Discovery API", op, resp.Status)
	}
	buf := c.body()
	defer c.release(buf)
	if n := resp.ContentLength; n > 0 && n <= maxKeptBody {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare to stop
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("discovery %s: read response: %w", op, err)
	}
	// The decoder copies the body, and decoded strings point into its
	// copy, not into buf, so buf is free for the next response as soon
	// as this returns.
	r := response[Q]{Data: q}
	if err := gojson.Unmarshal(buf.Bytes(), &r); err != nil {
		return fmt.Errorf("discovery %s: decode response: %w", op, err)
	}
	if r.Data != nil && !hasData(buf.Bytes()) {
		r.Data = nil // no data member: q was left as it was
	}
	if r.Data == nil {
		var zero Q
		*q = zero
	}
	if len(r.Errors) == 0 {
		if r.Data == nil {
			return fmt.Errorf("discovery %s: the response holds no data", op)
		}
		return nil
	}
	server := make([]GraphQLError, 0, len(r.Errors))
	for _, e := range r.Errors {
		server = append(server, convertError(c.scrub(e.Message), e.Extensions, e.Path))
	}
	if r.Data != nil {
		return &PartialError{Operation: op, Errors: server}
	}
	return &QueryError{Operation: op, StatusCode: http.StatusOK, Errors: server}
}

// hasData reports whether body, a JSON document the decoder accepted, has
// a top-level "data" member, matched as the decoder matches field names
// (ignoring case). GraphQL servers send it first, so the walk stops early.
func hasData(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if name, _ := t.(string); strings.EqualFold(name, "data") {
			return true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// maxKeptBody is the largest response buffer kept for the next response:
// one grown for a huge page is dropped rather than held by the client.
const maxKeptBody = 16 << 20

// body returns an empty buffer to read a response into.
func (c *Client) body() *bytes.Buffer {
	if b, ok := c.bodies.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// release keeps b for a later response unless it grew too large. Nothing
// may point into b afterwards.
func (c *Client) release(b *bytes.Buffer) {
	if b.Cap() > maxKeptBody {
		return
	}
	b.Reset()
	c.bodies.Put(b)
}

// document returns the GraphQL document of operation op, built from q's
// type by the query builder once per client and operation.
func (c *Client) document(op string, q any, vars map[string]any) (string, error) {
	if doc, ok := c.docs.Load(op); ok {
		return doc.(string), nil
	}
	doc, err := graphql.ConstructQuery(q, vars, graphql.OperationName(op))
	if err != nil {
		return "", err
	}
	c.docs.Store(op, doc)
	return doc, nil
}

// convertError copies one decoded error out of the response buffer.
func convertError(msg string, ext map[string]any, path []any) GraphQLError {
	code, _ := ext["code"].(string)
	for i, p := range path {
		if s, ok := p.(string); ok {
			path[i] = strings.Clone(s)
		}
	}
	return GraphQLError{Message: strings.Clone(msg), Code: strings.Clone(code), Path: path}
}

// statusError maps a non-2xx response to a typed error.
func (c *Client) statusError(op string, status int, body string) error {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &AuthError{Operation: op, StatusCode: status, Endpoint: redact(c.endpoint)}
	}
	qe := &QueryError{Operation: op, StatusCode: status}
	var parsed struct {
		Errors []wireError `json:"errors"`
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
