package discovery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzDiscoveryResponse serves arbitrary bodies with arbitrary statuses to
// the client's Info probe and its paginated model listing. The client must
// not panic or loop, must return typed errors for non-2xx statuses, and
// must never put the token in an error.
func FuzzDiscoveryResponse(f *testing.F) {
	for _, s := range []struct {
		code int
		body string
	}{
		{200, `{"data":{"environment":{"adapterType":"postgres","dbtProjectName":"shop","applied":{"lastUpdatedAt":"2025-01-02T03:04:05.678Z","latestGitSha":"abc"}}}}`},
		{200, `{"data":{"environment":{"applied":{"models":{"totalCount":2,"pageInfo":{"hasNextPage":true,"endCursor":"c1"},"edges":[{"node":{"uniqueId":"model.a.b","name":"b"}}]}}}}}`},
		{200, `{"data":{"environment":{"applied":{"models":{"pageInfo":{"hasNextPage":true,"endCursor":""},"edges":[]}}}}}`},
		{200, `{"data":null,"errors":[{"message":"boom","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`},
		{200, `{"data":{"environment":null},"errors":[{"message":"partial","path":["environment","applied"]}]}`},
		{200, `{"errors":[{"message":"Query too complex","extensions":{"code":"COMPLEXITY_EXCEEDED"}}]}`},
		{200, `not json`},
		{200, `{"data":{"environment":{"applied":{"lastUpdatedAt":12}}}}`},
		{401, `{"errors":[{"message":"Invalid token ` + testToken + `"}]}`},
		{429, `{"errors":[{"message":"Too many requests","extensions":{"code":"RATE_LIMITED"}}]}`},
		{502, `<html><title>502 Bad Gateway</title>` + testToken + `</html>`},
	} {
		f.Add(s.code, []byte(s.body))
	}

	var (
		mu   sync.Mutex
		code int
		body []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		c, b := code, body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c)
		w.Write(b)
	}))
	f.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Timeout = 10 * time.Second
	c, err := NewClient(srv.URL+"/graphql", testToken, WithHTTPClient(hc), WithPageSize(10))
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, status int, data []byte) {
		if status < 0 {
			status = -(status + 1)
		}
		status = 200 + status%400
		mu.Lock()
		code, body = status, data
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		_, err := c.Info(ctx, 1)
		checkFuzzError(t, status, err)
		n := 0
		for _, err := range c.Models(ctx, 1) {
			if err != nil {
				checkFuzzError(t, status, err)
				break
			}
			if n++; n > 10_000 {
				t.Fatal("the model listing does not stop on a server that repeats itself")
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the client hung until the fuzz deadline")
		}
	})
}

func checkFuzzError(t *testing.T, status int, err error) {
	t.Helper()
	if err == nil {
		if status < 200 || status > 299 {
			t.Fatalf("status %d accepted", status)
		}
		return
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		var ae *AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("status %d gave %T (%v), want an *AuthError", status, err, err)
		}
	}
}

// TestErrorsNeverEchoToken checks that a server echoing the token in its
// error messages does not put the token into the client's errors.
func TestErrorsNeverEchoToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		body string
	}{
		{"graphql error on 200", 200, `{"errors":[{"message":"token ` + testToken + ` is not allowed here"}]}`},
		{"graphql errors on 500", 500, `{"errors":[{"message":"bad token ` + testToken + `"}]}`},
		{"plain body on 502", 502, `upstream said ` + testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := NewClient(srv.URL+"/graphql", testToken, WithHTTPClient(srv.Client()))
			require.NoError(t, err)
			_, err = c.Info(t.Context(), 1)
			require.Error(t, err)
			require.NotContains(t, err.Error(), testToken)
		})
	}
}
