package api

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/store"
)

// APIKey is one accepted bearer key, optionally limited to namespaces
// (names or ns_ ids); no namespaces means every namespace.
type APIKey struct {
	Key        string
	Namespaces []string
}

// ParseAPIKeys reads --api-keys: comma-separated entries, each KEY or
// KEY=ns1|ns2 to scope the key to namespaces.
func ParseAPIKeys(spec string) ([]APIKey, error) {
	var out []APIKey
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, scope, scoped := strings.Cut(entry, "=")
		if len(key) < 8 {
			return nil, fmt.Errorf("api key %q…: keys must be at least 8 characters", key[:min(len(key), 2)])
		}
		k := APIKey{Key: key}
		if scoped {
			for _, ns := range strings.Split(scope, "|") {
				if ns = strings.TrimSpace(ns); ns != "" {
					k.Namespaces = append(k.Namespaces, ns)
				}
			}
		}
		out = append(out, k)
	}
	return out, nil
}

const ctxKey = "clusterd.key"
const ctxNamespace = "clusterd.namespace"

// authenticate checks the bearer key against every configured key in
// constant time (each comparison takes the same time whether or not it
// matches, and all keys are compared).
func (s *Server) authenticate(c *gin.Context) {
	if len(s.cfg.APIKeys) == 0 {
		c.Next()
		return
	}
	// The scheme is case-insensitive (RFC 7235 §2.1): "bearer" is a Bearer.
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		s.writeError(c, &Error{Status: http.StatusUnauthorized, Code: "missing_api_key", Message: "missing API key: send Authorization: Bearer <key>"})
		return
	}
	var found *APIKey
	for i := range s.cfg.APIKeys {
		if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.APIKeys[i].Key)) == 1 {
			found = &s.cfg.APIKeys[i]
		}
	}
	if found == nil {
		s.writeError(c, &Error{Status: http.StatusUnauthorized, Code: "invalid_api_key", Message: "invalid API key"})
		return
	}
	c.Set(ctxKey, found)
	c.Next()
}

// namespace resolves X-Namespace (a name or an ns_ id; default "default")
// and checks the key may use it. A name is created on first write; reading
// an unknown name sees an empty namespace. The scope is checked before
// anything is written, so a refused request (403) creates nothing.
func (s *Server) namespace(c *gin.Context) {
	ref := strings.TrimSpace(c.GetHeader("X-Namespace"))
	if ref == "" {
		ref = store.DefaultNamespace
	}
	if len(ref) > 128 {
		s.writeError(c, invalid([]any{"header", "X-Namespace"}, "namespace names are at most 128 characters", "string_too_long"))
		return
	}
	ctx := c.Request.Context()
	ns, err := s.cfg.Store.ResolveNamespace(ctx, ref, false)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if v, ok := c.Get(ctxKey); ok {
		k := v.(*APIKey)
		if len(k.Namespaces) > 0 && !allowed(k.Namespaces, ns) {
			s.writeError(c, &Error{Status: http.StatusForbidden, Code: "namespace_forbidden",
				Message: fmt.Sprintf("this API key may not use namespace %q", ns.Name), Details: map[string]any{"namespace": ns.Name}})
			return
		}
	}
	// Lists are reads, whatever their method (the template list is POST
	// /v1/templates/clusters).
	write := c.Request.Method != http.MethodGet && !strings.HasSuffix(c.FullPath(), "/list") && c.FullPath() != "/v1/templates/clusters"
	if write && ns.ID == "" {
		if ns, err = s.cfg.Store.ResolveNamespace(ctx, ref, true); err != nil {
			s.writeError(c, err)
			return
		}
	}
	c.Set(ctxNamespace, ns)
	c.Next()
}

func allowed(scopes []string, ns store.Namespace) bool {
	for _, s := range scopes {
		if s == ns.Name || s == ns.ID {
			return true
		}
	}
	return false
}

func nsOf(c *gin.Context) store.Namespace {
	return c.MustGet(ctxNamespace).(store.Namespace)
}

// instrument counts and times requests by route template (never by raw
// path, which would make one series per id).
func (s *Server) instrument(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	el := time.Since(start)
	s.cfg.Metrics.HTTPRequests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	s.cfg.Metrics.HTTPDuration.WithLabelValues(c.Request.Method, route).Observe(el.Seconds())
	if route != "/metrics" && route != "/healthz" {
		s.log.Debug("request", "method", c.Request.Method, "route", route, "status", c.Writer.Status(), "ms", float64(el.Microseconds())/1000)
	}
}

// recoverPanics turns a panic into a logged 500 with the usual envelope and
// no stack trace in the response.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, envelope(&Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal server error"}))
			}
		}
	}()
	c.Next()
}
