package model

import "github.com/clusterd/clusterd/schema"

// The filter language of every list and of a cluster's filters: Mixpeek's
// LogicalOperator (AND, OR, NOT, nested, with case_sensitive and the
// shorthand {"field": value}) over FilterCondition. Which fields a list
// filters and sorts on, and what each operator does, is the store's
// (store.CheckFilters and the lists; see docs/API.md); this is the shape.

// FilterOperators are Mixpeek's FilterOperator values.
var FilterOperators = []string{"eq", "ne", "gt", "lt", "gte", "lte", "in", "nin", "contains", "starts_with", "ends_with",
	"regex", "exists", "is_null", "text"}

// FilterOperator is Mixpeek's FilterOperator.
var FilterOperator = schema.Enum(FilterOperators...).Named("FilterOperator")

// DynamicValue is Mixpeek's DynamicValue (a value resolved from a runtime
// query request; clusterd has none, so the store refuses it).
var DynamicValue = schema.Model("DynamicValue", "A value resolved from the runtime query request.",
	schema.F("type", schema.Literal("dynamic")).Def("dynamic"),
	schema.F("field", schema.Str()).Req(),
)

// FilterCondition is Mixpeek's FilterCondition.
var FilterCondition = schema.Model("FilterCondition", "One condition: field, operator, value.",
	schema.F("field", schema.Str().MinLen(1).MaxLen(1024)).Req(),
	schema.F("operator", FilterOperator).Def("eq"),
	schema.F("value", schema.OneOf(DynamicValue, schema.AnyValue())).Req(),
)

// LogicalOperator is Mixpeek's LogicalOperator.
var LogicalOperator = &schema.Schema{Name: "LogicalOperator-Input", Kind: schema.Object, Extra: schema.AnyValue(),
	Doc: "AND, OR and NOT lists of conditions or nested operators; any other key is the shorthand {\"field\": value} for eq."}

func init() {
	// An item with a "field" key is a condition, any other object a nested
	// operator (whose unknown keys would otherwise read as shorthands).
	item := &schema.Schema{OneOf: []*schema.Schema{LogicalOperator, FilterCondition}, Pick: func(v any) *schema.Schema {
		if obj, ok := v.(map[string]any); ok {
			if _, cond := obj["field"]; cond {
				return FilterCondition
			}
		}
		return LogicalOperator
	}}
	list := schema.List(item).OrNull()
	LogicalOperator.Fields = []*schema.Field{
		schema.F("AND", list).Describe("Every item must hold"),
		schema.F("OR", list).Describe("At least one item must hold"),
		schema.F("NOT", list).Describe("No item may hold"),
		schema.F("case_sensitive", schema.Bool().OrNull()).Def(false).
			Describe("Compare strings with their case (eq, ne, in, nin, contains, starts_with, ends_with, regex, text); null inherits the enclosing operator's"),
	}
}

// SortDirection is Mixpeek's SortDirection.
var SortDirection = schema.Enum("asc", "desc").Named("SortDirection")

// SortOption is Mixpeek's SortOption.
var SortOption = schema.Model("SortOption", "Sort by one field (dot paths for nested fields).",
	schema.F("field", schema.Str().MinLen(1).MaxLen(1024)).Req(),
	schema.F("direction", SortDirection).Def("asc"),
)

func listFields() []*schema.Field {
	return []*schema.Field{
		schema.F("filters", nullable(LogicalOperator)).Def(nil),
		schema.F("sort", nullable(SortOption)).Def(nil),
		schema.F("search", schema.Str().MaxLen(1000).OrNull()).Def(nil).Describe("Case-insensitive text matched in the list's searchable fields"),
	}
}

// ListClustersRequest is Mixpeek's ListClustersRequest.
var ListClustersRequest = schema.Model("ListClustersRequest", "Filter, sort and search clusters.", listFields()...)

// ListClusterExecutionsRequest is Mixpeek's ListClusterExecutionsRequest.
var ListClusterExecutionsRequest = schema.Model("ListClusterExecutionsRequest", "Filter, sort and search a cluster's executions.", listFields()...)

// ListRequest is the body of clusterd's own lists (collections, documents).
var ListRequest = schema.Model("ListRequest", "Filter, sort and search.", listFields()...)

// TaskStatuses are Mixpeek's TaskStatusEnum values.
var TaskStatuses = []string{"PENDING", "IN_PROGRESS", "PROCESSING", "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED",
	"UNKNOWN", "SKIPPED", "DRAFT", "ACTIVE", "ARCHIVED", "SUSPENDED"}

// TaskStatusEnum is Mixpeek's TaskStatusEnum.
var TaskStatusEnum = schema.Enum(TaskStatuses...).Named("TaskStatusEnum")

// TaskTypes are Mixpeek's TaskType values (clusterd's tasks are all
// engine_cluster_build).
var TaskTypes = []string{"api_namespaces_create", "api_namespaces_delete", "api_namespaces_migrations_run", "api_buckets_objects_create",
	"api_buckets_delete", "api_buckets_batches_process", "api_buckets_batches_submit", "api_buckets_uploads_create",
	"api_buckets_uploads_confirm", "api_buckets_uploads_batch_confirm", "api_collections_documents_create",
	"api_collections_extraction_artifacts", "api_taxonomies_create", "api_taxonomies_execute", "api_taxonomies_materialize",
	"api_evaluations_run", "api_evaluations_dataset_create", "engine_feature_extractor_run", "engine_inference_run",
	"engine_object_processing", TaskTypeClusterBuild, "thumbnail", "video_segment", "audio_segment", "materialize"}

// TaskTypeEnum is Mixpeek's TaskType.
var TaskTypeEnum = schema.Enum(TaskTypes...).Named("TaskType")

// ListTasksRequest is Mixpeek's ListTasksRequest.
var ListTasksRequest = schema.Model("ListTasksRequest", "Filter, sort and search tasks.",
	append(listFields(),
		schema.F("status", nullable(TaskStatusEnum)).Def(nil),
		schema.F("task_type", nullable(TaskTypeEnum)).Def(nil),
	)...)

// TemplateScope is Mixpeek's TemplateScope.
var TemplateScope = schema.Enum("system", "organization", "user", "public").Named("TemplateScope")

// ListTemplatesRequest is Mixpeek's ListTemplatesRequest.
var ListTemplatesRequest = schema.Model("ListTemplatesRequest", "Filter and search cluster templates.",
	schema.F("category", schema.Str().MaxLen(MaxNameLength).OrNull()).Def(nil),
	schema.F("filters", schema.FreeObject().OrNull()).Def(nil).Describe(`{"AND": [{"field": …, "operator": …, "value": …}]} over the template's fields`),
	schema.F("is_active", schema.Bool()).Def(true),
	schema.F("scope", nullable(TemplateScope)).Def(nil),
	schema.F("search", schema.Str().MaxLen(1000).OrNull()).Def(nil),
	schema.F("sort", schema.MapOf(schema.Str()).OrNull()).Def(nil).Describe(`{"field": "name", "direction": "asc"}`),
	schema.F("tags", schema.List(schema.Str()).MaxLen(64).OrNull()).Def(nil).Describe("Templates must have every tag"),
)

// CreateTemplateFromResourceRequest is Mixpeek's request of the same name.
var CreateTemplateFromResourceRequest = schema.Model("CreateTemplateFromResourceRequest", "Make a template of a cluster's configuration.",
	schema.F("template_name", schema.Str().MinLen(1).MaxLen(100)).Req(),
	schema.F("description", schema.Str().MaxLen(1000).OrNull()).Def(nil),
	schema.F("category", schema.Str().MaxLen(50).OrNull()).Def(nil),
	schema.F("tags", schema.List(schema.Str().MaxLen(MaxNameLength)).MaxLen(64)).Def([]any{}),
	schema.F("is_public", schema.Bool()).Def(false),
	schema.F("scope", TemplateScope).Def("organization"),
)

// InstantiateClusterTemplateRequest is Mixpeek's request of the same name.
var InstantiateClusterTemplateRequest = schema.Model("InstantiateClusterTemplateRequest", "Create a cluster from a template.",
	schema.F("cluster_name", schema.Str().MinLen(1).MaxLen(100)).Req(),
	schema.F("collection_ids", schema.List(schema.Str().MinLen(1).MaxLen(MaxNameLength)).MinLen(1).MaxLen(MaxCollections)).Req(),
	schema.F("description", schema.Str().MaxLen(1000).OrNull()).Def(nil),
)
