package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// DefaultEnrichBatch is the number of documents patched per transaction.
const DefaultEnrichBatch = 1000

// Enrich writes each member's cluster into the payload of the document with
// the same id in the target collection: by default cluster_id (the deepest
// cluster), cluster_label and distance_to_centroid, under the names the
// cluster's source_enrichment_config chooses (model.EnrichmentConfig
// Mappings; metadata.PATH reads PATH in the centroid's metadata object,
// then among an attribute cluster's attributes, null when neither has it).
// A multi_feature_strategy "independent" run writes its first feature's
// assignment. It reads the members of each completed run in order (a later
// run overwrites an earlier one's fields), patches batch documents per
// transaction, and is idempotent: enriching twice leaves the same
// payloads.
func (r *Runner) Enrich(ctx context.Context, ns string, runs []store.Run, targetCollectionID string, batch int) (model.EnrichResponse, error) {
	var out model.EnrichResponse
	if batch <= 0 {
		batch = DefaultEnrichBatch
	}
	for _, run := range runs {
		cl, err := r.cfg.Store.GetCluster(ctx, ns, run.ClusterID)
		if err != nil {
			return out, err
		}
		cfg, err := model.DecodeClusterConfig(cl.Config)
		if err != nil {
			return out, fmt.Errorf("stored cluster config: %w", err)
		}
		var res model.ExecutionResult
		if err := json.Unmarshal(run.Result, &res); err != nil {
			return out, fmt.Errorf("stored run result: %w", err)
		}
		centroids := map[string]model.ExecutionCentroid{}
		objects := map[string]map[string]any{} // centroids as JSON objects, for metadata.PATH
		for _, c := range res.Centroids {
			centroids[centroidKey(c.FeatureURI, c.ClusterID)] = c
		}
		members, _, err := r.cfg.Artifacts.ReadMembers(ctx, run.ArtifactsKey(), 0, -1)
		if err != nil {
			return out, fmt.Errorf("run %s members: %w", run.RunID, err)
		}
		mappings := cfg.SourceEnrichmentConfig.Mappings()
		patches := make([]store.PayloadPatch, 0, batch)
		flush := func() error {
			if len(patches) == 0 {
				return nil
			}
			ok, missing, err := r.cfg.Store.PatchPayloads(ctx, targetCollectionID, patches)
			if err != nil {
				return err
			}
			out.Enriched += ok
			out.Failed += missing
			out.Batches++
			patches = patches[:0]
			return nil
		}
		primary := ""
		for _, m := range members {
			if m.FeatureURI != nil { // "independent": rows of the first feature come first
				if primary == "" {
					primary = *m.FeatureURI
				}
				if *m.FeatureURI != primary {
					continue
				}
			}
			key := centroidKey(m.FeatureURI, m.ClusterID)
			c := centroids[key]
			fields := map[string]any{}
			set := func(name string, v any) {
				if name != "" {
					fields[name] = v
				}
			}
			for _, fm := range mappings {
				switch fm.SourceField {
				case model.EnrichClusterID:
					set(fm.TargetField, m.ClusterID)
				case model.EnrichClusterLabel:
					set(fm.TargetField, c.Label)
				case model.EnrichDistance:
					set(fm.TargetField, m.DistanceToCentroid)
				case model.EnrichClusterKeywords:
					set(fm.TargetField, c.Keywords)
				case model.EnrichClusterSummary:
					set(fm.TargetField, c.Summary)
				case model.EnrichRunID:
					set(fm.TargetField, run.RunID)
				case model.EnrichMemberCount:
					set(fm.TargetField, c.NumMembers)
				case model.EnrichX:
					set(fm.TargetField, m.X)
				case model.EnrichY:
					set(fm.TargetField, m.Y)
				case model.EnrichZ:
					set(fm.TargetField, m.Z)
				default:
					if path, ok := strings.CutPrefix(fm.SourceField, "metadata."); ok {
						obj, seen := objects[key]
						if !seen {
							obj = centroidObject(c)
							objects[key] = obj
						}
						set(fm.TargetField, centroidMetadata(obj, path))
					}
				}
			}
			patch, err := json.Marshal(fields)
			if err != nil {
				return out, err
			}
			patches = append(patches, store.PayloadPatch{DocumentID: m.PointID, Patch: patch})
			out.Processed++
			if len(patches) == batch {
				if err := flush(); err != nil {
					return out, err
				}
			}
		}
		if err := flush(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// centroidMetadata reads a metadata.PATH enrichment source from a centroid
// (as a JSON object): PATH in its metadata object (an LLM's custom
// response), else the attribute of an attribute cluster named PATH (or
// metadata.PATH, payload.PATH); nil when neither has it.
func centroidMetadata(c map[string]any, path string) any {
	if meta, ok := c["metadata"].(map[string]any); ok {
		if v, ok := lookupPath(meta, path); ok {
			return v
		}
	}
	if attrs, ok := c["attributes"].(map[string]any); ok {
		for _, name := range []string{path, "metadata." + path, "payload." + path} {
			if v, ok := attrs[name]; ok {
				return v
			}
		}
	}
	return nil
}
