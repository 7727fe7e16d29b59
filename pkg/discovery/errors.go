package discovery

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// CodeComplexityExceeded is the extensions code dbt answers a query that is
// too expensive with.
const CodeComplexityExceeded = "COMPLEXITY_EXCEEDED"

var (
	// ErrRateLimited matches a QueryError for HTTP 429: dbt's limit of 500
	// Discovery requests per minute was exceeded and the transport's
	// retries did not get through. Wait (dbt applies a five-minute
	// cooldown) or lower the crawl's concurrency.
	ErrRateLimited = errors.New("discovery API rate limit exceeded")
	// ErrComplexityExceeded matches a QueryError whose errors carry the
	// COMPLEXITY_EXCEEDED code, after the client's own retries with smaller
	// pages and lighter field sets failed too.
	ErrComplexityExceeded = errors.New("discovery query exceeds the complexity limit")
	// ErrNoAppliedState means the environment has no applied state yet: no
	// job in it has run successfully. Crawl it from run artifacts instead.
	ErrNoAppliedState = errors.New("environment has no applied state in the Discovery API")
)

// GraphQLError is one entry of a response's "errors" array.
type GraphQLError struct {
	Message string
	// Code is extensions.code, e.g. "COMPLEXITY_EXCEEDED",
	// "GRAPHQL_VALIDATION_FAILED"; empty when absent.
	Code string
	// Path locates the failed field in the response, when given.
	Path []any
}

func (e GraphQLError) String() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s]", e.Code)
	}
	if len(e.Path) > 0 {
		b.WriteString(" at ")
		for i, p := range e.Path {
			if i > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, p)
		}
	}
	return b.String()
}

func joinErrors(errs []GraphQLError) string {
	parts := make([]string, 0, len(errs))
	for i, e := range errs {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(errs)-3))
			break
		}
		parts = append(parts, e.String())
	}
	return strings.Join(parts, "; ")
}

// QueryError is a response that carried no usable data: GraphQL errors
// without data (HTTP 200), a query refused by the server's validation
// (HTTP 400), or another non-2xx status. errors.Is matches
// ErrRateLimited for HTTP 429 and ErrComplexityExceeded for a
// COMPLEXITY_EXCEEDED error.
type QueryError struct {
	// Operation is the GraphQL operation name, e.g. "AppliedModels".
	Operation  string
	StatusCode int
	Errors     []GraphQLError
	// Body is the start of a non-GraphQL error body.
	Body string
}

func (e *QueryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "discovery %s: ", e.Operation)
	if e.StatusCode != http.StatusOK {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if len(e.Errors) > 0 || e.Body != "" {
			b.WriteString(": ")
		}
	}
	switch {
	case len(e.Errors) > 0:
		b.WriteString(joinErrors(e.Errors))
	case e.Body != "":
		b.WriteString(e.Body)
	}
	switch {
	case e.StatusCode == http.StatusBadRequest && !e.HasCode(CodeComplexityExceeded):
		b.WriteString(" (the query does not match the server's schema: the Discovery API may have changed; upgrade the crawler)")
	case e.StatusCode == http.StatusTooManyRequests:
		b.WriteString(" (rate limited: dbt allows 500 Discovery requests per minute; wait and retry, or crawl fewer environments at once)")
	case e.HasCode(CodeComplexityExceeded):
		b.WriteString(" (even the smallest page with the lightest fields is too complex)")
	}
	return b.String()
}

// HasCode reports whether any error carries extensions code.
func (e *QueryError) HasCode(code string) bool {
	for _, ge := range e.Errors {
		if ge.Code == code {
			return true
		}
	}
	return false
}

// Is matches ErrRateLimited and ErrComplexityExceeded.
func (e *QueryError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrComplexityExceeded:
		return e.HasCode(CodeComplexityExceeded)
	}
	return false
}

// PartialError means a response carried data and errors: the data was kept
// but some fields are missing. A snapshot built from it is incomplete and
// must not archive anything.
type PartialError struct {
	Operation string
	Errors    []GraphQLError
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("discovery %s: partial response: %s", e.Operation, joinErrors(e.Errors))
}

// AuthError is HTTP 401 or 403 from the Discovery API.
type AuthError struct {
	Operation  string
	StatusCode int
	// Endpoint is the Discovery URL that refused the token.
	Endpoint string
}

func (e *AuthError) Error() string {
	if e.StatusCode == http.StatusForbidden {
		return fmt.Sprintf("discovery %s: HTTP 403 from %s: the token may not read metadata: give the service token "+
			"the Metadata Only or Read-only permission set; the Discovery API also requires a Team or Enterprise plan "+
			"(Starter, Enterprise or Enterprise+)", e.Operation, e.Endpoint)
	}
	return fmt.Sprintf("discovery %s: HTTP 401 from %s: the token was not accepted: check DBT_CLOUD_TOKEN is a current "+
		"service account token or personal access token of this account, and that the Discovery URL is the account's "+
		"own host (set DBT_CLOUD_ACCESS_URL to the access URL shown in Account settings, or DBT_CLOUD_DISCOVERY_URL)",
		e.Operation, e.Endpoint)
}
