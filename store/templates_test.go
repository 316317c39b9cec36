package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/schema"
)

func strp(s string) *string { return &s }

// TestTemplateList: visibility (own, public, built-in), the request's
// category/scope/is_active/tags, search, filters with the tag rules, and
// sort, over stored and built-in templates together.
func TestTemplateList(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		builtin := []Template{
			{TemplateID: "tmpl_sys_topics", NamespaceID: SystemNamespace, Name: "Topic discovery", Description: "k-means topics",
				Category: strp("topic_discovery"), Tags: []string{"kmeans", "text"}, Scope: "system", IsPublic: true, IsActive: true, Configuration: json.RawMessage(`{}`)},
			{TemplateID: "tmpl_sys_density", NamespaceID: SystemNamespace, Name: "Density", Description: "HDBSCAN",
				Category: strp("density"), Tags: []string{"hdbscan"}, Scope: "system", IsPublic: true, IsActive: true, Configuration: json.RawMessage(`{}`)},
		}
		add := func(id, ns, name string, tags []string, public bool, scope string) {
			t.Helper()
			if _, err := s.CreateTemplate(ctx, Template{TemplateID: id, NamespaceID: ns, Name: name, Description: "d " + name, Tags: tags,
				Scope: scope, IsPublic: public, IsActive: true, Configuration: json.RawMessage(`{"cluster_type":"vector"}`)}); err != nil {
				t.Fatal(err)
			}
		}
		add("tmpl_a_own", "ns_a", "Alpha", []string{"kmeans", "Products"}, false, "organization")
		add("tmpl_a_user", "ns_a", "Beta", []string{`quote"d`, "x"}, false, "user")
		add("tmpl_b_private", "ns_b", "Gamma", []string{"kmeans"}, false, "organization")
		add("tmpl_b_public", "ns_b", "Delta", []string{"shared", "kmeans"}, true, "public")

		list := func(q TemplateQuery) []string {
			t.Helper()
			if q.Limit == 0 {
				q.Limit = 100
			}
			page, err := s.ListTemplates(ctx, "ns_a", builtin, q)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, r := range page.Results {
				ids = append(ids, r.TemplateID)
			}
			if page.Total != len(ids) {
				t.Fatalf("total %d, %d results", page.Total, len(ids))
			}
			return ids
		}
		f := func(s string) Query { return Query{Filters: json.RawMessage(s)} }
		cases := []struct {
			name string
			q    TemplateQuery
			want []string
		}{
			{"visible by name", TemplateQuery{IsActive: true}, []string{"tmpl_a_own", "tmpl_a_user", "tmpl_b_public", "tmpl_sys_density", "tmpl_sys_topics"}},
			{"inactive", TemplateQuery{IsActive: false}, []string{}},
			{"scope", TemplateQuery{IsActive: true, Scope: strp("system")}, []string{"tmpl_sys_density", "tmpl_sys_topics"}},
			{"category", TemplateQuery{IsActive: true, Category: strp("density")}, []string{"tmpl_sys_density"}},
			{"all tags", TemplateQuery{IsActive: true, Tags: []string{"kmeans", "shared"}}, []string{"tmpl_b_public"}},
			{"tags exact", TemplateQuery{IsActive: true, Tags: []string{"kmean"}}, []string{}},
			{"search name", TemplateQuery{IsActive: true, Query: Query{Search: "TOPIC"}}, []string{"tmpl_sys_topics"}},
			{"search tag", TemplateQuery{IsActive: true, Query: Query{Search: "products"}}, []string{"tmpl_a_own"}},
			{"search id", TemplateQuery{IsActive: true, Query: Query{Search: "a_us"}}, []string{"tmpl_a_user"}},
			{"filter tag eq", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"eq","value":"kmeans"}]}`)},
				[]string{"tmpl_a_own", "tmpl_b_public", "tmpl_sys_topics"}},
			{"filter tag eq is whole", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"eq","value":"kmean"}]}`)}, []string{}},
			{"filter tag shorthand", TemplateQuery{IsActive: true, Query: f(`{"tags":"hdbscan"}`)}, []string{"tmpl_sys_density"}},
			{"filter tag shorthand with AND", TemplateQuery{IsActive: true, Query: f(`{"tags":"kmeans","AND":[{"field":"scope","value":"system"}]}`)}, []string{"tmpl_sys_topics"}},
			{"filter tag ne", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"ne","value":"kmeans"}]}`)},
				[]string{"tmpl_a_user", "tmpl_sys_density"}},
			{"filter tag in", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"in","value":["hdbscan","shared"]}]}`)},
				[]string{"tmpl_b_public", "tmpl_sys_density"}},
			{"filter tag in empty", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"in","value":[]}]}`)}, []string{}},
			{"filter tag nin", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"nin","value":["kmeans","x"]}]}`)},
				[]string{"tmpl_sys_density"}},
			{"filter tag quote", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","value":"quote\"d"}]}`)}, []string{"tmpl_a_user"}},
			{"filter tag starts_with", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"starts_with","value":"sha"}]}`)}, []string{"tmpl_b_public"}},
			{"filter tag ends_with", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"ends_with","value":"ucts"}]}`)}, []string{"tmpl_a_own"}},
			{"filter tag ends_with not prefix", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"tags","operator":"ends_with","value":"Prod"}]}`)}, []string{}},
			{"filter NOT tag", TemplateQuery{IsActive: true, Query: f(`{"NOT":[{"field":"tags","value":"kmeans"}]}`)}, []string{"tmpl_a_user", "tmpl_sys_density"}},
			{"filter category", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"category","operator":"eq","value":"topic_discovery"}]}`)}, []string{"tmpl_sys_topics"}},
			{"filter internal_id", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"internal_id","value":"ns_b"}]}`)}, []string{"tmpl_b_public"}},
			{"filter is_public", TemplateQuery{IsActive: true, Query: f(`{"AND":[{"field":"is_public","value":false}]}`)}, []string{"tmpl_a_own", "tmpl_a_user"}},
			{"sort desc", TemplateQuery{IsActive: true, Query: Query{Sort: &Sort{Field: "template_id", Direction: "desc"}}},
				[]string{"tmpl_sys_topics", "tmpl_sys_density", "tmpl_b_public", "tmpl_a_user", "tmpl_a_own"}},
		}
		for _, c := range cases {
			if got := list(c.q); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		page, err := s.ListTemplates(ctx, "ns_a", builtin, TemplateQuery{IsActive: true, Query: Query{Limit: 2, Offset: 1}})
		if err != nil || page.Total != 5 || len(page.Results) != 2 || page.Results[0].TemplateID != "tmpl_a_user" {
			t.Fatalf("paged: %+v %v", page, err)
		}
		got := page.Results[0]
		if got.NamespaceID != "ns_a" || got.Scope != "user" || !slices.Equal(got.Tags, []string{`quote"d`, "x"}) || got.Requirements == nil || got.CreatedAt.IsZero() {
			t.Fatalf("round trip: %+v", got)
		}
	})
}

func TestGetTemplateVisibility(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		for _, tt := range []Template{
			{TemplateID: "tmpl_private", NamespaceID: "ns_b", Name: "p", Description: "d", Scope: "organization", IsActive: true, Configuration: json.RawMessage(`{}`)},
			{TemplateID: "tmpl_public", NamespaceID: "ns_b", Name: "q", Description: "d", Scope: "public", IsPublic: true, IsActive: true, Configuration: json.RawMessage(`{}`)},
		} {
			if _, err := s.CreateTemplate(ctx, tt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.GetTemplate(ctx, "ns_a", "tmpl_private"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another namespace's private template: %v", err)
		}
		if _, err := s.GetTemplate(ctx, "ns_b", "tmpl_private"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetTemplate(ctx, "ns_a", "tmpl_public"); err != nil || got.NamespaceID != "ns_b" {
			t.Fatalf("public template: %+v %v", got, err)
		}
	})
}

func TestCheckTemplateFilters(t *testing.T) {
	at := schema.Path{"body", "filters"}
	cases := []struct {
		filters string
		loc     string
	}{
		{`{"AND":[{"field":"tags","operator":"in","value":"a"}]}`, `body.filters.AND.0.value`},
		{`{"AND":[{"field":"tags","operator":"in","value":["a",3]}]}`, `body.filters.AND.0.value.1`},
		{`{"AND":[{"field":"nope","value":"a"}]}`, `body.filters.AND.0.field`},
		{`{"AND":[{"field":"created_at","operator":"gt","value":"yesterday"}]}`, `body.filters.AND.0.value`},
		{`{"tags":[5]}`, `body.filters.tags`},
	}
	for _, c := range cases {
		var f map[string]any
		if err := json.Unmarshal([]byte(c.filters), &f); err != nil {
			t.Fatal(err)
		}
		ps := CheckTemplateFilters(f, at)
		if len(ps) != 1 || ps[0].Loc.String() != c.loc {
			t.Errorf("%s: %v, want one problem at %s", c.filters, ps, c.loc)
		}
	}
	var ok map[string]any
	json.Unmarshal([]byte(`{"AND":[{"field":"tags","operator":"contains","value":"a"},{"field":"scope","value":"system"}]}`), &ok)
	if ps := CheckTemplateFilters(ok, at); len(ps) != 0 {
		t.Fatalf("good filters: %v", ps)
	}
}
