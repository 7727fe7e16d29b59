package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// ErrorKind classifies an API error by what the caller should do about it.
type ErrorKind string

// The error kinds CheckResponse produces.
const (
	KindBadRequest   ErrorKind = "bad request"  // 400, 422 and other unlisted 4xx
	KindUnauthorized ErrorKind = "unauthorized" // 401
	KindForbidden    ErrorKind = "forbidden"    // 403
	KindNotFound     ErrorKind = "not found"    // 404
	KindRateLimited  ErrorKind = "rate limited" // 429
	KindServer       ErrorKind = "server error" // 5xx
	KindUnexpected   ErrorKind = "unexpected"   // other statuses, or a failed envelope on 2xx
)

const (
	maxBodySnippet   = 200      // bytes of a non-JSON body kept in errors
	maxErrorBody     = 64 << 10 // bytes of an error body read at most
	unauthorizedHint = "token rejected: check the token, and that the access URL is your account's own, e.g. https://ab123.us1.dbt.com (setting " + accessURLSetting + ")"
)

// Sentinel errors matched by errors.Is against an *APIError of that kind.
var (
	ErrUnauthorized = errors.New("dbt Cloud: unauthorized")
	ErrForbidden    = errors.New("dbt Cloud: forbidden")
	ErrNotFound     = errors.New("dbt Cloud: not found")
	ErrRateLimited  = errors.New("dbt Cloud: rate limited")
	ErrServer       = errors.New("dbt Cloud: server error")
)

// APIError is a non-successful response from the Admin API.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	Kind       ErrorKind
	// UserMessage and DeveloperMessage come from the response envelope's
	// status object when there is one.
	UserMessage      string
	DeveloperMessage string
	// Endpoint is the method and normalised path, e.g.
	// "GET /api/v2/accounts/{id}/runs/".
	Endpoint string
	// Body is the start of a body that was not a JSON envelope (e.g. an
	// HTML error page), whitespace collapsed, at most 200 bytes.
	Body string
}

// Error describes the failure and, for 401/403/404, the likely fix.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("dbt Cloud API ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	b.WriteString(": ")
	switch e.Kind {
	case KindUnauthorized:
		b.WriteString(unauthorizedHint)
	case KindForbidden:
		b.WriteString("the token lacks permission for this resource, or the request comes from an IP address outside the account's allow-list (service tokens)")
	case KindNotFound:
		b.WriteString("not found, or the token has no permission to see it")
	case KindRateLimited:
		b.WriteString("rate limited (the Admin API allows 5,000 requests per minute per account; over it, dbt Cloud cools down for five minutes)")
	case KindServer:
		b.WriteString("dbt Cloud server error; retry later")
	case KindBadRequest:
		b.WriteString("request rejected")
	default:
		b.WriteString("unexpected response")
	}
	if e.UserMessage != "" {
		fmt.Fprintf(&b, ": %q", e.UserMessage)
	}
	if e.DeveloperMessage != "" && e.DeveloperMessage != e.UserMessage {
		fmt.Fprintf(&b, " (developer message %q)", e.DeveloperMessage)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, " (body: %q)", e.Body)
	}
	return b.String()
}

// Is reports whether target is the sentinel for e's kind, so that
// errors.Is(err, ErrNotFound) works.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Kind == KindUnauthorized
	case ErrForbidden:
		return e.Kind == KindForbidden
	case ErrNotFound:
		return e.Kind == KindNotFound
	case ErrRateLimited:
		return e.Kind == KindRateLimited
	case ErrServer:
		return e.Kind == KindServer
	}
	return false
}

// IsNotFound reports whether err is a 404 from the API (not found, or no
// permission to see it).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsUnauthorized reports whether err is a 401 from the API.
func IsUnauthorized(err error) bool { return errors.Is(err, ErrUnauthorized) }

// IsForbidden reports whether err is a 403 from the API.
func IsForbidden(err error) bool { return errors.Is(err, ErrForbidden) }

// IsRateLimited reports whether err is a 429 from the API.
func IsRateLimited(err error) bool { return errors.Is(err, ErrRateLimited) }

// responseStatus is the envelope's status object.
type responseStatus struct {
	Code             int     `json:"code"`
	IsSuccess        *bool   `json:"is_success"`
	UserMessage      *string `json:"user_message"`
	DeveloperMessage *string `json:"developer_message"`
}

// errorEnvelope is the part of an error body CheckResponse reads.
type errorEnvelope struct {
	Status *responseStatus `json:"status"`
}

// CheckResponse is the gate every Admin API response passes. It returns nil
// for a 2xx status. Otherwise it reads (at most 64 KiB of) and closes the
// body and returns an *APIError carrying the envelope's messages, or the
// start of a non-JSON body such as an HTML error page. Text that looks like
// a dbt Cloud token is redacted.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &APIError{StatusCode: resp.StatusCode, Kind: kindForStatus(resp.StatusCode)}
	if resp.Request != nil && resp.Request.URL != nil {
		e.Endpoint = transport.Endpoint(resp.Request.Method, resp.Request.URL.Path)
	}
	if resp.Body != nil {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		fillFromBody(e, data)
	}
	return e
}

func kindForStatus(code int) ErrorKind {
	switch {
	case code == http.StatusUnauthorized:
		return KindUnauthorized
	case code == http.StatusForbidden:
		return KindForbidden
	case code == http.StatusNotFound:
		return KindNotFound
	case code == http.StatusTooManyRequests:
		return KindRateLimited
	case code >= 500 && code < 600:
		return KindServer
	case code >= 400 && code < 500:
		return KindBadRequest
	default:
		return KindUnexpected
	}
}

// fillFromBody sets the envelope messages, or Body for anything else.
func fillFromBody(e *APIError, data []byte) {
	trimmed := strings.TrimSpace(string(data))
	if trimmed == "" {
		return
	}
	var env errorEnvelope
	if err := json.Unmarshal(data, &env); err == nil && env.Status != nil {
		if env.Status.UserMessage != nil {
			e.UserMessage = redactTokens(truncate(*env.Status.UserMessage, 500))
		}
		if env.Status.DeveloperMessage != nil {
			e.DeveloperMessage = redactTokens(truncate(*env.Status.DeveloperMessage, 500))
		}
		return
	}
	e.Body = redactTokens(snippet(trimmed))
}

var (
	titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
)

// snippet reduces a non-JSON body to a short single line: an HTML page's
// title when it has one, else its text without tags.
func snippet(s string) string {
	if m := titleRE.FindStringSubmatch(s); m != nil && strings.TrimSpace(m[1]) != "" {
		s = m[1]
	} else if strings.Contains(s, "<") {
		s = tagRE.ReplaceAllString(s, " ")
	}
	s = strings.Join(strings.Fields(html.UnescapeString(s)), " ")
	return truncate(s, maxBodySnippet)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// tokenRE matches dbt Cloud service tokens and personal access tokens by
// their observed prefixes.
var tokenRE = regexp.MustCompile(`dbt[cu]_[A-Za-z0-9_\-]{8,}`)

func redactTokens(s string) string {
	return tokenRE.ReplaceAllString(s, redacted)
}

const redacted = "[REDACTED]"
