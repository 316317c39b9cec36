package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/internal/ids"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
)

// Cluster templates: a template is a cluster definition without its
// collections, name, description and metadata. The built-in (system)
// templates live in the code below and are read-only; templates made from
// clusters are stored in their namespace (scope organization or user, both
// the namespace: clusterd has no users), or visible to every namespace when
// public.

// systemTemplate is a built-in template as written here; its configuration
// is completed with the defaults when first served.
type systemTemplate struct {
	id, name, description, category string
	tags, requirements, useCases    []string
	config                          string // a CreateClusterRequest without collection_ids
}

// systemTemplatesDate is the created_at and updated_at of the built-in
// templates (the release that introduced them).
var systemTemplatesDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var systemTemplateDefs = []systemTemplate{
	{
		id:   "tmpl_topic_discovery_kmeans",
		name: "Topic discovery (k-means, TF-IDF labels)",
		description: "Groups documents by topic with k-means on L2-normalised embeddings (cosine geometry) and picks the number of topics " +
			"itself: every k from 2 to 20 is fitted on a seeded sample and the best silhouette wins. Each topic is named by class-based " +
			"TF-IDF keywords over its members' payload text; enable llm_labeling on the cluster for an LLM's label and summary.",
		category:     "topic_discovery",
		tags:         []string{"kmeans", "topics", "text", "tfidf", "auto_k"},
		requirements: []string{"Collections with one embedding feature (text embeddings suit it best)", "A text field in each document's payload (payload.text) for the TF-IDF keywords and labels"},
		useCases:     []string{"Discover the themes of a document corpus", "Group support tickets, reviews or feedback by subject", "Cluster without guessing the number of clusters"},
		config: `{"cluster_type":"vector","vector_config":{"clustering_method":"kmeans",
			"algorithm_params":{"n_clusters":"auto","k_min":2,"k_max":20,"n_init":"auto","random_state":42},
			"preprocessing_steps":[{"method":"normalize"}]},
			"llm_labeling":{"enabled":false,"include_keywords":true,"max_samples_per_cluster":10}}`,
	},
	{
		id:   "tmpl_density_hdbscan",
		name: "Density clustering (HDBSCAN)",
		description: "Finds dense groups of any shape with HDBSCAN on L2-normalised embeddings, without a number of clusters: a group " +
			"needs at least 10 members, and documents in no dense group are reported as noise rather than forced into a cluster.",
		category:     "density",
		tags:         []string{"hdbscan", "density", "noise", "outliers"},
		requirements: []string{"Collections with one embedding feature", "Enough documents for groups of at least 10 members (hundreds or more)"},
		useCases:     []string{"Find natural groups whose number is unknown", "Separate outliers from dense groups", "Spot near-duplicate content"},
		config: `{"cluster_type":"vector","vector_config":{"clustering_method":"hdbscan",
			"algorithm_params":{"min_cluster_size":10,"min_samples":5,"cluster_selection_method":"eom"},
			"preprocessing_steps":[{"method":"normalize"}]}}`,
	},
	{
		id:   "tmpl_hierarchical_kmeans",
		name: "Hierarchical topics (k-means tree)",
		description: "Splits the collection into 8 k-means clusters on L2-normalised embeddings, then splits every cluster of at least 20 " +
			"members again, two levels deep: broad themes with their sub-themes, each named by TF-IDF keywords.",
		category:     "hierarchical",
		tags:         []string{"kmeans", "hierarchical", "taxonomy", "topics"},
		requirements: []string{"Collections with one embedding feature", "At least 8 documents, and a few hundred for useful sub-clusters", "payload.text for the keywords and labels"},
		useCases:     []string{"Browse a large corpus from broad themes to sub-themes", "Draft a two-level taxonomy"},
		config: `{"cluster_type":"vector","vector_config":{"clustering_method":"kmeans",
			"algorithm_params":{"n_clusters":8,"random_state":42},
			"hierarchical":true,"max_hierarchy_depth":2,
			"preprocessing_steps":[{"method":"normalize"}]}}`,
	},
	{
		id:   "tmpl_large_scale_minibatch",
		name: "Large collections (mini-batch k-means)",
		description: "Clusters millions of documents into 50 groups with mini-batch k-means (batches of 4,096 documents) on L2-normalised " +
			"embeddings: a fraction of full k-means' time and memory for nearly the same clusters.",
		category:     "large_scale",
		tags:         []string{"minibatch_kmeans", "kmeans", "large_scale", "fast"},
		requirements: []string{"Collections with one embedding feature", "At least 50 documents (one per cluster); meant for 100,000 or more"},
		useCases:     []string{"Segment very large catalogues or corpora", "Recluster often on fresh data at low cost"},
		config: `{"cluster_type":"vector","vector_config":{"clustering_method":"minibatch_kmeans",
			"algorithm_params":{"n_clusters":50,"batch_size":4096,"random_state":42},
			"preprocessing_steps":[{"method":"normalize"}]}}`,
	},
}

var (
	systemOnce sync.Once
	systemList []store.Template
	systemErr  error
)

// systemTemplates returns the built-in templates, each configuration
// validated against CreateClusterRequest and completed with its defaults
// and effective algorithm parameters (as a cluster's stored definition).
func systemTemplates() ([]store.Template, error) {
	systemOnce.Do(func() {
		for _, d := range systemTemplateDefs {
			cfg, err := completeTemplateConfig(d.config)
			if err != nil {
				systemErr = fmt.Errorf("system template %s: %w", d.id, err)
				return
			}
			category := d.category
			systemList = append(systemList, store.Template{TemplateID: d.id, NamespaceID: store.SystemNamespace, Name: d.name,
				Description: d.description, Category: &category, Tags: d.tags, Scope: model.ScopeSystem, IsPublic: true, IsActive: true,
				Configuration: cfg, Requirements: d.requirements, UseCases: d.useCases, CreatedAt: systemTemplatesDate, UpdatedAt: systemTemplatesDate})
		}
	})
	return systemList, systemErr
}

// completeTemplateConfig validates a configuration as a cluster definition
// (with a placeholder collection) and returns it as it would be stored.
func completeTemplateConfig(config string) (json.RawMessage, error) {
	v, err := schema.Parse([]byte(config))
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("configuration is not an object")
	}
	obj["collection_ids"] = []any{"placeholder"}
	var req model.CreateClusterRequest
	if _, err := finish(model.CreateClusterRequestModel, obj, model.CreateClusterRequestModel.Validate(obj, schema.Path{"configuration"}), &req); err != nil {
		return nil, err
	}
	if vc := req.VectorConfig; vc != nil {
		p, err := effectiveParams(vc)
		if err != nil {
			return nil, err
		}
		vc.AlgorithmParams = p
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return templateConfig(raw)
}

// templateConfig is a stored cluster definition without the fields a
// template leaves to its clusters.
func templateConfig(definition json.RawMessage) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(definition, &obj); err != nil {
		return nil, err
	}
	for _, k := range []string{"collection_ids", "cluster_name", "description", "metadata"} {
		delete(obj, k)
	}
	return json.Marshal(obj)
}

// templateResponse renders a template as Mixpeek's BaseTemplateModel.
func templateResponse(t store.Template) model.TemplateResponse {
	out := model.TemplateResponse{TemplateID: t.TemplateID, TemplateType: model.TemplateTypeCluster, Scope: t.Scope, InternalID: t.NamespaceID,
		Name: t.Name, Description: t.Description, Category: t.Category, Tags: t.Tags, Configuration: t.Configuration, Mode: model.TemplateModeConfig,
		IsActive: t.IsActive, IsPublic: t.IsPublic, SourceResourceID: t.SourceResourceID, Requirements: t.Requirements, UseCases: t.UseCases,
		CreatedAt: model.Time{Time: t.CreatedAt}, UpdatedAt: model.Time{Time: t.UpdatedAt}}
	for _, l := range []*[]string{&out.Tags, &out.Requirements, &out.UseCases} {
		if *l == nil {
			*l = []string{}
		}
	}
	return out
}

// findTemplate finds a template the namespace sees: a built-in one, its
// own, or a public one.
func (s *Server) findTemplate(ctx context.Context, ns, id string) (store.Template, error) {
	system, err := systemTemplates()
	if err != nil {
		return store.Template{}, err
	}
	for _, t := range system {
		if t.TemplateID == id {
			return t, nil
		}
	}
	return s.cfg.Store.GetTemplate(ctx, ns, id)
}

// templateListBody is ListTemplatesRequest.
type templateListBody struct {
	Category *string           `json:"category"`
	Filters  json.RawMessage   `json:"filters"`
	IsActive bool              `json:"is_active"`
	Scope    *string           `json:"scope"`
	Search   *string           `json:"search"`
	Sort     map[string]string `json:"sort"`
	Tags     []string          `json:"tags"`
}

// listTemplates is POST /v1/templates/clusters: the built-in templates,
// the namespace's own and the public ones, by name unless sorted; every
// match up to 1,000 (total_count counts them all).
func (s *Server) listTemplates(c *gin.Context) error {
	v, ps, err := s.decode(c, model.ListTemplatesRequest, true)
	if err != nil {
		return err
	}
	o := schema.AsValues(v)
	if f, ok := o["filters"].(map[string]any); ok {
		ps = append(ps, store.CheckTemplateFilters(f, schema.Path{"body", "filters"})...)
	}
	if so, ok := o["sort"].(map[string]any); ok {
		at := schema.Path{"body", "sort"}
		for k := range so {
			if k != "field" && k != "direction" {
				ps = append(ps, schema.Problem{Loc: at.With(k), Msg: "Extra inputs are not permitted (sort takes field and direction)", Type: "extra_forbidden"})
			}
		}
		// An empty sort ({}) keeps the default order; a direction needs a field.
		if field, _ := so["field"].(string); field == "" {
			if _, dir := so["direction"]; dir {
				ps = append(ps, schema.Problem{Loc: at.With("field"), Msg: "Field required", Type: "missing"})
			}
		} else {
			dir, _ := so["direction"].(string)
			ps = append(ps, store.CheckSort(store.TemplateFilters, &store.Sort{Field: field, Direction: dir}, at)...)
		}
	}
	var body templateListBody
	if _, err := finish(model.ListTemplatesRequest, v, ps, &body); err != nil {
		return err
	}
	q := store.TemplateQuery{Query: store.Query{Limit: maxLimit}, Category: body.Category, Scope: body.Scope, IsActive: body.IsActive, Tags: body.Tags}
	if !isNull(body.Filters) {
		q.Filters = body.Filters
	}
	if body.Search != nil {
		q.Search = *body.Search
	}
	if body.Sort["field"] != "" {
		q.Sort = &store.Sort{Field: body.Sort["field"], Direction: body.Sort["direction"]}
	}
	system, err := systemTemplates()
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.ListTemplates(c.Request.Context(), nsOf(c).ID, system, q)
	if err != nil {
		return err
	}
	out := model.ListTemplatesResponse{Results: make([]model.TemplateResponse, len(page.Results)), TotalCount: page.Total}
	for i, t := range page.Results {
		out.Results[i] = templateResponse(t)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) getTemplate(c *gin.Context) error {
	t, err := s.findTemplate(c.Request.Context(), nsOf(c).ID, c.Param("template_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, templateResponse(t))
	return nil
}

// createTemplateRequest is CreateTemplateFromResourceRequest.
type createTemplateRequest struct {
	TemplateName string   `json:"template_name"`
	Description  *string  `json:"description"`
	Category     *string  `json:"category"`
	Tags         []string `json:"tags"`
	IsPublic     bool     `json:"is_public"`
	Scope        string   `json:"scope"`
}

// createTemplate is POST /v1/templates/clusters/from-cluster/{cluster_id}:
// a template of the cluster's definition (201). Scope system is a 403
// (built-in templates only); scope public makes the template public.
func (s *Server) createTemplate(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	var req createTemplateRequest
	if _, err := s.bind(c, model.CreateTemplateFromResourceRequest, &req, false); err != nil {
		return err
	}
	if req.Scope == model.ScopeSystem {
		return &Error{Status: http.StatusForbidden, Code: "system_scope_forbidden",
			Message: "system templates are built into clusterd; create organization, user or public templates", Details: map[string]any{"scope": req.Scope}}
	}
	cl, err := s.clusterOf(c)
	if err != nil {
		return err
	}
	cfg, err := clusterConfig(cl)
	if err != nil {
		return err
	}
	config, err := templateConfig(cl.Config)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", cl.ID, err)
	}
	desc := fmt.Sprintf("Configuration of cluster %s", cl.ID)
	if cl.Name != "" {
		desc += " (" + cl.Name + ")"
	}
	if req.Description != nil && strings.TrimSpace(*req.Description) != "" {
		desc = *req.Description
	}
	source := cl.ID
	t, err := s.cfg.Store.CreateTemplate(ctx, store.Template{TemplateID: ids.New("tmpl_"), NamespaceID: ns.ID, Name: req.TemplateName,
		Description: desc, Category: req.Category, Tags: req.Tags, Scope: req.Scope, IsPublic: req.IsPublic || req.Scope == model.ScopePublic,
		IsActive: true, Configuration: config, Requirements: templateRequirements(cfg), UseCases: []string{}, SourceResourceID: &source})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, model.CreateTemplateFromResourceResponse{TemplateID: t.TemplateID, TemplateName: t.Name,
		TemplateType: model.TemplateTypeCluster, Scope: t.Scope, SourceResourceID: source, CreatedAt: model.Time{Time: t.CreatedAt}})
	return nil
}

// templateRequirements says what collections a configuration needs.
func templateRequirements(cfg model.CreateClusterRequest) []string {
	out := []string{}
	if vc := cfg.VectorConfig; vc != nil {
		if f := vc.Features(); len(f) > 0 {
			out = append(out, "Collections with the features "+strings.Join(f, ", "))
		} else if cfg.AttributeConfig == nil {
			out = append(out, "Collections with one embedding feature")
		}
	}
	if ac := cfg.AttributeConfig; ac != nil {
		out = append(out, "Documents with the payload attributes "+strings.Join(ac.Attributes, ", "))
	}
	if !isNull(cfg.Filters) {
		out = append(out, "Documents matching the template's filters")
	}
	if l := cfg.LLMLabeling; l != nil && l.Enabled {
		out = append(out, "An LLM provider configured on the server (llm_labeling is enabled)")
	}
	return out
}

// instantiateRequest is InstantiateClusterTemplateRequest.
type instantiateRequest struct {
	ClusterName   string   `json:"cluster_name"`
	CollectionIDs []string `json:"collection_ids"`
	Description   *string  `json:"description"`
}

// instantiateTemplate is POST /v1/templates/clusters/{template_id}/
// instantiate: a cluster made of the template's configuration with the
// request's name, collections and description (the template's description
// when none), validated and stored exactly as POST /v1/clusters (201). A
// problem of the configuration itself (the template no longer validates,
// or its features are not in the collections) is located under
// ["template", "configuration", …].
func (s *Server) instantiateTemplate(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	var req instantiateRequest
	if _, err := s.bind(c, model.InstantiateClusterTemplateRequest, &req, false); err != nil {
		return err
	}
	t, err := s.findTemplate(ctx, ns.ID, c.Param("template_id"))
	if err != nil {
		return err
	}
	v, err := schema.Parse(t.Configuration)
	if err != nil {
		return fmt.Errorf("template %s: %w", t.TemplateID, err)
	}
	def, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("template %s: configuration is not an object", t.TemplateID)
	}
	refs := make([]any, len(req.CollectionIDs))
	for i, id := range req.CollectionIDs {
		refs[i] = id
	}
	def["collection_ids"], def["cluster_name"], def["description"] = refs, req.ClusterName, t.Description
	if req.Description != nil {
		def["description"] = *req.Description
	}
	at := schema.Path{"body"}
	ps := model.CreateClusterRequestModel.Validate(def, at)
	more, err := s.checkCluster(ctx, ns.ID, def, at)
	if err != nil {
		return err
	}
	ps = append(ps, more...)
	for i, p := range ps {
		if len(p.Loc) > 1 {
			switch p.Loc[1] {
			case "collection_ids", "cluster_name", "description":
				continue
			}
			ps[i].Loc = append(schema.Path{"template", "configuration"}, p.Loc[1:]...)
		}
	}
	var creq model.CreateClusterRequest
	if _, err := finish(model.CreateClusterRequestModel, def, ps, &creq); err != nil {
		return err
	}
	cl, err := s.storeCluster(ctx, ns.ID, &creq)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, model.InstantiatedClusterTemplateResponse{ClusterID: cl.ID, ClusterName: cl.Name, TemplateID: t.TemplateID,
		CreatedAt: model.Time{Time: cl.CreatedAt}, Status: "created"})
	return nil
}
