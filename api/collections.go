package api

import (
	"encoding/json"
	"math"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
)

// CreateCollectionRequest is POST /v1/collections.
type CreateCollectionRequest struct {
	CollectionName string          `json:"collection_name"`
	Description    *string         `json:"description"`
	Metadata       json.RawMessage `json:"metadata"`
}

// nameSchema is a name or id a client chooses and later writes in a URL
// path: no "/" (a path separator even when escaped, for many proxies and
// clients) and no control characters.
func nameSchema(maxLen int) *schema.Schema {
	return schema.Str().MinLen(1).MaxLen(maxLen).Matching(model.PathSafe)
}

// CreateCollectionRequestModel declares CreateCollectionRequest.
var CreateCollectionRequestModel = schema.Model("CreateCollectionRequest", "A collection of documents.",
	schema.F("collection_name", nameSchema(model.MaxNameLength)).Req().Describe("Unique in the namespace; no '/' or control characters"),
	schema.F("description", schema.Str().MaxLen(4096).OrNull()),
	schema.F("metadata", schema.FreeObject().OrNull()),
)

// CollectionResponse is a collection as the API returns it.
type CollectionResponse struct {
	CollectionID   string            `json:"collection_id"`
	CollectionName string            `json:"collection_name"`
	Description    *string           `json:"description"`
	Metadata       json.RawMessage   `json:"metadata"`
	NamespaceID    string            `json:"namespace_id"`
	DocumentCount  int64             `json:"document_count"`
	Features       []FeatureResponse `json:"features"`
	CreatedAt      model.Time        `json:"created_at"`
	UpdatedAt      model.Time        `json:"updated_at"`
}

// FeatureResponse describes one vector feature of a collection.
type FeatureResponse struct {
	Name          string `json:"name"`
	Dimension     int    `json:"dimension"`
	DocumentCount int64  `json:"document_count"`
}

func collectionResponse(c store.Collection) CollectionResponse {
	r := CollectionResponse{CollectionID: c.ID, CollectionName: c.Name, Metadata: orNull(c.Metadata), NamespaceID: c.NamespaceID,
		DocumentCount: c.DocumentCount, Features: []FeatureResponse{}, CreatedAt: model.Time{Time: c.CreatedAt}, UpdatedAt: model.Time{Time: c.UpdatedAt}}
	if c.Description != "" {
		r.Description = &c.Description
	}
	for _, f := range c.Features {
		r.Features = append(r.Features, FeatureResponse{Name: f.Name, Dimension: f.Dim, DocumentCount: f.Count})
	}
	return r
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func (s *Server) createCollection(c *gin.Context) error {
	var req CreateCollectionRequest
	if _, err := s.bind(c, CreateCollectionRequestModel, &req, false); err != nil {
		return err
	}
	var desc string
	if req.Description != nil {
		desc = *req.Description
	}
	meta := req.Metadata
	if isNull(meta) {
		meta = nil
	}
	col, err := s.cfg.Store.CreateCollection(c.Request.Context(), nsOf(c).ID, req.CollectionName, desc, meta)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, collectionResponse(col))
	return nil
}

func (s *Server) getCollection(c *gin.Context) error {
	col, err := s.cfg.Store.GetCollection(c.Request.Context(), nsOf(c).ID, c.Param("collection_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, collectionResponse(col))
	return nil
}

func (s *Server) deleteCollection(c *gin.Context) error {
	id := c.Param("collection_id")
	if err := s.cfg.Store.DeleteCollection(c.Request.Context(), nsOf(c).ID, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "collection_id": id})
	return nil
}

func (s *Server) listCollections(c *gin.Context) error {
	q, err := s.listQuery(c, model.ListRequest, store.CollectionFilters)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.ListCollections(c.Request.Context(), nsOf(c).ID, q)
	if err != nil {
		return err
	}
	out := make([]CollectionResponse, len(page.Results))
	for i, col := range page.Results {
		out[i] = collectionResponse(col)
	}
	writeList(c, q, out, page.Total, nil)
	return nil
}

// DocumentIn is one document of a batch upsert.
type DocumentIn struct {
	DocumentID string               `json:"document_id"`
	Features   map[string][]float32 `json:"features"`
	Payload    json.RawMessage      `json:"payload"`
}

// UpsertDocumentsRequest is POST /v1/collections/{id}/documents.
type UpsertDocumentsRequest struct {
	Documents []DocumentIn `json:"documents"`
}

// MaxDocumentIDLength bounds document ids.
const MaxDocumentIDLength = 512

// float32Schema is a finite number within float32's range.
func float32Schema() *schema.Schema {
	return schema.Num().Min(-math.MaxFloat32).Max(math.MaxFloat32)
}

// DocumentModel declares DocumentIn.
var DocumentModel = schema.Model("DocumentInput", "A document: its id, vectors by feature and payload.",
	schema.F("document_id", nameSchema(MaxDocumentIDLength)).Describe("Generated when absent; no '/' or control characters"),
	schema.F("features", schema.MapOf(schema.List(float32Schema()).MinLen(1)).OrNull()).Describe("Vectors by feature name"),
	schema.F("payload", schema.FreeObject().OrNull()),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	if len(o.Obj("features")) == 0 && !o.Has("payload") {
		return schema.Problems{{Loc: at, Msg: "a document needs features or a payload", Type: "value_error"}}
	}
	return nil
})

// UpsertDocumentsRequestModel declares UpsertDocumentsRequest.
var UpsertDocumentsRequestModel = schema.Model("UpsertDocumentsRequest", "Documents inserted or updated together.",
	schema.F("documents", schema.List(DocumentModel).MinLen(1).MaxLen(100000)).Req(),
)

// DocumentResponse is a document as the API returns it.
type DocumentResponse struct {
	DocumentID   string               `json:"document_id"`
	CollectionID string               `json:"collection_id"`
	Features     map[string][]float32 `json:"features,omitempty"`
	FeatureNames []string             `json:"feature_names"`
	Payload      json.RawMessage      `json:"payload"`
	CreatedAt    model.Time           `json:"created_at"`
	UpdatedAt    model.Time           `json:"updated_at"`
}

func documentResponse(colID string, d store.Document) DocumentResponse {
	names := d.Names
	if names == nil {
		names = []string{}
	}
	return DocumentResponse{DocumentID: d.ID, CollectionID: colID, Features: d.Features, FeatureNames: names, Payload: orNull(d.Payload),
		CreatedAt: model.Time{Time: d.CreatedAt}, UpdatedAt: model.Time{Time: d.UpdatedAt}}
}

func (s *Server) upsertDocuments(c *gin.Context) error {
	ctx := c.Request.Context()
	col, err := s.cfg.Store.GetCollection(ctx, nsOf(c).ID, c.Param("collection_id"))
	if err != nil {
		return err
	}
	var req UpsertDocumentsRequest
	if _, err := s.bind(c, UpsertDocumentsRequestModel, &req, false); err != nil {
		return err
	}
	docs := make([]store.DocumentInput, len(req.Documents))
	var bytes int
	for i, d := range req.Documents {
		docs[i] = store.DocumentInput{ID: d.DocumentID, Features: d.Features, Payload: d.Payload}
		for _, v := range d.Features {
			bytes += 4 * len(v)
		}
	}
	st, err := s.cfg.Store.Upsert(ctx, col.ID, &store.SliceSource{Docs: docs})
	if err != nil {
		return err
	}
	s.cfg.Metrics.ImportedBytes.Add(float64(bytes))
	c.JSON(http.StatusOK, gin.H{"collection_id": col.ID, "inserted": st.Inserted, "updated": st.Updated, "processed": len(docs)})
	return nil
}

func (s *Server) getDocument(c *gin.Context) error {
	ctx := c.Request.Context()
	col, err := s.cfg.Store.GetCollection(ctx, nsOf(c).ID, c.Param("collection_id"))
	if err != nil {
		return err
	}
	d, err := s.cfg.Store.GetDocument(ctx, col.ID, c.Param("document_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, documentResponse(col.ID, d))
	return nil
}

func (s *Server) listDocuments(c *gin.Context) error {
	ctx := c.Request.Context()
	col, err := s.cfg.Store.GetCollection(ctx, nsOf(c).ID, c.Param("collection_id"))
	if err != nil {
		return err
	}
	q, err := s.listQuery(c, model.ListRequest, store.DocumentFilters)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.ListDocuments(ctx, col.ID, q)
	if err != nil {
		return err
	}
	out := make([]DocumentResponse, len(page.Results))
	for i, d := range page.Results {
		out[i] = documentResponse(col.ID, d)
	}
	writeList(c, q, out, page.Total, nil)
	return nil
}
