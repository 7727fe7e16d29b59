// Package admin is a client for dbt Cloud's Administrative API (REST v2 and
// v3): account, projects, environments, jobs, runs and run artifacts.
//
// A Client is bound to one account on one access URL (see ParseAccessURL).
// List methods return iterators that page through results 100 at a time and
// stop as soon as the caller stops ranging. Every non-2xx response becomes an
// *APIError through CheckResponse. Artifacts are streamed, never buffered.
//
// Unless WithHTTPClient is given, requests go through a transport.Transport
// with the Admin API budget, retries and a 60-second wait for response
// headers. The token is sent as "Authorization: Token <token>" and is
// redacted from every error the client returns.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// DefaultUserAgent is the User-Agent sent unless WithUserAgent is given.
const DefaultUserAgent = "dbt-crawler"

// pageSize is the Admin API's maximum (and default) page size.
const pageSize = 100

// defaultMaxPages bounds one listing (10 million items) as a guard against
// endless pagination.
const defaultMaxPages = 100_000

// Client calls the Admin API for one account. It is safe for concurrent use.
type Client struct {
	access    AccessURL
	accountID int64
	token     string
	http      *http.Client
	transport *transport.Transport
	userAgent string
	log       *zap.Logger
	maxPages  int
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send requests through hc as it is; wrap
// its transport with transport.New to keep retries and the rate budget. A
// nil hc keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithUserAgent sets the User-Agent header (default DefaultUserAgent).
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithLogger sets the logger; the client logs at debug level under the name
// "admin". The default discards logs.
func WithLogger(l *zap.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// WithMaxPages bounds how many pages one listing may fetch before it fails
// (default 100,000 pages of 100). Values below 1 keep the default.
func WithMaxPages(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxPages = n
		}
	}
}

// NewClient returns a client for account accountID at accessURL (e.g.
// "https://ab123.us1.dbt.com"), authenticating with token (a service token
// or an account-scoped personal access token). It reports every problem
// with its arguments at once; the errors name the settings to fix and never
// contain the token.
func NewClient(accessURL string, accountID int64, token string, opts ...Option) (*Client, error) {
	var errs []error
	access, err := ParseAccessURL(accessURL)
	if err != nil {
		errs = append(errs, err)
	}
	if accountID <= 0 {
		errs = append(errs, fmt.Errorf("DBT_CLOUD_ACCOUNT_ID must be a positive number, got %d; it is the number after /accounts/ in dbt Cloud URLs", accountID))
	}
	switch {
	case token == "":
		errs = append(errs, errors.New("DBT_CLOUD_TOKEN is empty; create a service token (Account settings → Service tokens) or a personal access token"))
	case strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		errs = append(errs, errors.New("DBT_CLOUD_TOKEN contains spaces or control characters; give the bare token without the \"Token \" prefix or a trailing newline"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	c := &Client{
		access:    access,
		accountID: accountID,
		token:     token,
		userAgent: DefaultUserAgent,
		log:       zap.NewNop(),
		maxPages:  defaultMaxPages,
	}
	for _, opt := range opts {
		opt(c)
	}
	c.log = c.log.Named("admin")
	if c.http == nil {
		c.transport = transport.New(nil, transport.Options{
			Name:   "admin",
			Budget: transport.AdminBudget(),
			Logger: c.log,
		})
		c.http = &http.Client{Transport: c.transport}
	} else if tr, ok := c.http.Transport.(*transport.Transport); ok {
		c.transport = tr
	}
	return c, nil
}

// AccessURL returns the normalised access URL the client talks to.
func (c *Client) AccessURL() AccessURL { return c.access }

// AccountID returns the account the client is bound to.
func (c *Client) AccountID() int64 { return c.accountID }

// Transport returns the client's retrying transport for its Stats, or nil
// when WithHTTPClient supplied a client without one.
func (c *Client) Transport() *transport.Transport { return c.transport }

// Redact replaces the client's token, and anything shaped like a dbt Cloud
// token, in s with "[REDACTED]".
func (c *Client) Redact(s string) string {
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, redacted)
	}
	return redactTokens(s)
}

// redactedError hides the token in an error's message while keeping the
// chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with the token removed from its message, and from
// an *APIError's fields.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.UserMessage = c.Redact(apiErr.UserMessage)
		apiErr.DeveloperMessage = c.Redact(apiErr.DeveloperMessage)
		apiErr.Body = c.Redact(apiErr.Body)
	}
	msg := err.Error()
	if red := c.Redact(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

// accountPath returns "/api/<version>/accounts/<id>/" followed by rest.
func (c *Client) accountPath(version, rest string) string {
	return "/api/" + version + "/accounts/" + strconv.FormatInt(c.accountID, 10) + "/" + rest
}

// send performs a GET and passes the response through CheckResponse. The
// caller closes the body of a successful response.
func (c *Client) send(ctx context.Context, path string, q url.Values, accept string) (*http.Response, error) {
	u := c.access.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, c.redactErr(fmt.Errorf("build request for %s: %w", path, err))
	}
	req.Header.Set("Authorization", "Token "+c.token)
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.redactErr(err)
	}
	if err := CheckResponse(resp); err != nil {
		return nil, c.redactErr(err)
	}
	return resp, nil
}

// envelope is the Admin API's JSON wrapper.
type envelope[T any] struct {
	Status *responseStatus `json:"status"`
	Data   *T              `json:"data"`
	Extra  *listExtra      `json:"extra"`
}

// listExtra is the extra object on list responses.
type listExtra struct {
	Pagination *struct {
		Count      int64 `json:"count"`
		TotalCount int64 `json:"total_count"`
	} `json:"pagination"`
}

// getJSON GETs path and decodes the envelope's data. A nil data pointer
// means the response carried "data": null or none.
func getJSON[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, *listExtra, error) {
	resp, err := c.send(ctx, path, q, "application/json")
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var env envelope[T]
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		endpoint := transport.Endpoint(http.MethodGet, path)
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "" && mt != "application/json" {
			return nil, nil, c.redactErr(fmt.Errorf("%s: response is %s, not a JSON envelope: %w", endpoint, mt, err))
		}
		return nil, nil, c.redactErr(fmt.Errorf("decode %s response: %w", endpoint, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if s := env.Status; s != nil && s.IsSuccess != nil && !*s.IsSuccess {
		e := &APIError{StatusCode: resp.StatusCode, Kind: KindUnexpected, Endpoint: transport.Endpoint(http.MethodGet, path)}
		if s.Code >= 400 {
			e.Kind = kindForStatus(s.Code)
		}
		if s.UserMessage != nil {
			e.UserMessage = truncate(*s.UserMessage, 500)
		}
		if s.DeveloperMessage != nil {
			e.DeveloperMessage = truncate(*s.DeveloperMessage, 500)
		}
		return nil, nil, c.redactErr(e)
	}
	return env.Data, env.Extra, nil
}

// getOne GETs a single object and fails when data is missing.
func getOne[T any](ctx context.Context, c *Client, path string, q url.Values) (T, error) {
	var zero T
	data, _, err := getJSON[T](ctx, c, path, q)
	if err != nil {
		return zero, err
	}
	if data == nil {
		return zero, fmt.Errorf("%s: response has no data", transport.Endpoint(http.MethodGet, path))
	}
	return *data, nil
}

// includeRelated encodes include_related as a JSON array, the form dbt
// Cloud honours consistently.
func includeRelated(names ...string) string {
	b, _ := json.Marshal(names)
	return string(b)
}
