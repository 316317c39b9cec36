package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/store"
)

// ListRequest is the optional body of every POST …/list.
type ListRequest struct {
	Filters json.RawMessage `json:"filters,omitempty"`
	Sort    *store.Sort     `json:"sort,omitempty"`
	Search  string          `json:"search,omitempty" binding:"max=1000"`
}

// Pagination describes a page of a list.
type Pagination struct {
	Total        *int    `json:"total"`
	Page         int     `json:"page"`
	PageSize     int     `json:"page_size"`
	TotalPages   *int    `json:"total_pages"`
	NextPage     *int    `json:"next_page"`
	PreviousPage *int    `json:"previous_page"`
	NextCursor   *string `json:"next_cursor"`
}

// ListResponse is the envelope of every list.
type ListResponse struct {
	Results    any        `json:"results"`
	Pagination Pagination `json:"pagination"`
	TotalCount *int       `json:"total_count"`
	Stats      any        `json:"stats"`
}

const (
	defaultLimit = 20
	maxLimit     = 1000
	maxOffset    = 10000
)

// listQuery reads the body and the paging query parameters (limit 1..1000,
// offset 0..10000, cursor — an opaque token from next_cursor that stands for
// an offset —, include_total).
func (s *Server) listQuery(c *gin.Context) (store.Query, error) {
	var req ListRequest
	if err := s.bindJSON(c, &req, true); err != nil {
		return store.Query{}, err
	}
	q := store.Query{Filters: req.Filters, Sort: req.Sort, Search: req.Search, Limit: defaultLimit}
	var err error
	if q.Limit, err = queryInt(c, "limit", defaultLimit, 1, maxLimit); err != nil {
		return q, err
	}
	if q.Offset, err = queryInt(c, "offset", 0, 0, maxOffset); err != nil {
		return q, err
	}
	if cur := c.Query("cursor"); cur != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(cur)
		off, perr := strconv.Atoi(string(raw))
		if derr != nil || perr != nil || off < 0 || off > maxOffset+maxLimit {
			return q, invalid([]any{"query", "cursor"}, "not a cursor returned by this API", "value_error")
		}
		q.Offset = off
	}
	if v := c.Query("include_total"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return q, invalid([]any{"query", "include_total"}, "Input should be a valid boolean", "bool_parsing")
		}
		q.IncludeTotal = b
	}
	return q, nil
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

// writeList writes a page. total < 0 means unknown (include_total not set);
// got is the number of results on this page.
func writeList(c *gin.Context, q store.Query, results any, got, total int, stats any) {
	p := Pagination{Page: q.Offset/q.Limit + 1, PageSize: q.Limit}
	if q.Offset > 0 {
		prev := max(1, p.Page-1)
		p.PreviousPage = &prev
	}
	more := got == q.Limit
	if total >= 0 {
		t := total
		p.Total = &t
		pages := (total + q.Limit - 1) / q.Limit
		p.TotalPages = &pages
		more = q.Offset+got < total
	}
	if more && q.Offset+q.Limit <= maxOffset {
		next := p.Page + 1
		p.NextPage = &next
		cur := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(q.Offset + q.Limit)))
		p.NextCursor = &cur
	}
	c.JSON(http.StatusOK, ListResponse{Results: results, Pagination: p, TotalCount: p.Total, Stats: stats})
}
