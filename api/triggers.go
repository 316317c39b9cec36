package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/internal/ids"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/triggers"
)

// Cluster triggers (/v1/clusters/triggers…): definitions are validated and
// stored here; package triggers decides when they fire and fires them.

// Where a trigger body's schedule_config and execution_config are.
var (
	schedulePath  = schema.Path{"body", "schedule_config"}
	executionPath = schema.Path{"body", "execution_config"}
)

// checkSchedule finds what a schedule_config's model cannot: an event
// trigger's collection (it must exist; absent, the trigger's one
// collection) and whether drift can be measured for the cluster def (nil
// when the definition is itself invalid). It returns the event
// collection's id.
func (s *Server) checkSchedule(ctx context.Context, ns, triggerType string, v any, def *model.CreateClusterRequest) (schema.Problems, string, error) {
	o := schema.AsValues(v)
	var ps schema.Problems
	switch triggerType {
	case model.TriggerEvent:
		ref, given := o["collection_id"].(string)
		if !given {
			if o["collection_id"] != nil || def == nil {
				return nil, "", nil // ill-typed (reported) or no definition to default from
			}
			if len(def.CollectionIDs) != 1 {
				return schema.Problems{{Loc: schedulePath.With("collection_id"), Type: "missing",
					Msg: fmt.Sprintf("Field required: the trigger clusters %d collections; name the one whose document writes are counted", len(def.CollectionIDs))}}, "", nil
			}
			ref = def.CollectionIDs[0]
		}
		col, err := s.cfg.Store.GetCollection(ctx, ns, ref)
		if errors.Is(err, store.ErrNotFound) {
			msg := fmt.Sprintf("collection %s not found", ref)
			if !given {
				msg = fmt.Sprintf("the trigger's collection %s is not found; name the collection whose writes are counted", ref)
			}
			return append(ps, schema.Problem{Loc: schedulePath.With("collection_id"), Type: "value_error", Msg: msg}), "", nil
		} else if err != nil {
			return nil, "", err
		}
		return nil, col.ID, nil
	case model.TriggerConditional:
		if def == nil || o.Str("condition_type") != model.ConditionDrift {
			return nil, "", nil
		}
		if def.VectorConfig == nil || def.VectorConfig.ClusteringMethod == "attribute_based" {
			return schema.Problems{{Loc: schedulePath.With("condition_type"), Type: "value_error",
				Msg: "drift is measured on vectors: the cluster groups by attributes"}}, "", nil
		}
		for _, step := range def.VectorConfig.PreprocessingSteps {
			var m struct {
				Method string `json:"method"`
			}
			if json.Unmarshal(step, &m) == nil && m.Method != "normalize" {
				return schema.Problems{{Loc: schedulePath.With("condition_type"), Type: "value_error",
					Msg: fmt.Sprintf("drift compares documents with the last run's centroids, which the cluster's %s step moves to another space; use a quality condition", m.Method)}}, "", nil
			}
		}
	}
	return nil, "", nil
}

// triggerCluster is the definition a trigger runs: the referenced
// cluster's, or the one its execution_config translates to.
type triggerCluster struct {
	ref *store.Cluster              // cluster_id
	req *model.CreateClusterRequest // the definition (either way); nil when invalid
}

func (s *Server) createTrigger(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	v, ps, err := s.decode(c, model.CreateTriggerRequest, false)
	if err != nil {
		return err
	}
	o := schema.AsValues(v)
	var tc triggerCluster
	if ref, ok := o["cluster_id"].(string); ok && ref != "" && !o.Has("execution_config") {
		cl, err := s.cfg.Store.GetCluster(ctx, ns.ID, ref)
		switch {
		case errors.Is(err, store.ErrNotFound):
			ps = append(ps, schema.Problem{Loc: schema.Path{"body", "cluster_id"}, Type: "value_error", Msg: fmt.Sprintf("cluster %s not found", ref)})
		case err != nil:
			return err
		default:
			cfg, err := clusterConfig(cl)
			if err != nil {
				return err
			}
			tc.ref, tc.req = &cl, &cfg
		}
	}
	if ec := o.Obj("execution_config"); ec != nil && !o.Has("cluster_id") {
		if cfg, ok := ec["config"].(map[string]any); ok {
			req, tps, relocate := model.TranslateExecutionConfig(ec["collection_ids"], cfg, executionPath)
			if req != nil { // the schema reported tps
				more, err := s.checkCluster(ctx, ns.ID, req, executionPath)
				if err != nil {
					return err
				}
				more = relocate(more)
				ps = append(ps, more...)
				if len(tps)+len(more) == 0 && len(model.CreateClusterRequestModel.Validate(req, nil)) == 0 {
					var def model.CreateClusterRequest
					if err := schema.Into(model.CreateClusterRequestModel.Complete(req), &def); err != nil {
						return err
					}
					tc.req = &def
				}
			}
		}
	}
	triggerType := o.Str("trigger_type")
	var eventCollection string
	if model.ScheduleModel(triggerType) != nil {
		more, col, err := s.checkSchedule(ctx, ns.ID, triggerType, o["schedule_config"], tc.req)
		if err != nil {
			return err
		}
		ps, eventCollection = append(ps, more...), col
	}
	var body model.CreateTriggerBody
	if _, err := finish(model.CreateTriggerRequest, v, ps, &body); err != nil {
		return err
	}
	now := s.triggers.Now()
	sched := model.CompleteSchedule(body.TriggerType, body.ScheduleConfig)
	if body.TriggerType == model.TriggerEvent {
		sched["collection_id"] = eventCollection
	}
	schedJSON, err := json.Marshal(sched)
	if err != nil {
		return err
	}
	t := store.Trigger{ID: ids.New("trg_"), NamespaceID: ns.ID, Type: body.TriggerType, Schedule: schedJSON, Description: body.Description,
		Status: body.Status, CreatedAt: now, UpdatedAt: now}
	if body.Status != model.TriggerActive {
		t.PausedReason = "created " + body.Status
	}
	var own *store.Cluster
	if tc.ref != nil {
		t.ClusterID = tc.ref.ID
	} else {
		cl, err := buildCluster(ns.ID, tc.req)
		if err != nil {
			return err
		}
		cl.Description = "Runs of trigger " + t.ID + " (made for its execution_config)"
		cl.Metadata = json.RawMessage(fmt.Sprintf(`{"clusterd_trigger_id":%q}`, t.ID))
		own = &cl
		if t.Execution, err = json.Marshal(body.ExecutionConfig); err != nil {
			return err
		}
	}
	if err := triggers.Arm(&t, now, true); err != nil {
		return err
	}
	if t, err = s.cfg.Store.CreateTrigger(ctx, t, own); err != nil {
		return err
	}
	s.triggers.Wake()
	return s.writeTrigger(c, http.StatusCreated, t)
}

// writeTrigger answers with a trigger.
func (s *Server) writeTrigger(c *gin.Context, status int, t store.Trigger) error {
	out, err := s.triggerResponse(c.Request.Context(), t, s.triggers.Now())
	if err != nil {
		return err
	}
	c.JSON(status, out)
	return nil
}

// triggerResponse renders a trigger as Mixpeek's TriggerModel.
func (s *Server) triggerResponse(ctx context.Context, t store.Trigger, now time.Time) (model.TriggerResponse, error) {
	out := model.TriggerResponse{TriggerID: t.ID, NamespaceID: t.NamespaceID, InternalID: t.NamespaceID, TriggerType: t.Type,
		Status: t.Status, Description: t.Description, CreatedBy: t.CreatedBy,
		CreatedAt: model.Time{Time: t.CreatedAt}, UpdatedAt: model.Time{Time: t.UpdatedAt},
		LastTriggeredAt: modelTime(t.LastTriggeredAt), ExecutionCount: t.ExecutionCount, ConsecutiveFailures: t.ConsecutiveFailures,
		LastExecutionStatus: t.LastExecutionStatus, LastExecutionError: t.LastExecutionError, LastExecutionJobID: t.LastExecutionJobID,
		EventCounter: t.EventCounter, LastCooldownAt: modelTime(t.LastCooldownAt), ClusterCreatedByTrigger: t.OwnsCluster,
		LastCheckedAt: modelTime(t.LastCheckedAt), LastConditionValue: t.LastConditionValue, LastConditionError: t.LastConditionError}
	cluster := t.ClusterID
	out.ClusterID = &cluster
	if t.PausedReason != "" {
		out.PausedReason = &t.PausedReason
	}
	// An event trigger's stored next is the end of its cooldown; once
	// passed, the firing waits for the counter, at no particular time.
	if t.NextScheduledAt != nil && (t.Type != model.TriggerEvent || t.NextScheduledAt.After(now)) {
		out.NextScheduledAt = modelTime(t.NextScheduledAt)
	}
	if err := json.Unmarshal(t.Schedule, &out.ScheduleConfig); err != nil {
		return out, fmt.Errorf("stored trigger %s schedule_config: %w", t.ID, err)
	}
	if t.Execution != nil {
		v, err := schema.Parse(t.Execution)
		if err == nil {
			err = schema.Into(v, &out.ExecutionConfig)
		}
		if err != nil {
			return out, fmt.Errorf("stored trigger %s execution_config: %w", t.ID, err)
		}
		return out, nil
	}
	cl, err := s.cfg.Store.GetCluster(ctx, t.NamespaceID, t.ClusterID)
	if err != nil {
		return out, err
	}
	cfg, err := clusterConfig(cl)
	if err != nil {
		return out, err
	}
	out.ExecutionConfig = model.ExecutionConfigOf(cfg)
	return out, nil
}

func modelTime(t *time.Time) *model.Time {
	if t == nil {
		return nil
	}
	return &model.Time{Time: *t}
}

func (s *Server) getTrigger(c *gin.Context) error {
	t, err := s.cfg.Store.GetTrigger(c.Request.Context(), nsOf(c).ID, c.Param("trigger_id"))
	if err != nil {
		return err
	}
	return s.writeTrigger(c, http.StatusOK, t)
}

func (s *Server) listTriggers(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	var body model.ListTriggersBody
	if _, err := s.bind(c, model.ListTriggersRequest, &body, true); err != nil {
		return err
	}
	f := store.TriggerFilter{SortBy: body.SortBy, Desc: body.Direction == "desc", Limit: body.Limit, Offset: body.Offset}
	if body.ClusterID != nil {
		f.ClusterID = *body.ClusterID
		if cl, err := s.cfg.Store.GetCluster(ctx, ns.ID, *body.ClusterID); err == nil {
			f.ClusterID = cl.ID // a name finds its cluster's triggers
		}
	}
	if body.Status != nil {
		f.Status = *body.Status
	}
	if body.TriggerType != nil {
		f.Type = *body.TriggerType
	}
	list, total, err := s.cfg.Store.ListTriggers(ctx, ns.ID, f)
	if err != nil {
		return err
	}
	out := model.ListTriggersResponse{Results: make([]model.TriggerResponse, len(list)), Total: total, Offset: body.Offset, Limit: body.Limit}
	now := s.triggers.Now()
	for i, t := range list {
		if out.Results[i], err = s.triggerResponse(ctx, t, now); err != nil {
			return err
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// setStatus changes a trigger's status: active resumes it (its failures
// forgotten, the next slot counted from now), any other status pauses it.
func setStatus(t *store.Trigger, status string, now time.Time) error {
	if status == t.Status {
		return nil
	}
	t.Status = status
	if status == model.TriggerActive {
		t.PausedReason, t.ConsecutiveFailures = "", 0
	} else if status == model.TriggerPaused {
		t.PausedReason = "paused by request"
	} else {
		t.PausedReason = "status set to " + status + " by request"
	}
	return triggers.Arm(t, now, false)
}

func (s *Server) patchTrigger(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	cur, err := s.cfg.Store.GetTrigger(ctx, ns.ID, c.Param("trigger_id"))
	if err != nil {
		return err
	}
	v, ps, err := s.decode(c, model.UpdateTriggerRequest, false)
	if err != nil {
		return err
	}
	var sched map[string]any
	if sc, ok := schema.AsValues(v)["schedule_config"].(map[string]any); ok {
		m := model.ScheduleModel(cur.Type)
		sps := m.Validate(sc, schedulePath)
		cl, err := s.cfg.Store.GetCluster(ctx, ns.ID, cur.ClusterID)
		if err != nil {
			return err
		}
		def, err := clusterConfig(cl)
		if err != nil {
			return err
		}
		more, col, err := s.checkSchedule(ctx, ns.ID, cur.Type, sc, &def)
		if err != nil {
			return err
		}
		ps = append(append(ps, sps...), more...)
		if len(sps)+len(more) == 0 {
			sched = model.CompleteSchedule(cur.Type, sc)
			if cur.Type == model.TriggerEvent {
				sched["collection_id"] = col
			}
		}
	}
	var body model.UpdateTriggerBody
	if _, err := finish(model.UpdateTriggerRequest, v, ps, &body); err != nil {
		return err
	}
	now := s.triggers.Now()
	t, err := s.cfg.Store.UpdateTrigger(ctx, ns.ID, cur.ID, func(t *store.Trigger) error {
		if body.Description != nil {
			t.Description = body.Description
		}
		if sched != nil {
			raw, err := json.Marshal(sched)
			if err != nil {
				return err
			}
			t.Schedule = raw
			if err := triggers.Arm(t, now, false); err != nil {
				return err
			}
		}
		if body.Status != nil {
			if err := setStatus(t, *body.Status, now); err != nil {
				return err
			}
		}
		t.UpdatedAt = now
		return nil
	})
	if err != nil {
		return err
	}
	s.triggers.Wake()
	return s.writeTrigger(c, http.StatusOK, t)
}

func (s *Server) pauseTrigger(c *gin.Context) error { return s.changeStatus(c, model.TriggerPaused) }

func (s *Server) resumeTrigger(c *gin.Context) error { return s.changeStatus(c, model.TriggerActive) }

// changeStatus pauses or resumes a trigger; doing it again changes nothing.
func (s *Server) changeStatus(c *gin.Context, status string) error {
	if _, err := s.readBody(c, true); err != nil { // no body expected; an oversized one is still a 413
		return err
	}
	now := s.triggers.Now()
	t, err := s.cfg.Store.UpdateTrigger(c.Request.Context(), nsOf(c).ID, c.Param("trigger_id"), func(t *store.Trigger) error {
		if t.Status == status {
			return nil
		}
		t.UpdatedAt = now
		return setStatus(t, status, now)
	})
	if err != nil {
		return err
	}
	s.triggers.Wake()
	return s.writeTrigger(c, http.StatusOK, t)
}

func (s *Server) deleteTrigger(c *gin.Context) error {
	if err := s.cfg.Store.DeleteTrigger(c.Request.Context(), nsOf(c).ID, c.Param("trigger_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) triggerHistory(c *gin.Context) error {
	var body model.TriggerHistoryBody
	if _, err := s.bind(c, model.TriggerHistoryRequest, &body, true); err != nil {
		return err
	}
	id := c.Param("trigger_id")
	status := ""
	if body.StatusFilter != nil {
		status = *body.StatusFilter
	}
	items, total, err := s.cfg.Store.TriggerHistory(c.Request.Context(), nsOf(c).ID, id, status, body.Limit, body.Offset)
	if err != nil {
		return err
	}
	out := model.TriggerHistoryResponse{TriggerID: id, Executions: make([]model.TriggerHistoryItem, len(items)), Total: total, Offset: body.Offset, Limit: body.Limit}
	for i, h := range items {
		out.Executions[i] = model.TriggerHistoryItem{JobID: h.JobID, TriggeredAt: model.Time{Time: h.TriggeredAt}, Status: h.Status,
			NumClusters: h.NumClusters, NumDocuments: h.NumDocuments, ExecutionTimeMS: h.ExecutionTimeMS, Error: h.Error,
			RunID: h.RunID, ScheduledAt: modelTime(h.ScheduledAt), Slots: h.Slots, CatchUp: h.CatchUp, Detail: h.Detail}
	}
	c.JSON(http.StatusOK, out)
	return nil
}
