// Package ui is clusterd's web dashboard: a single-page application of
// plain ES modules (no build step, no third-party code) embedded in the
// binary and served under /ui by the api package. It reads everything
// through the public HTTP API (and /metrics), with the API key kept in the
// tab's sessionStorage.
//
// Pages (hash routes): #/collections, #/collections/{id}, #/clusters,
// #/clusters/{id} (definition, latest execution, centroid table),
// #/clusters/{id}/scatter (the run's projection drawn on a canvas),
// #/clusters/{id}/runs (history, live progress, cancel, execute, metrics
// chart, side-by-side of two runs) and #/system (backends, throughput,
// queue depth).
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Files are the dashboard's assets (index.html at the root).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// contentSecurityPolicy lets the page load nothing but its own assets and
// talk to nothing but its own server: a dashboard that fetched a script or
// a font from elsewhere would break on a closed network (and the browser
// tests would see the refusal as a console error).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"

// Handler serves the assets, with paths relative to the dashboard's root
// ("/" is index.html, "/app.js" …): mount it under a prefix with
// http.StripPrefix. Responses are revalidated on every load (no-cache),
// so a new binary's assets are picked up at once.
func Handler() http.Handler {
	files := http.FileServerFS(Files())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if strings.HasSuffix(r.URL.Path, ".js") {
			// Module scripts need a JavaScript MIME type whatever the
			// system's mime.types says.
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	})
}
