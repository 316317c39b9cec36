package runner

import (
	"sync"

	"github.com/clusterd/clusterd/artifacts"
)

// artifactStores holds the artifact store of each Runner given one by
// UseArtifacts. It lives beside Config rather than in it only while
// runner.go is being changed on another branch; it belongs in Config as a
// field (Artifacts *artifacts.Store).
var artifactStores sync.Map // *Runner → *artifacts.Store

// UseArtifacts makes r write and read runs' artifacts in a (default: the
// files under the store's directory, artifacts.Local). Call it before
// Start.
func (r *Runner) UseArtifacts(a *artifacts.Store) { artifactStores.Store(r, a) }

// artifacts is where r's runs' artifacts live.
func (r *Runner) artifacts() *artifacts.Store {
	if a, ok := artifactStores.Load(r); ok {
		return a.(*artifacts.Store)
	}
	return artifacts.Local(r.cfg.Store.Dir())
}
