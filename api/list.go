package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
)

// Pagination is Mixpeek's PaginationResponse: total and total_pages are
// always counted; next_page and previous_page are page numbers (as the
// contract's strings), next_cursor an opaque token for the next page.
type Pagination struct {
	Total        int     `json:"total"`
	Page         int     `json:"page"`
	PageSize     int     `json:"page_size"`
	TotalPages   int     `json:"total_pages"`
	NextPage     *string `json:"next_page"`
	PreviousPage *string `json:"previous_page"`
	NextCursor   *string `json:"next_cursor"`
}

// ListResponse is the envelope of every list.
type ListResponse struct {
	Results    any        `json:"results"`
	Pagination Pagination `json:"pagination"`
	TotalCount int        `json:"total_count"`
	Stats      any        `json:"stats"`
}

const (
	defaultLimit = 20
	maxLimit     = 1000
	maxOffset    = 10000
)

// listBody is the body every list shares (filters, sort, search); lists
// with more fields read them from the completed value decode returns.
type listBody struct {
	Filters json.RawMessage `json:"filters"`
	Sort    *store.Sort     `json:"sort"`
	Search  *string         `json:"search"`
}

// listQuery reads a list's body against m, checks its filters and sort
// against the fields of kind (every problem in one 422), and reads the
// paging query parameters (limit 1..1000, offset 0..10000, cursor — an
// opaque token from next_cursor that stands for an offset).
func (s *Server) listQuery(c *gin.Context, m *schema.Schema, kind store.FilterKind) (store.Query, error) {
	q, _, err := s.listQueryValue(c, m, kind)
	return q, err
}

// listQueryValue is listQuery that also returns the completed body.
func (s *Server) listQueryValue(c *gin.Context, m *schema.Schema, kind store.FilterKind) (store.Query, schema.Values, error) {
	v, ps, err := s.decode(c, m, true)
	if err != nil {
		return store.Query{}, nil, err
	}
	o := schema.AsValues(v)
	if f, ok := o["filters"].(map[string]any); ok {
		ps = withStoreProblems(ps, store.CheckFilters(kind, f, schema.Path{"body", "filters"}), schema.Path{"body", "filters"})
	}
	if so := o.Obj("sort"); so != nil && so.Str("field") != "" {
		ps = withStoreProblems(ps, store.CheckSort(kind, &store.Sort{Field: so.Str("field"), Direction: so.Str("direction")}, schema.Path{"body", "sort"}), schema.Path{"body", "sort"})
	}
	var body listBody
	completed, err := finish(m, v, ps, &body)
	if err != nil {
		return store.Query{}, nil, err
	}
	q := store.Query{Sort: body.Sort, Limit: defaultLimit}
	if !isNull(body.Filters) {
		q.Filters = body.Filters
	}
	if body.Search != nil {
		q.Search = *body.Search
	}
	if q.Limit, err = queryInt(c, "limit", defaultLimit, 1, maxLimit); err != nil {
		return q, nil, err
	}
	if q.Offset, err = queryInt(c, "offset", 0, 0, maxOffset); err != nil {
		return q, nil, err
	}
	if cur := c.Query("cursor"); cur != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(cur)
		off, perr := strconv.Atoi(string(raw))
		if derr != nil || perr != nil || off < 0 || off > maxOffset+maxLimit {
			return q, nil, invalid([]any{"query", "cursor"}, "not a cursor returned by this API", "value_error")
		}
		q.Offset = off
	}
	// include_total is accepted for older clients; the total is always
	// counted (Mixpeek's pagination requires it).
	if v := c.Query("include_total"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return q, nil, invalid([]any{"query", "include_total"}, "Input should be a valid boolean", "bool_parsing")
		}
	}
	q.IncludeTotal = true
	return q, schema.AsValues(completed), nil
}

// withStoreProblems adds the store's problems with the value at root
// (filters, a sort) to the schema's ps, leaving out those at or under a
// place within root that ps already reported: the store checks the whole
// tree again and would say the same mistake twice (an operator outside the
// enum, a missing value). Problems outside root are all kept.
func withStoreProblems(ps, more schema.Problems, root schema.Path) schema.Problems {
	under := func(loc, prefix schema.Path) bool {
		return len(prefix) <= len(loc) && slices.Equal(prefix, loc[:len(prefix)])
	}
	out := ps
	for _, p := range more {
		shadowed := false
		if under(p.Loc, root) {
			for _, q := range ps {
				if under(q.Loc, root) && under(p.Loc, q.Loc) {
					shadowed = true
					break
				}
			}
		}
		if !shadowed {
			out = append(out, p)
		}
	}
	return out
}

// queryInt reads an integer query parameter within [lo, hi].
func queryInt(c *gin.Context, name string, def, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalid([]any{"query", name}, "Input should be a valid integer", "int_parsing")
	}
	if n < lo || n > hi {
		return 0, invalid([]any{"query", name}, "Input should be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi), "value_error")
	}
	return n, nil
}

// writeList writes a page of total matches.
func writeList(c *gin.Context, q store.Query, results any, total int, stats any) {
	c.JSON(http.StatusOK, ListResponse{Results: results, Pagination: pagination(q, total), TotalCount: total, Stats: stats})
}

// writeRawList is writeList for results that are stored JSON documents
// (execution results, as this server wrote them: valid and compact): they
// are copied into the answer as they are, where encoding/json would scan
// and re-compact every byte of them (most of the time a list took).
func writeRawList(c *gin.Context, q store.Query, results []json.RawMessage, total int, stats any) {
	rest, err := json.Marshal(ListResponse{Pagination: pagination(q, total), TotalCount: total, Stats: stats})
	if err != nil {
		c.Error(err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	n := len(rest) + 16
	for _, r := range results {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"results":[`...)
	for i, r := range results {
		if i > 0 {
			b = append(b, ',')
		}
		if len(r) == 0 {
			r = json.RawMessage("null")
		}
		b = append(b, r...)
	}
	b = append(b, ']')
	// rest is {"results":null,…}: everything after its first field.
	b = append(b, rest[len(`{"results":null`):]...)
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
}

// pagination describes the page of q among total matches.
func pagination(q store.Query, total int) Pagination {
	p := Pagination{Total: total, Page: q.Offset/q.Limit + 1, PageSize: q.Limit, TotalPages: (total + q.Limit - 1) / q.Limit}
	if q.Offset > 0 {
		prev := strconv.Itoa(max(1, p.Page-1))
		p.PreviousPage = &prev
	}
	if q.Offset+q.Limit < total && q.Offset+q.Limit <= maxOffset {
		next := strconv.Itoa(p.Page + 1)
		p.NextPage = &next
		cur := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(q.Offset + q.Limit)))
		p.NextCursor = &cur
	}
	return p
}
