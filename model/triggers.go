package model

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/triggers/schedule"
)

// This file declares Mixpeek's cluster trigger models (the
// /v1/clusters/triggers… operations of mixpeek-clusters-openapi-0.81.json;
// component names kept) and the schedule_config of each trigger type, which
// the contract leaves a free object described in words.

// Trigger types.
const (
	TriggerCron        = "cron"
	TriggerInterval    = "interval"
	TriggerEvent       = "event"
	TriggerConditional = "conditional"
)

// TriggerTypes are Mixpeek's TriggerType values.
var TriggerTypes = []string{TriggerCron, TriggerInterval, TriggerEvent, TriggerConditional}

// Trigger statuses. Only active triggers fire.
const (
	TriggerActive   = "active"
	TriggerPaused   = "paused"
	TriggerDisabled = "disabled"
	TriggerFailed   = "failed"
)

// TriggerStatuses are Mixpeek's TriggerStatus values.
var TriggerStatuses = []string{TriggerActive, TriggerPaused, TriggerDisabled, TriggerFailed}

// TriggerTypeEnum is Mixpeek's TriggerType.
var TriggerTypeEnum = schema.Enum(TriggerTypes...).Named("shared__clusters__triggers__models__TriggerType").
	Describe("cron: at the times of a cron expression; interval: every interval_seconds; event: after event_threshold documents are written to a collection; conditional: when a condition on the data or the latest run holds.")

// TriggerStatusEnum is Mixpeek's TriggerStatus.
var TriggerStatusEnum = schema.Enum(TriggerStatuses...).Named("shared__clusters__triggers__models__TriggerStatus").
	Describe("Only active triggers fire; paused, disabled and failed ones keep their configuration and do not fire.")

// Event types of event triggers.
const (
	EventDocumentsAdded   = "documents_added"   // documents with new ids
	EventDocumentsWritten = "documents_written" // every document written, new or updated
)

// Conditions of conditional triggers and their metrics.
const (
	ConditionDrift   = "drift"
	ConditionQuality = "quality"

	MetricCosineDrift      = "cosine_drift"
	MetricSilhouette       = "silhouette_score"
	MetricDaviesBouldin    = "davies_bouldin_index"
	MetricCalinskiHarabasz = "calinski_harabasz_score"
)

// ConditionMetrics lists each condition_type's metrics; the first is the
// default.
var ConditionMetrics = map[string][]string{
	ConditionDrift:   {MetricCosineDrift},
	ConditionQuality: {MetricSilhouette, MetricDaviesBouldin, MetricCalinskiHarabasz},
}

// LowerIsBetter reports whether a quality metric improves as it falls
// (Davies–Bouldin): such a metric "falls below" its threshold by rising
// above it.
func LowerIsBetter(metric string) bool { return metric == MetricDaviesBouldin }

// metricRange bounds each metric's threshold.
var metricRange = map[string][2]float64{
	MetricCosineDrift:      {0, 2},
	MetricSilhouette:       {-1, 1},
	MetricDaviesBouldin:    {0, 1e300},
	MetricCalinskiHarabasz: {0, 1e300},
}

// MaxScheduleSeconds bounds intervals, cooldowns and check intervals (ten
// years), so every schedule time stays representable.
const MaxScheduleSeconds = 10 * 365 * 24 * 3600

// CronScheduleConfig is a cron trigger's schedule_config.
var CronScheduleConfig = schema.Model("CronScheduleConfig", "When a cron trigger fires (clusterd's model of Mixpeek's free-form schedule_config).",
	schema.F("cron_expression", schema.Str().MinLen(1).MaxLen(256)).Req().
		Describe("Five fields (minute hour day-of-month month day-of-week) or @yearly, @monthly, @weekly, @daily, @hourly; Vixie cron's daylight-saving rules apply"),
	schema.F("timezone", schema.Str().MinLen(1).MaxLen(64)).Def("UTC").Describe("IANA time zone the expression is read in"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	expr, ok := o["cron_expression"].(string)
	if !ok || expr == "" {
		return nil
	}
	tz, tzOK := o["timezone"].(string)
	if _, present := o["timezone"]; !present {
		tz, tzOK = "UTC", true
	}
	if !tzOK {
		tz = "UTC" // its type problem is reported; the expression is still checked
	}
	_, err := schedule.ParseCron(expr, tz)
	return scheduleProblems(err, at, tzOK)
})

// scheduleProblems turns schedule.Errors into problems at their fields.
func scheduleProblems(err error, at schema.Path, withZone bool) schema.Problems {
	var ps schema.Problems
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	for _, e := range errs {
		var se *schedule.Error
		if errors.As(e, &se) && (se.Field != "timezone" || withZone) {
			ps = append(ps, schema.Problem{Loc: at.With(se.Field), Msg: se.Msg, Type: "value_error"})
		}
	}
	return ps
}

// IntervalScheduleConfig is an interval trigger's schedule_config.
var IntervalScheduleConfig = schema.Model("IntervalScheduleConfig", "How often an interval trigger fires.",
	schema.F("interval_seconds", schema.Int().Min(1).Max(MaxScheduleSeconds)).Req().Describe("Seconds between firings"),
	schema.F("start_immediately", schema.Bool()).Def(false).
		Describe("Fire when the trigger is created (true) or one interval later (false); the firings then follow every interval_seconds from that time"),
)

// EventScheduleConfig is an event trigger's schedule_config.
var EventScheduleConfig = schema.Model("EventScheduleConfig", "Which document writes an event trigger counts, and how many make it fire.",
	schema.F("event_type", schema.Enum(EventDocumentsAdded, EventDocumentsWritten)).Def(EventDocumentsAdded).
		Describe("documents_added counts documents with new ids; documents_written counts every document written (new or updated)"),
	schema.F("event_threshold", schema.Int().Min(1).Max(1e12)).Req().Describe("Fire when the counter reaches this many documents"),
	schema.F("collection_id", schema.Str().MinLen(1).MaxLen(MaxNameLength).OrNull()).Def(nil).
		Describe("Collection (id or name) whose writes are counted; null: the one collection the trigger clusters"),
	schema.F("cooldown_seconds", schema.Int().Min(0).Max(MaxScheduleSeconds)).Def(0).
		Describe("After firing, the trigger does not fire again for this long (the counter keeps counting)"),
)

// ConditionalScheduleConfig is a conditional trigger's schedule_config.
var ConditionalScheduleConfig = schema.Model("ConditionalScheduleConfig", "What a conditional trigger checks, and how often.",
	schema.F("condition_type", schema.Enum(ConditionDrift, ConditionQuality)).Req().
		Describe("drift: documents written since the last completed run are far from its centroids; quality: the last completed run's quality metric is worse than threshold"),
	schema.F("metric", schema.Str().OrNull()).Def(nil).
		Describe("drift: cosine_drift (default); quality: silhouette_score (default), davies_bouldin_index or calinski_harabasz_score"),
	schema.F("threshold", schema.Num()).Req().
		Describe("drift fires above it (cosine distance, 0–2); silhouette_score and calinski_harabasz_score fire below it, davies_bouldin_index above it"),
	schema.F("check_interval_seconds", schema.Int().Min(1).Max(MaxScheduleSeconds)).Def(3600).Describe("Seconds between checks"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	metrics, ok := ConditionMetrics[o.Str("condition_type")]
	if !ok {
		return nil
	}
	metric := metrics[0]
	if m, isStr := o["metric"].(string); isStr {
		if !contains(metrics, m) {
			return schema.Problems{{Loc: at.With("metric"), Type: "value_error",
				Msg: fmt.Sprintf("condition_type %s takes metric %s, not %q", o.Str("condition_type"), strings.Join(metrics, ", "), m)}}
		}
		metric = m
	}
	if th, ok := o.FloatOK("threshold"); ok {
		r := metricRange[metric]
		if th < r[0] || th > r[1] {
			msg := fmt.Sprintf("%s thresholds are between %g and %g", metric, r[0], r[1])
			if r[1] > 1e299 {
				msg = fmt.Sprintf("%s thresholds are at least %g", metric, r[0])
			}
			return schema.Problems{{Loc: at.With("threshold"), Type: "value_error", Msg: msg}}
		}
	}
	return nil
})

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ScheduleModel returns the schedule_config model of a trigger type (nil
// for an unknown type).
func ScheduleModel(triggerType string) *schema.Schema {
	switch triggerType {
	case TriggerCron:
		return CronScheduleConfig
	case TriggerInterval:
		return IntervalScheduleConfig
	case TriggerEvent:
		return EventScheduleConfig
	case TriggerConditional:
		return ConditionalScheduleConfig
	}
	return nil
}

// CompleteSchedule fills a validated schedule_config's defaults, the
// conditional metric included.
func CompleteSchedule(triggerType string, v any) map[string]any {
	out, _ := ScheduleModel(triggerType).Complete(v).(map[string]any)
	if triggerType == TriggerConditional && out["metric"] == nil {
		if ms, ok := ConditionMetrics[schema.AsValues(out).Str("condition_type")]; ok {
			out["metric"] = ms[0]
		}
	}
	return out
}

const scheduleConfigDoc = "Depends on trigger_type — cron: {cron_expression, timezone (default UTC)}; " +
	"interval: {interval_seconds, start_immediately (default false)}; " +
	"event: {event_type (documents_added | documents_written, default documents_added), event_threshold, collection_id (default: the trigger's one collection), cooldown_seconds (default 0)}; " +
	"conditional: {condition_type (drift | quality), metric, threshold, check_interval_seconds (default 3600)}. " +
	"Keys of another type are refused."

// TriggerExecutionConfig is Mixpeek's TriggerExecutionConfig: the
// collections and a flat config naming the algorithm and its parameters
// (see TranslateExecutionConfig for how it becomes a cluster definition).
var TriggerExecutionConfig = schema.Model("TriggerExecutionConfig", "Collections and clustering configuration a trigger runs.",
	schema.F("collection_ids", schema.List(schema.Str().MinLen(1).MaxLen(MaxNameLength)).MinLen(1).MaxLen(MaxCollections)).Req().
		Describe("Collections (ids or names) clustered together"),
	schema.F("config", schema.FreeObject()).Req().
		Describe("algorithm (or clustering_method: kmeans, hdbscan, dbscan, agglomerative — hierarchical is read as agglomerative — or minibatch_kmeans), "+
			"that algorithm's parameters as flat keys (n_clusters, min_cluster_size, …; min_cluster_size is accepted without effect by algorithms that have none), "+
			"and any VectorBasedConfig field (feature_uris, algorithm_params, sample_size, preprocessing_steps, …), filters and llm_labeling"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	cfg, ok := o["config"].(map[string]any)
	if !ok {
		return nil
	}
	req, ps, relocate := TranslateExecutionConfig(o["collection_ids"], cfg, at)
	if req == nil {
		return ps
	}
	var keep schema.Problems
	for _, p := range CreateClusterRequestModel.Validate(req, at) {
		if !hasPrefix(p.Loc, at.With("collection_ids")) { // the field's own problems are reported by the field
			keep = append(keep, p)
		}
	}
	return append(ps, relocate(keep)...)
})

func hasPrefix(p, prefix schema.Path) bool {
	if len(p) < len(prefix) {
		return false
	}
	for i := range prefix {
		if p[i] != prefix[i] {
			return false
		}
	}
	return true
}

// requestLevel are the config keys read as CreateClusterRequest fields
// (the others are VectorBasedConfig fields or algorithm parameters).
var requestLevel = map[string]bool{"filters": true, "llm_labeling": true}

// TranslateExecutionConfig turns an execution_config (at the path at) into
// the cluster definition its runs use: a CreateClusterRequest JSON object
// with collection_ids and a vector_config whose clustering_method is
// config's algorithm (or clustering_method; "hierarchical" is agglomerative),
// whose fields are config's VectorBasedConfig keys, and whose
// algorithm_params are config's remaining keys merged into any
// algorithm_params given. min_cluster_size is dropped for algorithms without
// it (Mixpeek's own k-means example sends it). filters and llm_labeling
// become the request's. Problems of the translation itself (a key given
// twice) come back in ps; req is nil only when config cannot become a
// cluster definition at all (attribute_based). relocate moves the problems
// of validating req back to the keys the client wrote.
func TranslateExecutionConfig(collectionIDs any, config map[string]any, at schema.Path) (req map[string]any, ps schema.Problems, relocate func(schema.Problems) schema.Problems) {
	cfgAt := at.With("config")
	methodKey := "algorithm"
	method, hasAlgorithm := config["algorithm"]
	if m, ok := config["clustering_method"]; ok {
		if hasAlgorithm {
			ps = append(ps, schema.Problem{Loc: cfgAt.With("clustering_method"), Type: "value_error", Msg: "give algorithm or clustering_method, not both"})
		}
		method, methodKey = m, "clustering_method"
	}
	if method == "hierarchical" {
		method = params.Agglomerative
	}
	if method == params.AttributeBased {
		ps = append(ps, schema.Problem{Loc: cfgAt.With(methodKey), Type: "value_error",
			Msg: "attribute clusters are triggered by reference: create the cluster, then a trigger with its cluster_id"})
		return nil, ps, nil
	}
	req = map[string]any{"collection_ids": collectionIDs}
	vc := map[string]any{}
	flat := map[string]any{}
	for k, v := range config {
		switch {
		case k == "algorithm" || k == "clustering_method":
		case requestLevel[k]:
			req[k] = v
		case VectorBasedConfig.Field(k) != nil:
			vc[k] = v
		default:
			flat[k] = v
		}
	}
	if name, ok := method.(string); ok {
		if m := params.For(name); m != nil && m.Field("min_cluster_size") == nil {
			delete(flat, "min_cluster_size")
		}
	}
	if method != nil {
		vc["clustering_method"] = method
	}
	if len(flat) > 0 {
		switch ap := vc["algorithm_params"].(type) {
		case nil:
			vc["algorithm_params"] = flat
		case map[string]any:
			merged := make(map[string]any, len(ap)+len(flat))
			for k, v := range ap {
				merged[k] = v
			}
			for _, k := range sortedNames(flat) {
				if _, dup := ap[k]; dup {
					ps = append(ps, schema.Problem{Loc: cfgAt.With(k), Type: "value_error", Msg: "also given in algorithm_params; give it once"})
				}
				merged[k] = flat[k]
			}
			vc["algorithm_params"] = merged
		}
		// algorithm_params of another type: its own type problem is reported.
	}
	req["vector_config"] = vc
	relocate = func(in schema.Problems) schema.Problems {
		out := make(schema.Problems, len(in))
		for i, p := range in {
			out[i] = p
			if len(p.Loc) <= len(at) || !hasPrefix(p.Loc, at) {
				continue
			}
			rest := p.Loc[len(at):]
			switch rest[0] {
			case "vector_config":
				rest = rest[1:]
				if len(rest) > 0 && rest[0] == "clustering_method" {
					rest = append(schema.Path{methodKey}, rest[1:]...)
				} else if len(rest) > 1 && rest[0] == "algorithm_params" {
					if k, ok := rest[1].(string); ok && flat[k] != nil {
						rest = rest[1:]
					}
				}
				out[i].Loc = cfgAt.With(rest...)
			case "filters", "llm_labeling":
				out[i].Loc = cfgAt.With(rest...)
			}
		}
		return out
	}
	return req, ps, relocate
}

func sortedNames(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CreateTriggerRequest is Mixpeek's CreateTriggerRequest. schedule_config
// is validated by the model of its trigger_type.
var CreateTriggerRequest = schema.Model("shared__clusters__triggers__models__CreateTriggerRequest",
	"Create a trigger that executes a cluster on a schedule, after document writes, or when a condition holds.",
	schema.F("trigger_type", TriggerTypeEnum).Req(),
	schema.F("schedule_config", schema.FreeObject()).Req().Describe(scheduleConfigDoc),
	schema.F("execution_config", nullable(TriggerExecutionConfig)).Def(nil).
		Describe("What to run, self-contained (clusterd creates a cluster for the trigger's runs); give this or cluster_id"),
	schema.F("cluster_id", schema.Str().MinLen(1).MaxLen(MaxNameLength).OrNull()).Def(nil).
		Describe("A cluster (id or name) whose current definition each firing runs; give this or execution_config"),
	schema.F("description", schema.Str().MaxLen(4096).OrNull()).Def(nil),
	schema.F("status", TriggerStatusEnum).Def(TriggerActive).Describe("Initial status: only active triggers fire"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	switch {
	case o.Has("cluster_id") && o.Has("execution_config"):
		return schema.Problems{{Loc: at.With("execution_config"), Type: "value_error", Msg: "give cluster_id or execution_config, not both"}}
	case !o.Has("cluster_id") && !o.Has("execution_config"):
		return schema.Problems{{Loc: at.With("execution_config"), Type: "missing", Msg: "Field required: give execution_config or cluster_id"}}
	}
	return nil
})

func init() {
	CreateTriggerRequest.Select = func(obj map[string]any) map[string]*schema.Schema {
		t, _ := obj["trigger_type"].(string)
		if m := ScheduleModel(t); m != nil {
			return map[string]*schema.Schema{"schedule_config": m}
		}
		return nil
	}
}

// UpdateTriggerRequest is Mixpeek's UpdateTriggerRequest; null (or
// absent) leaves a field as it is. schedule_config is validated by the
// model of the trigger's type; trigger_type, cluster_id and
// execution_config cannot change (extra_forbidden).
var UpdateTriggerRequest = schema.Model("shared__clusters__triggers__models__UpdateTriggerRequest",
	"Change a trigger's schedule, description or status; null keeps a field.",
	schema.F("description", schema.Str().MaxLen(4096).OrNull()),
	schema.F("schedule_config", schema.FreeObject().OrNull()).Describe("The whole schedule_config of the trigger's type (missing keys take their defaults); the next firing is recalculated from now"),
	schema.F("status", nullable(TriggerStatusEnum)).Describe("active resumes, any other status pauses"),
)

// TriggerSortFields are the ListTriggersRequest.sort_by values.
var TriggerSortFields = []string{"created_at", "updated_at", "next_scheduled_at", "last_triggered_at", "execution_count", "trigger_type", "status"}

// ListTriggersRequest is Mixpeek's ListTriggersRequest.
var ListTriggersRequest = schema.Model("shared__clusters__triggers__models__ListTriggersRequest", "Filter, sort and page triggers.",
	schema.F("cluster_id", schema.Str().MaxLen(MaxNameLength).OrNull()).Def(nil).Describe("Triggers of this cluster (id or name)"),
	schema.F("status", nullable(TriggerStatusEnum)).Def(nil),
	schema.F("trigger_type", nullable(TriggerTypeEnum)).Def(nil),
	schema.F("limit", schema.Int().Min(1).Max(1000)).Def(50),
	schema.F("offset", schema.Int().Min(0).Max(1e9)).Def(0),
	schema.F("sort_by", schema.Str()).Def("created_at").Describe(strings.Join(TriggerSortFields, ", ")),
	schema.F("direction", schema.Str()).Def("desc").Describe("asc or desc"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	var ps schema.Problems
	if s, ok := o["sort_by"].(string); ok && !contains(TriggerSortFields, s) {
		ps = append(ps, schema.Problem{Loc: at.With("sort_by"), Type: "value_error", Msg: "sort_by must be one of " + strings.Join(TriggerSortFields, ", ")})
	}
	if d, ok := o["direction"].(string); ok && d != "asc" && d != "desc" {
		ps = append(ps, schema.Problem{Loc: at.With("direction"), Type: "value_error", Msg: "direction must be asc or desc"})
	}
	return ps
})

// Trigger history statuses: a firing's run status, or skipped.
const HistorySkipped = "skipped"

// HistoryStatuses are the status_filter values.
var HistoryStatuses = []string{StatusPending, StatusProcessing, StatusCompleted, StatusFailed, HistorySkipped}

// TriggerHistoryRequest is Mixpeek's TriggerHistoryRequest.
var TriggerHistoryRequest = schema.Model("TriggerHistoryRequest", "Page a trigger's firings, newest first.",
	schema.F("limit", schema.Int().Min(1).Max(1000)).Def(50),
	schema.F("offset", schema.Int().Min(0).Max(1e9)).Def(0),
	schema.F("status_filter", schema.Str().OrNull()).Def(nil).Describe("pending, processing, completed, failed or skipped"),
).Checked(func(v any, at schema.Path) schema.Problems {
	if s, ok := schema.AsValues(v)["status_filter"].(string); ok && !contains(HistoryStatuses, s) {
		return schema.Problems{{Loc: at.With("status_filter"), Type: "value_error", Msg: "status_filter must be one of " + strings.Join(HistoryStatuses, ", ")}}
	}
	return nil
})

// TriggerExecutionConfigBody is a TriggerExecutionConfig value.
type TriggerExecutionConfigBody struct {
	CollectionIDs []string       `json:"collection_ids"`
	Config        map[string]any `json:"config"`
}

// CreateTriggerBody is a validated, completed CreateTriggerRequest.
type CreateTriggerBody struct {
	TriggerType     string                      `json:"trigger_type"`
	ScheduleConfig  map[string]any              `json:"schedule_config"`
	ExecutionConfig *TriggerExecutionConfigBody `json:"execution_config"`
	ClusterID       *string                     `json:"cluster_id"`
	Description     *string                     `json:"description"`
	Status          string                      `json:"status"`
}

// UpdateTriggerBody is a validated UpdateTriggerRequest.
type UpdateTriggerBody struct {
	Description    *string        `json:"description"`
	ScheduleConfig map[string]any `json:"schedule_config"`
	Status         *string        `json:"status"`
}

// ListTriggersBody is a validated, completed ListTriggersRequest.
type ListTriggersBody struct {
	ClusterID   *string `json:"cluster_id"`
	Status      *string `json:"status"`
	TriggerType *string `json:"trigger_type"`
	Limit       int     `json:"limit"`
	Offset      int     `json:"offset"`
	SortBy      string  `json:"sort_by"`
	Direction   string  `json:"direction"`
}

// TriggerHistoryBody is a validated, completed TriggerHistoryRequest.
type TriggerHistoryBody struct {
	Limit        int     `json:"limit"`
	Offset       int     `json:"offset"`
	StatusFilter *string `json:"status_filter"`
}

// TriggerResponse is Mixpeek's TriggerModel, every field filled, plus
// clusterd's additions (marked).
type TriggerResponse struct {
	TriggerID           string                     `json:"trigger_id"`
	NamespaceID         string                     `json:"namespace_id"`
	InternalID          string                     `json:"internal_id"`
	ClusterID           *string                    `json:"cluster_id"`
	ExecutionConfig     TriggerExecutionConfigBody `json:"execution_config"`
	TriggerType         string                     `json:"trigger_type"`
	ScheduleConfig      map[string]any             `json:"schedule_config"`
	Status              string                     `json:"status"`
	Description         *string                    `json:"description"`
	CreatedBy           *string                    `json:"created_by"`
	CreatedAt           Time                       `json:"created_at"`
	UpdatedAt           Time                       `json:"updated_at"`
	NextScheduledAt     *Time                      `json:"next_scheduled_at"`
	LastTriggeredAt     *Time                      `json:"last_triggered_at"`
	ExecutionCount      int                        `json:"execution_count"`
	ConsecutiveFailures int                        `json:"consecutive_failures"`
	LastExecutionStatus *string                    `json:"last_execution_status"`
	LastExecutionError  *string                    `json:"last_execution_error"`
	LastExecutionJobID  *string                    `json:"last_execution_job_id"`
	EventCounter        int64                      `json:"event_counter"`
	LastCooldownAt      *Time                      `json:"last_cooldown_at"`
	// clusterd's additions
	ClusterCreatedByTrigger bool     `json:"cluster_created_by_trigger"` // cluster_id is the cluster clusterd made for execution_config
	PausedReason            *string  `json:"paused_reason"`              // why clusterd paused it (consecutive failures), or "paused by request"
	LastCheckedAt           *Time    `json:"last_checked_at"`            // conditional: the last check
	LastConditionValue      *float64 `json:"last_condition_value"`       // conditional: the metric at the last check
	LastConditionError      *string  `json:"last_condition_error"`       // conditional: why the last check could not be made
}

// ListTriggersResponse is Mixpeek's ListTriggersResponse.
type ListTriggersResponse struct {
	Results []TriggerResponse `json:"results"`
	Total   int               `json:"total"`
	Offset  int               `json:"offset"`
	Limit   int               `json:"limit"`
}

// TriggerHistoryItem is Mixpeek's TriggerExecutionHistoryItem plus
// clusterd's additions (marked). Status is the run's status as it
// progresses (pending, processing, completed, failed), or skipped.
type TriggerHistoryItem struct {
	JobID           string  `json:"job_id"`
	TriggeredAt     Time    `json:"triggered_at"`
	Status          string  `json:"status"`
	NumClusters     *int    `json:"num_clusters"`
	NumDocuments    *int    `json:"num_documents"`
	ExecutionTimeMS *int64  `json:"execution_time_ms"`
	Error           *string `json:"error"`
	// clusterd's additions
	RunID       *string `json:"run_id"`       // the run started (null when skipped)
	ScheduledAt *Time   `json:"scheduled_at"` // cron and interval: the first schedule slot this firing covers
	Slots       *int    `json:"slots"`        // cron and interval: how many slots it covers (more than 1 after an outage)
	CatchUp     bool    `json:"catch_up"`     // fired late, for slots missed while clusterd was down
	Detail      string  `json:"detail"`       // why it fired, or why it was skipped
}

// TriggerHistoryResponse is Mixpeek's TriggerHistoryResponse.
type TriggerHistoryResponse struct {
	TriggerID  string               `json:"trigger_id"`
	Executions []TriggerHistoryItem `json:"executions"`
	Total      int                  `json:"total"`
	Offset     int                  `json:"offset"`
	Limit      int                  `json:"limit"`
}

// ExecutionConfigOf renders a cluster definition as a TriggerExecutionConfig
// (what a trigger referencing the cluster runs): its collections, and a
// config with the algorithm, its effective parameters as flat keys (except
// a parameter called algorithm, which would clash) and the features.
func ExecutionConfigOf(cfg CreateClusterRequest) TriggerExecutionConfigBody {
	out := TriggerExecutionConfigBody{CollectionIDs: cfg.CollectionIDs, Config: map[string]any{}}
	if out.CollectionIDs == nil {
		out.CollectionIDs = []string{}
	}
	if vc := cfg.VectorConfig; vc != nil && vc.ClusteringMethod != params.AttributeBased {
		var p map[string]any
		if raw := vc.Params(); raw != nil {
			if v, err := schema.Parse(raw); err == nil {
				p, _ = v.(map[string]any)
			}
		}
		for k, v := range p {
			if k != "algorithm" {
				out.Config[k] = v
			}
		}
		out.Config["algorithm"] = vc.ClusteringMethod
		if fs := vc.Features(); len(fs) > 0 {
			out.Config["feature_uris"] = fs
		}
	} else if ac := cfg.AttributeConfig; ac != nil {
		out.Config["algorithm"] = params.AttributeBased
		out.Config["attributes"] = ac.Attributes
	}
	return out
}
