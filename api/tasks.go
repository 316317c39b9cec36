package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// listTasks is POST /v1/tasks/list: the namespace's tasks (every cluster's
// runs) with Mixpeek's filters, sort, search, status and task_type.
func (s *Server) listTasks(c *gin.Context) error {
	q, body, err := s.listQueryValue(c, model.ListTasksRequest, store.TaskFilters)
	if err != nil {
		return err
	}
	var status, taskType *string
	if body.Has("status") {
		v := body.Str("status")
		status = &v
	}
	if body.Has("task_type") {
		v := body.Str("task_type")
		taskType = &v
	}
	page, err := s.cfg.Store.ListTasks(c.Request.Context(), nsOf(c).ID, q, status, taskType)
	if err != nil {
		return err
	}
	out := make([]model.TaskResponse, len(page.Results))
	for i, r := range page.Results {
		out[i] = taskResponse(r)
	}
	writeList(c, q, out, page.Total, nil)
	return nil
}

// killTask is DELETE /v1/tasks/{task_id}: it cancels the task's run as
// POST …/executions/{run_id}/cancel does (a pending run ends canceled at
// once; a processing run is stopped and the answer waits up to 5 s for
// it; success is false when the run finished on its own first). A
// finished task is a 409 task_already_finished.
func (s *Server) killTask(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	taskID := c.Param("task_id")
	task, err := s.cfg.Store.GetTask(ctx, ns.ID, taskID)
	if err != nil {
		return err
	}
	r, err := s.cfg.Store.CancelRun(ctx, ns.ID, task.ClusterID, task.RunID, failedResult)
	if errors.Is(err, store.ErrConflict) {
		return &Error{Status: http.StatusConflict, Code: "task_already_finished", Message: "task " + taskID + " already finished (" + taskStatus(task) + ")",
			Details: map[string]any{"task_id": taskID, "status": taskStatus(task)}}
	}
	if err != nil {
		return err
	}
	msg, ok := "Task "+taskID+" canceled", true
	if r.Status == store.StatusProcessing {
		s.cfg.Runner.Cancel(r.RunID)
		if r, err = s.waitFinished(ctx, ns.ID, r.ClusterID, r.RunID, 5*time.Second); err != nil {
			return err
		}
		if r.Status == store.StatusProcessing {
			msg = "Task " + taskID + " is being canceled; it stops at its next heartbeat"
		} else if taskStatus(r) != "CANCELED" {
			// It finished on its own before the cancel reached it.
			msg, ok = "Task "+taskID+" finished ("+taskStatus(r)+") before it could be canceled", false
		}
	}
	c.JSON(http.StatusOK, model.GenericDeleteResponse{Success: ok, Message: msg})
	return nil
}
