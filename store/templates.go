package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/clusterd/clusterd/schema"
)

// Template is a cluster template: a cluster definition without its
// collections, name, description and metadata, to create clusters from.
// NamespaceID is the owner's namespace ("system" for the built-in ones).
type Template struct {
	TemplateID       string
	NamespaceID      string
	Name             string
	Description      string
	Category         *string
	Tags             []string
	Scope            string // system, organization, user, public
	IsPublic         bool   // visible to every namespace
	IsActive         bool
	Configuration    json.RawMessage
	Requirements     []string
	UseCases         []string
	SourceResourceID *string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// SystemNamespace is the NamespaceID of the built-in templates.
const SystemNamespace = "system"

const templateCols = `template_id, namespace_id, name, description, category, tags, scope, is_public, is_active, configuration,
	requirements, use_cases, source_resource_id, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (Template, error) {
	var t Template
	var category, source sql.NullString
	var tags, reqs, uses, config string
	var public, active int
	var created, updated int64
	if err := row.Scan(&t.TemplateID, &t.NamespaceID, &t.Name, &t.Description, &category, &tags, &t.Scope, &public, &active, &config,
		&reqs, &uses, &source, &created, &updated); err != nil {
		return t, err
	}
	if category.Valid {
		t.Category = &category.String
	}
	if source.Valid {
		t.SourceResourceID = &source.String
	}
	for _, f := range []struct {
		raw string
		dst *[]string
	}{{tags, &t.Tags}, {reqs, &t.Requirements}, {uses, &t.UseCases}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return t, fmt.Errorf("store: template %s: %w", t.TemplateID, err)
		}
	}
	t.IsPublic, t.IsActive, t.Configuration = public != 0, active != 0, json.RawMessage(config)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, nil
}

// templateRow is t as the columns of templateCols, in order.
func templateRow(t Template) ([]any, error) {
	enc := func(v []string) (string, error) {
		if v == nil {
			v = []string{}
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	tags, err := enc(t.Tags)
	if err != nil {
		return nil, err
	}
	reqs, err := enc(t.Requirements)
	if err != nil {
		return nil, err
	}
	uses, err := enc(t.UseCases)
	if err != nil {
		return nil, err
	}
	var category, source any
	if t.Category != nil {
		category = *t.Category
	}
	if t.SourceResourceID != nil {
		source = *t.SourceResourceID
	}
	return []any{t.TemplateID, t.NamespaceID, t.Name, t.Description, category, tags, t.Scope, boolInt(t.IsPublic), boolInt(t.IsActive),
		string(t.Configuration), reqs, uses, source, micros(t.CreatedAt), micros(t.UpdatedAt)}, nil
}

// CreateTemplate stores a template (its CreatedAt and UpdatedAt are set
// to now).
func (s *Store) CreateTemplate(ctx context.Context, t Template) (Template, error) {
	now := s.now()
	t.CreatedAt, t.UpdatedAt = now, now
	row, err := templateRow(t)
	if err != nil {
		return t, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cluster_templates (`+templateCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row...)
		return err
	})
	return t, err
}

// GetTemplate returns a stored template the namespace sees: its own, or a
// public one of any namespace.
func (s *Store) GetTemplate(ctx context.Context, ns, id string) (Template, error) {
	t, err := scanTemplate(s.r.QueryRowContext(ctx, `SELECT `+templateCols+` FROM cluster_templates WHERE template_id = ? AND (namespace_id = ? OR is_public = 1)`, id, ns))
	if errors.Is(err, sql.ErrNoRows) {
		return t, &NotFoundError{Resource: "template", ID: id}
	}
	return t, err
}

// templateFields are the fields template filters and sorts name.
// internal_id is the owner's namespace id ("system" for the built-in
// templates). tags is the template's JSON list of tags, so a condition on it
// holds when one of the tags matches (eq "has the tag", ne "lacks it", in,
// nin, contains within one tag), as for any list inside a JSON column;
// is_public and is_active are JSON booleans.
var templateFields = fieldMap{
	fixed: map[string]field{
		"template_id":        column(textField, "template_id"),
		"name":               column(textField, "name"),
		"description":        column(textField, "description"),
		"category":           column(textField, "category"),
		"scope":              column(textField, "scope"),
		"tags":               jsonAt("tags", nil),
		"is_public":          jsonAt("(CASE WHEN is_public <> 0 THEN 'true' ELSE 'false' END)", nil),
		"is_active":          jsonAt("(CASE WHEN is_active <> 0 THEN 'true' ELSE 'false' END)", nil),
		"internal_id":        column(textField, "namespace_id"),
		"source_resource_id": column(textField, "source_resource_id"),
		"created_at":         column(timeField, "created_at"),
		"updated_at":         column(timeField, "updated_at"),
		"template_type":      column(textField, "'cluster'"),
		"mode":               column(textField, "'config'"),
	},
}

// TemplateFilters is the filter kind of the template list.
var TemplateFilters = FilterKind{"templates", templateFields}

// TemplateQuery is a template list: Query's filters, sort and search (in
// template_id, name, description and tags) and ListTemplatesRequest's
// fields. A filter on tags holds for a template's list of tags as a whole:
// eq "x" means "has the tag x", ne "x" "lacks it", in [a, b] "has one of
// them", nin "has none of them"; contains, starts_with and ends_with match
// within one tag. Like every contains (SQL LIKE), tag filters ignore ASCII
// case; Tags (every one required) compares exactly.
type TemplateQuery struct {
	Query
	Category *string
	Scope    *string
	IsActive bool
	Tags     []string
}

// ListTemplates lists the templates a namespace sees: builtin (the system
// templates, not stored), its own and every public one; by name unless
// sorted.
func (s *Store) ListTemplates(ctx context.Context, ns string, builtin []Template, q TemplateQuery) (Page[Template], error) {
	where, args, err := whereClause(q.Filters, templateFields, s.d)
	if err != nil {
		return Page[Template]{}, err
	}
	order, err := orderBy(q.Sort, templateFields, Sort{Field: "name", Direction: "asc"}, "template_id", s.d)
	if err != nil {
		return Page[Template]{}, err
	}
	// The built-in templates join the stored ones as rows of a VALUES list,
	// so one query filters, sorts and pages them all.
	with := `SELECT ` + templateCols + ` FROM cluster_templates WHERE namespace_id = ? OR is_public = 1`
	all := []any{ns}
	for _, t := range builtin {
		row, err := templateRow(t)
		if err != nil {
			return Page[Template]{}, err
		}
		with += ` UNION ALL SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`
		all = append(all, row...)
	}
	search, sargs := searchClause(q.Search, []string{"template_id", "name", "description", "tags"})
	cond := fmt.Sprintf("(%s) AND %s AND is_active = ?", where, search)
	all = append(append(append(all, args...), sargs...), boolInt(q.IsActive))
	if q.Category != nil {
		cond += " AND category = ?"
		all = append(all, *q.Category)
	}
	if q.Scope != nil {
		cond += " AND scope = ?"
		all = append(all, *q.Scope)
	}
	for _, tag := range q.Tags {
		cond += " AND EXISTS (SELECT 1 FROM json_each(t.tags) WHERE value = ?)"
		all = append(all, tag)
	}
	from := `WITH t (` + templateCols + `) AS (` + with + `) SELECT `
	page := Page[Template]{Results: []Template{}}
	if err := s.r.QueryRowContext(ctx, from+`COUNT(*) FROM t WHERE `+cond, all...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := s.r.QueryContext(ctx, from+templateCols+` FROM t WHERE `+cond+` `+order+` LIMIT ? OFFSET ?`, append(all, q.Limit, q.Offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return page, err
		}
		page.Results = append(page.Results, t)
	}
	return page, rows.Err()
}

// CheckTemplateFilters is CheckFilters for the template list.
func CheckTemplateFilters(filters map[string]any, at schema.Path) schema.Problems {
	return CheckFilters(TemplateFilters, filters, at)
}
