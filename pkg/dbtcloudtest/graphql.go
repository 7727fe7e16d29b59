package dbtcloudtest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

// graphqlSchemaSDL is the subset of the Discovery API schema the emulator
// serves, with dbt's exact names, types and arguments.
//
//go:embed graphql_schema.graphql
var graphqlSchemaSDL string

// DiscoveryMaxPageSize is the largest `first` the Discovery API accepts.
const DiscoveryMaxPageSize = 500

// gqlMaxBody bounds a request body.
const gqlMaxBody = 1 << 20

// GraphQLOptions configures the emulated Discovery API endpoint.
type GraphQLOptions struct {
	// Tokens lists the accepted API tokens, sent as "Authorization: Bearer
	// <token>" or "Authorization: Token <token>". When empty, any non-empty
	// token is accepted. Anything else gets HTTP 401.
	Tokens []string
	// ForbiddenTokens are recognised tokens that lack the Discovery
	// permission; they get HTTP 403.
	ForbiddenTokens []string
	// MaxPageSize caps `first` on connections and is the page size when
	// `first` is omitted; 0 means DiscoveryMaxPageSize (500). A larger
	// `first` is refused with a BAD_USER_INPUT error.
	MaxPageSize int
	// ComplexityLimit, when positive, refuses with HTTP 400 and extensions
	// code COMPLEXITY_EXCEEDED any query whose cost exceeds it. The cost of
	// a query is the sum over its connection fields of first × (1 + the
	// number of distinct heavy fields selected below the connection:
	// catalog, rawCode, compiledCode, parents, children, tests).
	ComplexityLimit int
	// Fault, when set, runs first for every request. If it returns true it
	// has written the response (a 429, a 500, a dropped body...) and the
	// handler does nothing more.
	Fault func(w http.ResponseWriter, r *http.Request) bool
	// FieldError, when set, is asked before each field of each object is
	// resolved; a non-nil error makes that field null (propagating to the
	// nearest nullable parent) and adds the error to the response, as a
	// partial result.
	FieldError func(typeName, fieldName string) error
}

// graphqlHandler serves the Discovery API from a Dataset.
type graphqlHandler struct {
	ds        *Dataset
	opts      GraphQLOptions
	schema    *ast.Schema
	schemaErr error

	mu      sync.Mutex
	indexes map[int64]*gqlEnvIndex
}

// NewGraphQLHandler returns an http.Handler that emulates the dbt Cloud
// Discovery API (POST /graphql) over ds.Applied. Queries are parsed and
// validated against an embedded subset of dbt's schema; invalid queries get
// HTTP 400 with {"errors": [...]} like dbt's server. Connections page with
// opaque base64 cursors and honour `first`, `after` and the documented
// filters.
//
// The handler reads the dataset under its read lock and indexes each
// environment's applied state when first served, re-indexing when the
// state changes (a new AppliedState or Snapshot, a changed LastUpdatedAt or
// changed slice lengths). Mutate a dataset only under its write lock.
func NewGraphQLHandler(ds *Dataset, opts GraphQLOptions) http.Handler {
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DiscoveryMaxPageSize
	}
	h := &graphqlHandler{ds: ds, opts: opts, indexes: map[int64]*gqlEnvIndex{}}
	h.schema, h.schemaErr = gqlparser.LoadSchema(&ast.Source{Name: "graphql_schema.graphql", Input: graphqlSchemaSDL})
	return h
}

// gqlRequest is the POST body of a GraphQL request.
type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

func (h *graphqlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Fault != nil && h.opts.Fault(w, r) {
		return
	}
	if h.schemaErr != nil {
		gqlWriteErrors(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "emulator schema: "+h.schemaErr.Error())
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		gqlWriteErrors(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST with a JSON body")
		return
	}
	if status, msg := h.authorize(r); status != 0 {
		code := "UNAUTHENTICATED"
		if status == http.StatusForbidden {
			code = "FORBIDDEN"
		}
		gqlWriteErrors(w, status, code, msg)
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, gqlMaxBody+1))
	if err != nil {
		gqlWriteErrors(w, http.StatusBadRequest, "BAD_REQUEST", "read request body: "+err.Error())
		return
	}
	if len(body) > gqlMaxBody {
		gqlWriteErrors(w, http.StatusRequestEntityTooLarge, "BAD_REQUEST", "request body exceeds 1 MiB")
		return
	}
	var req gqlRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		gqlWriteErrors(w, http.StatusBadRequest, "BAD_REQUEST", "request body is not a GraphQL JSON request: "+err.Error())
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		gqlWriteErrors(w, http.StatusBadRequest, "BAD_REQUEST", "GraphQL operations must contain a non-empty `query`")
		return
	}

	doc, errs := gqlparser.LoadQueryWithRules(h.schema, req.Query, nil)
	if len(errs) > 0 {
		gqlWriteErrorList(w, errs, "GRAPHQL_VALIDATION_FAILED")
		return
	}
	op, err := gqlSelectOperation(doc, req.OperationName)
	if err != nil {
		gqlWriteErrors(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	vars, err := validator.VariableValues(h.schema, op, req.Variables)
	if err != nil {
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			gqlWriteErrorList(w, gqlerror.List{ge}, "BAD_USER_INPUT")
			return
		}
		gqlWriteErrors(w, http.StatusBadRequest, "BAD_USER_INPUT", err.Error())
		return
	}
	if h.opts.ComplexityLimit > 0 {
		if cost := h.queryCost(doc, op.SelectionSet, vars); cost > h.opts.ComplexityLimit {
			gqlWriteErrors(w, http.StatusBadRequest, "COMPLEXITY_EXCEEDED", fmt.Sprintf(
				"Error: This query exceeds the complexity limit (%d > %d). Consider breaking it up into separate queries or limiting to necessary fields.",
				cost, h.opts.ComplexityLimit))
			return
		}
	}

	ex := &gqlExecutor{schema: h.schema, doc: doc, vars: vars, fieldError: h.opts.FieldError}
	h.ds.mu.RLock()
	data, ok := ex.executeSelection(h.queryRoot(), op.SelectionSet, nil)
	var buf bytes.Buffer
	buf.WriteString(`{"data":`)
	if ok {
		err = gqlWriteJSON(&buf, data)
	} else {
		buf.WriteString("null")
	}
	h.ds.mu.RUnlock()
	if err != nil {
		gqlWriteErrors(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "encode response: "+err.Error())
		return
	}
	if len(ex.errs) > 0 {
		b, err := json.Marshal(ex.errs)
		if err != nil {
			gqlWriteErrors(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "encode errors: "+err.Error())
			return
		}
		buf.WriteString(`,"errors":`)
		buf.Write(b)
	}
	buf.WriteByte('}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// authorize returns 0 when the request carries an accepted token, or the
// HTTP status and message to refuse it with.
func (h *graphqlHandler) authorize(r *http.Request) (int, string) {
	auth := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if !found || token == "" || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "Token")) {
		return http.StatusUnauthorized, "missing or malformed Authorization header: expected \"Bearer <token>\""
	}
	for _, t := range h.opts.ForbiddenTokens {
		if t == token {
			return http.StatusForbidden, "the token is not permitted to use the Discovery API"
		}
	}
	if len(h.opts.Tokens) == 0 {
		return 0, ""
	}
	for _, t := range h.opts.Tokens {
		if t == token {
			return 0, ""
		}
	}
	return http.StatusUnauthorized, "invalid token"
}

func gqlSelectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		op := doc.Operations.ForName(name)
		if op == nil {
			return nil, fmt.Errorf("unknown operation named %q", name)
		}
		return op, nil
	}
	if len(doc.Operations) != 1 {
		return nil, errors.New("the document holds several operations: name one with operationName")
	}
	return doc.Operations[0], nil
}

func gqlWriteErrors(w http.ResponseWriter, status int, code, msg string) {
	gqlWriteErrorBody(w, status, []gqlError{{Message: msg, Extensions: map[string]any{"code": code}}})
}

func gqlWriteErrorList(w http.ResponseWriter, list gqlerror.List, code string) {
	out := make([]gqlError, 0, len(list))
	for _, e := range list {
		ge := gqlError{Message: e.Message, Extensions: map[string]any{"code": code}}
		for _, l := range e.Locations {
			ge.Locations = append(ge.Locations, gqlLocation{Line: l.Line, Column: l.Column})
		}
		out = append(out, ge)
	}
	gqlWriteErrorBody(w, http.StatusBadRequest, out)
}

func gqlWriteErrorBody(w http.ResponseWriter, status int, errs []gqlError) {
	b, err := json.Marshal(map[string]any{"errors": errs})
	if err != nil {
		b = []byte(`{"errors":[{"message":"internal error"}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// gqlHeavyFields are the fields that make a connection node expensive.
var gqlHeavyFields = map[string]bool{
	"catalog": true, "rawCode": true, "compiledCode": true,
	"parents": true, "children": true, "tests": true,
}

// queryCost computes the complexity described on GraphQLOptions.ComplexityLimit.
func (h *graphqlHandler) queryCost(doc *ast.QueryDocument, sel ast.SelectionSet, vars map[string]any) int {
	cost := 0
	gqlWalkFields(doc, sel, map[string]bool{}, func(f *ast.Field) bool {
		if f.Definition == nil || !strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
			return true
		}
		first := h.opts.MaxPageSize
		if a := f.Arguments.ForName("first"); a != nil {
			if v, err := a.Value.Value(vars); err == nil && v != nil {
				if n, ok := gqlInt64(v); ok {
					first = int(n)
				}
			}
		}
		heavy := map[string]bool{}
		gqlWalkFields(doc, f.SelectionSet, map[string]bool{}, func(g *ast.Field) bool {
			if gqlHeavyFields[g.Name] {
				heavy[g.Name] = true
			}
			return true
		})
		cost += first * (1 + len(heavy))
		return false
	})
	return cost
}

// gqlWalkFields visits every field below sel, through fragments; visit
// returns false to skip a field's children.
func gqlWalkFields(doc *ast.QueryDocument, sel ast.SelectionSet, seen map[string]bool, visit func(*ast.Field) bool) {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if visit(s) {
				gqlWalkFields(doc, s.SelectionSet, seen, visit)
			}
		case *ast.InlineFragment:
			gqlWalkFields(doc, s.SelectionSet, seen, visit)
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if frag := doc.Fragments.ForName(s.Name); frag != nil {
				gqlWalkFields(doc, frag.SelectionSet, seen, visit)
			}
		}
	}
}
