package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clusterd/clusterd/internal/contract"
	"github.com/clusterd/clusterd/internal/seedschema"
)

// TestConformance sends, for every operation of Mixpeek's contract
// (internal/contract), request bodies built from the contract's own schemas
// to a real server over HTTP, and validates every response against the
// operation's response schema with kin-openapi. The variants of a body are:
// every property at its default (Mixpeek's clients send them all); each
// optional property, at any depth, set to each valid value the generator
// knows for it (every enum value, the other boolean, each alternative of a
// union, a value inside the bounds); and every example the contract gives.
// Values the contract leaves free but that must name something real
// (collection ids, feature URIs, filter fields) are fixed up to the test's
// fixtures; that is all the generator knows of clusterd. A variant must be
// accepted, unless it is one of the documented refusals (refusals below,
// also in docs/API.md), which must answer a 422 saying why. Every accepted
// cluster is executed, and its run must complete.
//
// CONFORMANCE_REPORT=path writes the counts as JSON.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a few thousand requests")
	}
	doc, err := contract.Doc()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(contract.JSON(), &raw); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{})
	fx := newFixtures(t, e)
	g := &generator{schemas: raw.Components.Schemas}
	report := conformanceReport{Operations: map[string]*opReport{}}

	// Operations in a stable order; the deletes last, so every other
	// operation has its fixtures.
	type opKey struct{ method, path string }
	var keys []opKey
	for path, item := range raw.Paths {
		for method := range item {
			keys = append(keys, opKey{strings.ToUpper(method), path})
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		di, dj := keys[i].method == "DELETE", keys[j].method == "DELETE"
		if di != dj {
			return dj
		}
		return keys[i].path+keys[i].method < keys[j].path+keys[j].method
	})
	for _, k := range keys {
		op := raw.Paths[strings.ToLower(k.path)][strings.ToLower(k.method)]
		if op == nil {
			op = raw.Paths[k.path][strings.ToLower(k.method)]
		}
		id, _ := op["operationId"].(string)
		r := &opReport{Method: k.method, Path: k.path}
		report.Operations[id] = r
		if why, ok := notYet(k.path); ok {
			r.Skipped = why
			continue
		}
		kop := doc.Paths.Find(k.path).GetOperation(k.method)
		var bodies []variant
		if rb, ok := op["requestBody"].(map[string]any); ok {
			sc := rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
			bodies = g.variants(sc)
		} else {
			bodies = []variant{{name: "no body"}}
		}
		for _, b := range bodies {
			body := b.value
			path := fx.path(t, k.method, k.path)
			query := fx.query(op)
			if b.value != nil {
				body = fx.fixUp(t, id, b.value)
			}
			code, resp := e.call(k.method, path+query, body)
			r.Sent++
			report.Sent++
			if want, status, refused := refusal(id, body); refused {
				if code != status || !strings.Contains(string(resp), want) {
					t.Errorf("%s %s (%s): want the documented refusal %q, got %d %s", id, b.name, marshal(body), want, code, resp)
				}
				r.Refused++
				report.Refused++
				validateResponse(t, id, kop, code, resp)
				continue
			}
			if code >= 300 {
				t.Errorf("%s %s: %d %s\nbody %s", id, b.name, code, resp, marshal(body))
				continue
			}
			r.Accepted++
			report.Accepted++
			validateResponse(t, id, kop, code, resp)
			fx.after(t, id, k.method, resp)
		}
	}
	fx.executeAll(t, &report)
	out, _ := json.MarshalIndent(report, "", " ")
	t.Logf("conformance: %d operations, %d requests sent, %d accepted, %d documented refusals, %d clusters executed; %d undeclared keys removed from the contract's examples",
		len(report.Operations), report.Sent, report.Accepted, report.Refused, report.Executed, strippedExampleKeys)
	if p := os.Getenv("CONFORMANCE_REPORT"); p != "" {
		os.WriteFile(p, out, 0o644)
	}
	if len(report.Operations) != 28 {
		t.Errorf("%d operations in the contract, want 28", len(report.Operations))
	}
}

type conformanceReport struct {
	Operations map[string]*opReport `json:"operations"`
	Sent       int                  `json:"sent"`
	Accepted   int                  `json:"accepted"`
	Refused    int                  `json:"refused"`
	Executed   int                  `json:"executed"`
}

type opReport struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Sent     int    `json:"sent"`
	Accepted int    `json:"accepted"`
	Refused  int    `json:"refused"`
	Skipped  string `json:"skipped,omitempty"`
}

// notYet names operations whose feature is not built yet (none now).
func notYet(path string) (string, bool) { return "", false }

// refusal says whether a body is one of the documented refusals (a value
// the contract allows that clusterd cannot honour): the words its answer
// must contain and its status (a 422 unless said otherwise).
func refusal(opID string, body any) (string, int, bool) {
	b := marshal(body)
	for _, r := range refusals {
		if r.op.MatchString(opID) && r.body.MatchString(b) {
			if r.status == 0 {
				r.status = http.StatusUnprocessableEntity
			}
			return r.says, r.status, true
		}
	}
	return "", 0, false
}

var refusals = []struct {
	op, body *regexp.Regexp
	says     string
	status   int
}{
	// System templates are built into clusterd ("requires Mixpeek admin
	// email" in the contract): creating one is forbidden.
	{regexp.MustCompile(`^create_cluster_template`), regexp.MustCompile(`"scope":"system"`), "system_scope_forbidden", http.StatusForbidden},
	// Spectral clustering's "precomputed" affinity takes an n×n affinity
	// matrix; clusterd clusters vectors.
	{regexp.MustCompile(`^create_cluster`), regexp.MustCompile(`"affinity":"precomputed","assign_labels"`), "precomputed takes a user-supplied", 0},
	// A Gaussian mixture's initial parameters must have its shapes: the
	// contract types them as lists of anything.
	{regexp.MustCompile(`^create_cluster`), regexp.MustCompile(`"(weights_init|means_init|precisions_init)":\[`), "must be", 0},
	// Mean shift's seeds must have the vectors' dimension (4 here).
	{regexp.MustCompile(`^create_cluster`), regexp.MustCompile(`"seeds":\[\[[^,\]]*\]\]`), "seeds", 0},
	// OPTICS' minkowski metric is supported with p = 2 only (Euclidean).
	{regexp.MustCompile(`^create_cluster`), regexp.MustCompile(`"metric":"minkowski".*"p":20`), "metric minkowski is supported with p = 2", 0},
	// Metrics clusterd's agglomerative clustering does not have; ward
	// needs euclidean (as in scikit-learn).
	{regexp.MustCompile(`^create_cluster`), regexp.MustCompile(`"affinity":"(l1|manhattan|precomputed)"`), "Input should be 'euclidean', 'l2' or 'cosine'", 0},
	{regexp.MustCompile(`^create_cluster`), regexp.MustCompile(`"affinity":"cosine".*"linkage":"ward"`), `cannot be used with linkage \"ward\"`, 0},
	// Connectivity constraints (a matrix over the points) are not supported.
	{regexp.MustCompile(`^create_cluster`), regexp.MustCompile(`"connectivity":[^n]`), "connectivity constraints are not supported", 0},
	// A trigger's schedule_config holds its type's required fields (an
	// interval trigger's interval_seconds), as the contract describes.
	{regexp.MustCompile(`^update_trigger`), regexp.MustCompile(`"schedule_config":\{\}`), "Field required", 0},
	// A trigger history's status_filter names an execution status.
	{regexp.MustCompile(`^get_trigger_history`), regexp.MustCompile(`"status_filter":"xxx"`), "status_filter must be one of", 0},
	// A value resolved from a runtime query request: clusterd has none.
	{regexp.MustCompile(`.`), regexp.MustCompile(`"type":"dynamic"`), "dynamic", 0},
}

// validateResponse checks a response against the operation's response
// schema for its status (the seed's for the latest execution).
func validateResponse(t *testing.T, id string, op *openapi3.Operation, code int, body []byte) {
	t.Helper()
	if code == http.StatusNoContent {
		if len(body) != 0 {
			t.Errorf("%s: 204 with a body %s", id, body)
		}
		return
	}
	if id == "get_cluster_execution_v1_clusters__cluster_id__executions_get" && code == http.StatusOK {
		if string(body) != "null" {
			if err := seedschema.Validate("ClusterExecutionResult", body); err != nil {
				t.Errorf("%s: %v\n%s", id, err, body)
			}
		}
		return
	}
	resp := op.Responses.Status(code)
	if resp == nil || resp.Value == nil {
		t.Errorf("%s: status %d is not one the contract lists: %s", id, code, body)
		return
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: not JSON: %s", id, body)
		return
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		t.Errorf("%s: the %d response does not match the contract: %v\n%s", id, code, err, truncate(body))
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// variant is one request body.
type variant struct {
	name  string
	value any
}

// generator builds values from the contract's JSON Schemas.
type generator struct {
	schemas map[string]map[string]any
}

func (g *generator) resolve(s map[string]any) (map[string]any, string) {
	name := ""
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s, name
		}
		name = strings.TrimPrefix(ref, "#/components/schemas/")
		s = g.schemas[name]
	}
}

// alternatives returns a schema's non-null alternatives (itself when it is
// not a union) and whether null is one of them.
func (g *generator) alternatives(s map[string]any) ([]map[string]any, bool) {
	s, _ = g.resolve(s)
	list, ok := s["anyOf"].([]any)
	if !ok {
		if s["type"] == "null" {
			return nil, true
		}
		return []map[string]any{s}, false
	}
	var out []map[string]any
	null := false
	for _, a := range list {
		am, _ := g.resolve(a.(map[string]any))
		if am["type"] == "null" {
			null = true
			continue
		}
		out = append(out, am)
	}
	return out, null
}

// base is the value a client sends by default: an object's properties at
// their defaults (null when nullable without one; the first valid value
// when required), a scalar's first valid value.
func (g *generator) base(s map[string]any, depth int) any {
	s, _ = g.resolve(s)
	if def, ok := s["default"]; ok {
		return def
	}
	alts, null := g.alternatives(s)
	if len(alts) == 0 {
		return nil
	}
	a := alts[0]
	if _, isUnion := s["anyOf"]; isUnion && null && depth > 0 {
		return nil
	}
	switch typeOf(a) {
	case "object":
		out := map[string]any{}
		props, _ := a["properties"].(map[string]any)
		req := required(a)
		for name, p := range props {
			ps := p.(map[string]any)
			if def, ok := ps["default"]; ok {
				out[name] = def
				continue
			}
			palts, pnull := g.alternatives(ps)
			switch {
			case req[name]:
				out[name] = g.base(ps, depth+1)
			case pnull:
				out[name] = nil
			case len(palts) > 0:
				out[name] = g.base(ps, depth+1)
			}
		}
		return out
	case "array":
		n := 0
		if mi, ok := a["minItems"].(float64); ok {
			n = int(mi)
		}
		items, _ := a["items"].(map[string]any)
		out := []any{}
		for i := 0; i < n; i++ {
			out = append(out, g.base(items, depth+1))
		}
		return out
	}
	return g.scalar(a)
}

// scalar is one valid scalar value.
func (g *generator) scalar(s map[string]any) any {
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	if c, ok := s["const"]; ok {
		return c
	}
	switch typeOf(s) {
	case "string":
		n := 1
		if mi, ok := s["minLength"].(float64); ok {
			n = int(mi)
		}
		if p, ok := s["pattern"].(string); ok && strings.HasPrefix(p, "^tmpl_") {
			return "tmpl_conformance"
		}
		return strings.Repeat("x", max(n, 3))
	case "integer", "number":
		lo, hasLo := s["minimum"].(float64)
		if el, ok := s["exclusiveMinimum"].(float64); ok {
			lo, hasLo = el+1, true
		}
		hi, hasHi := s["maximum"].(float64)
		v := 20.0
		if hasLo && v < lo {
			v = lo
		}
		if hasHi && v > hi {
			v = hi
		}
		if typeOf(s) == "number" && !hasLo && !hasHi {
			v = 0.5
		}
		return v
	case "boolean":
		return true
	}
	return "x"
}

// options are the valid values the generator tries for a property other
// than its base: every enum value, the other boolean, each union
// alternative's base, a value inside the bounds, one-element lists, the
// schema's examples, and the values its description quotes ("K-means
// algorithm to use ('lloyd', 'elkan', or 'auto')"). A free string with a
// default is only tried at the values its description or examples give:
// the contract types such parameters as plain strings, but they name
// things (a metric, an algorithm), and an arbitrary word is not a valid
// value of them.
func (g *generator) options(s map[string]any, depth int) []any {
	s, _ = g.resolve(s)
	var out []any
	if ex, ok := s["examples"].([]any); ok {
		out = append(out, g.declaredOnly(s, ex)...)
	}
	_, hasDefault := s["default"]
	quoted := quotedValues(s)
	alts, _ := g.alternatives(s)
	for _, a := range alts {
		if ex, ok := a["examples"].([]any); ok {
			out = append(out, g.declaredOnly(a, ex)...)
		}
		switch typeOf(a) {
		case "object":
			if depth < 4 {
				out = append(out, g.base(a, depth+1))
			}
		case "array":
			items, _ := a["items"].(map[string]any)
			if items != nil && depth < 4 {
				out = append(out, []any{g.base(items, depth+1)})
			}
		case "boolean":
			out = append(out, true, false)
		case "string":
			if enum, ok := a["enum"].([]any); ok {
				out = append(out, enum...)
			} else if len(quoted) > 0 {
				out = append(out, quoted...)
			} else if !hasDefault {
				out = append(out, g.scalar(a))
			}
		default:
			if enum, ok := a["enum"].([]any); ok {
				out = append(out, enum...)
			} else {
				out = append(out, g.scalar(a))
			}
		}
	}
	return out
}

var quotedWord = regexp.MustCompile(`'([A-Za-z0-9_+\-]+)'`)

// quotedValues returns the single-quoted words of a string property's
// description, the values it documents.
func quotedValues(s map[string]any) []any {
	d, _ := s["description"].(string)
	var out []any
	seen := map[string]bool{}
	for _, m := range quotedWord.FindAllStringSubmatch(d, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// declaredOnly returns examples with the keys the schema does not declare
// removed: some of Mixpeek's examples annotate themselves with a
// "description" key that is not a property of the model, and keys outside
// a model are refused (extra_forbidden), as the contract's models say.
func (g *generator) declaredOnly(s map[string]any, examples []any) []any {
	out := make([]any, len(examples))
	for i, ex := range examples {
		out[i] = ex
		m, ok := ex.(map[string]any)
		if !ok {
			continue
		}
		alts, _ := g.alternatives(s)
		for _, a := range alts {
			props, ok := a["properties"].(map[string]any)
			if !ok {
				continue
			}
			cp := map[string]any{}
			for k, v := range m {
				if _, declared := props[k]; declared {
					cp[k] = v
				} else {
					strippedExampleKeys++
				}
			}
			out[i] = cp
			break
		}
	}
	return out
}

// strippedExampleKeys counts the undeclared keys removed from examples.
var strippedExampleKeys int

// variants lists the bodies of a request schema.
func (g *generator) variants(s map[string]any) []variant {
	base := g.base(s, 0)
	out := []variant{{name: "defaults", value: base}}
	root, _ := g.resolve(s)
	if ex, ok := root["examples"].([]any); ok {
		for i, e := range g.declaredOnly(root, ex) {
			out = append(out, variant{name: fmt.Sprintf("example %d", i), value: e})
		}
	}
	g.vary(base, s, nil, 0, func(name string, v any) {
		out = append(out, variant{name: name, value: v})
	})
	return out
}

// vary emits copies of root where one property inside the object at path
// (of schema s) takes each of its options, and recurses into every object
// property, from its base when root has none there. A union of objects is
// varied once per alternative.
func (g *generator) vary(root any, s map[string]any, path []string, depth int, emit func(string, any)) {
	if depth > 4 {
		return
	}
	alts, _ := g.alternatives(s)
	first := true
	for _, a := range alts {
		if typeOf(a) != "object" {
			continue
		}
		props, _ := a["properties"].(map[string]any)
		if len(props) == 0 {
			continue
		}
		here := root
		if _, isObj := getAt(root, path).(map[string]any); !isObj || !first {
			if len(path) == 0 {
				continue
			}
			here = setAt(root, path, g.base(a, depth))
		}
		first = false
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			ps := props[name].(map[string]any)
			p := append(append([]string{}, path...), name)
			for _, opt := range g.options(ps, depth) {
				emit(strings.Join(p, ".")+"="+marshal(opt), setAt(here, p, opt))
			}
			g.vary(here, ps, p, depth+1, emit)
		}
	}
}

// getAt returns the value at path in root (nil when absent).
func getAt(root any, path []string) any {
	cur := root
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// setAt returns a deep copy of root with the value at path replaced.
func setAt(root any, path []string, v any) any {
	cp := deepCopy(root)
	m, ok := cp.(map[string]any)
	if !ok || len(path) == 0 {
		return deepCopy(v)
	}
	for i, k := range path {
		if i == len(path)-1 {
			m[k] = deepCopy(v)
			break
		}
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return cp
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}

func typeOf(s map[string]any) string {
	if t, ok := s["type"].(string); ok {
		return t
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

func required(s map[string]any) map[string]bool {
	out := map[string]bool{}
	if r, ok := s["required"].([]any); ok {
		for _, n := range r {
			out[n.(string)] = true
		}
	}
	return out
}

// fixtures are the resources the requests refer to.
type fixtures struct {
	e          *env
	collection string // id
	cluster    string // id of a cluster with a completed run
	runID      string
	taskID     string // the completed run's task
	templateID string
	slow       string   // a cluster whose runs take seconds
	created    []string // clusters created by the variants, executed at the end
	n          int
}

func newFixtures(t *testing.T, e *env) *fixtures {
	fx := &fixtures{e: e}
	var col struct {
		CollectionID string `json:"collection_id"`
	}
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "conformance_docs"}, &col)
	fx.collection = col.CollectionID
	topics := []struct{ category, brand, words string }{
		{"electronics", "apple", "laptop battery screen"}, {"electronics", "samsung", "phone camera screen"},
		{"sports", "nike", "running shoes marathon"}, {"food", "acme", "coffee beans espresso"},
	}
	r := rand.New(rand.NewPCG(12, 34))
	var docs []map[string]any
	for i := 0; i < 80; i++ {
		tp := topics[i%len(topics)]
		v := make([]float64, 4)
		v[i%len(topics)] = 1
		for j := range v {
			v[j] += r.NormFloat64() * 0.05
		}
		docs = append(docs, map[string]any{"document_id": fmt.Sprintf("d%03d", i), "features": map[string]any{"text_embedding": v},
			"payload": map[string]any{"text": tp.words + fmt.Sprintf(" item %d", i), "category": tp.category, "brand": tp.brand,
				"name": fmt.Sprintf("John %d", i), "status": "active", "thumbnail_url": "https://example.com/i.png"}})
	}
	e.ok("POST", "/v1/collections/"+fx.collection+"/documents", map[string]any{"documents": docs}, nil)
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{fx.collection}, "cluster_name": "conformance_base",
		"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 4}}}, &cl)
	fx.cluster = cl.ClusterID
	var task struct {
		TaskID         string            `json:"task_id"`
		AdditionalData map[string]string `json:"additional_data"`
	}
	e.ok("POST", "/v1/clusters/"+fx.cluster+"/execute", nil, &task)
	fx.runID, fx.taskID = task.AdditionalData["run_id"], task.TaskID
	e.wait(fx.cluster)
	return fx
}

// path fills a contract path's parameters with fixtures: a cancel or kill
// takes a fresh run of a slow cluster, so it is still pending or
// processing.
func (fx *fixtures) path(t *testing.T, method, p string) string {
	if strings.HasSuffix(p, "/cancel") {
		cluster, run, _ := fx.slowRun(t)
		return strings.NewReplacer("{cluster_id}", cluster, "{run_id}", run).Replace(p)
	}
	if method == "DELETE" && strings.Contains(p, "{task_id}") {
		_, _, task := fx.slowRun(t)
		return strings.ReplaceAll(p, "{task_id}", task)
	}
	if strings.Contains(p, "{trigger_id}") {
		p = strings.ReplaceAll(p, "{trigger_id}", fx.trigger(t))
	}
	r := strings.NewReplacer("{cluster_id}", fx.cluster, "{cluster_identifier}", fx.cluster, "{run_id}", fx.runID, "{template_id}", fx.template(t))
	return strings.ReplaceAll(r.Replace(p), "{task_id}", fx.taskID)
}

// trigger returns a trigger of the base cluster (paused, so it never fires
// during the test); each DELETE takes a fresh one.
func (fx *fixtures) trigger(t *testing.T) string {
	var tr struct {
		TriggerID string `json:"trigger_id"`
	}
	code, body := fx.e.call("POST", "/v1/clusters/triggers", map[string]any{"trigger_type": "interval", "cluster_id": fx.cluster,
		"schedule_config": map[string]any{"interval_seconds": 86400}, "status": "paused"})
	if code != http.StatusCreated || json.Unmarshal(body, &tr) != nil {
		t.Fatalf("creating a trigger: %d %s", code, body)
	}
	return tr.TriggerID
}

// slowRun starts a run of a cluster that takes seconds (60 clusters of
// 20,000 points, 200 restarts) and returns its cluster, run and task ids.
func (fx *fixtures) slowRun(t *testing.T) (cluster, run, task string) {
	if fx.slow == "" {
		fx.slow = fx.e.setup("conformance_slow", blobDocs(20000, 16, 60, 6), slowParams)
	}
	var tr struct {
		TaskID         string            `json:"task_id"`
		AdditionalData map[string]string `json:"additional_data"`
	}
	fx.e.ok("POST", "/v1/clusters/"+fx.slow+"/execute", nil, &tr)
	return fx.slow, tr.AdditionalData["run_id"], tr.TaskID
}

// template returns a template to read and instantiate (the first built-in
// one the list returns).
func (fx *fixtures) template(t *testing.T) string {
	if fx.templateID != "" {
		return fx.templateID
	}
	code, body := fx.e.call("POST", "/v1/templates/clusters", map[string]any{})
	var list struct {
		Results []struct {
			TemplateID string `json:"template_id"`
		} `json:"results"`
	}
	if code == http.StatusOK && json.Unmarshal(body, &list) == nil && len(list.Results) > 0 {
		fx.templateID = list.Results[0].TemplateID
	} else {
		fx.templateID = "tmpl_missing"
	}
	return fx.templateID
}

// query fills the operations' query parameters with values inside their
// bounds.
func (fx *fixtures) query(op map[string]any) string {
	ps, _ := op["parameters"].([]any)
	var parts []string
	for _, p := range ps {
		pm := p.(map[string]any)
		if pm["in"] != "query" {
			continue
		}
		switch pm["name"] {
		case "hours":
			parts = append(parts, "hours=24")
		case "limit":
			parts = append(parts, "limit=10")
		case "offset":
			parts = append(parts, "offset=0")
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "?" + strings.Join(parts, "&")
}

// fixUp makes the names a body carries name real things: collections, the
// collection's feature, payload fields to filter and group by, fresh
// cluster names. Everything else is as the generator built it.
func (fx *fixtures) fixUp(t *testing.T, opID string, body any) any {
	fx.n++
	b := deepCopy(body)
	walkObjects(b, func(m map[string]any) {
		if v, ok := m["collection_ids"]; ok && v != nil {
			m["collection_ids"] = []any{fx.collection}
		}
		for _, k := range []string{"source_collection_id", "target_collection_id"} {
			if v, ok := m[k]; ok && (k == "source_collection_id" || v != nil) {
				m[k] = fx.collection
			}
		}
		if _, ok := m["clustering_ids"]; ok {
			m["clustering_ids"] = []any{fx.cluster}
		}
		if v, ok := m["clustering_id"]; ok && v != nil {
			m["clustering_id"] = fx.runID
		}
		if v, ok := m["feature_uris"].([]any); ok && v != nil {
			m["feature_uris"] = []any{"mixpeek://text_extractor@v1/text_embedding"}
		}
		if v, ok := m["feature_uri"].(string); ok && v != "" {
			m["feature_uri"] = "mixpeek://text_extractor@v1/text_embedding"
		}
		if w, ok := m["feature_weights"].(map[string]any); ok && len(w) > 0 {
			m["feature_weights"] = map[string]any{"mixpeek://text_extractor@v1/text_embedding": 0.7}
		}
		if a, ok := m["attributes"].([]any); ok && len(a) > 0 {
			m["attributes"] = []any{"category", "brand"}
		}
		if _, ok := m["cluster_name"]; ok && strings.Contains(opID, "cluster") {
			m["cluster_name"] = fmt.Sprintf("conformance_%d", fx.n)
		}
		if _, ok := m["template_name"]; ok {
			m["template_name"] = fmt.Sprintf("conformance template %d", fx.n)
		}
		// A filter condition names a field of the list it filters, with a
		// value of its type (the contract's generic examples name "name"
		// and "age"; a cluster's filters select documents by any payload
		// key).
		if _, cond := m["field"]; cond {
			if _, isSort := m["direction"]; isSort {
				m["field"] = "created_at"
			} else if _, isDynamic := m["type"]; !isDynamic {
				fixCondition(opID, m)
			}
		}
		if _, ok := m["source_field"]; ok {
			m["source_field"] = "cluster_id"
		}
		// The algorithm's parameters follow clustering_method.
		if method, ok := m["clustering_method"].(string); ok {
			if method == "attribute_based" {
				delete(m, "algorithm_params")
			}
			if p, ok := m["algorithm_params"].(map[string]any); ok && p != nil {
				if want := paramsMethod(p); want != "" && want != method {
					m["clustering_method"] = want
				}
			}
		}
	})
	// A trigger's schedule_config holds its type's fields and it runs a
	// cluster or an execution_config with an algorithm (the contract's
	// descriptions say so; its schemas leave both free).
	if m, ok := b.(map[string]any); ok && strings.HasPrefix(opID, "create_trigger") {
		sc, _ := m["schedule_config"].(map[string]any)
		if len(sc) == 0 {
			m["schedule_config"] = map[string]any{
				"cron":        map[string]any{"cron_expression": "0 2 * * *", "timezone": "UTC"},
				"interval":    map[string]any{"interval_seconds": 21600},
				"event":       map[string]any{"event_type": "documents_added", "event_threshold": 100},
				"conditional": map[string]any{"condition_type": "quality", "metric": "silhouette_score", "threshold": 0.2, "check_interval_seconds": 3600},
			}[fmt.Sprint(m["trigger_type"])]
		}
		if sc != nil {
			if _, ok := sc["collection_id"]; ok {
				sc["collection_id"] = fx.collection
			}
		}
		if ec, ok := m["execution_config"].(map[string]any); ok && ec != nil {
			if cfg, _ := ec["config"].(map[string]any); cfg["algorithm"] == nil {
				ec["config"] = map[string]any{"algorithm": "kmeans", "n_clusters": 4}
			}
			delete(m, "cluster_id")
		} else {
			m["cluster_id"] = fx.cluster
		}
		m["status"] = "paused" // nothing fires during the test
	}
	// An attribute cluster needs its attribute_config; attribute_based
	// needs cluster_type attribute.
	if m, ok := b.(map[string]any); ok {
		vc, _ := m["vector_config"].(map[string]any)
		if m["cluster_type"] == "attribute" || (vc != nil && vc["clustering_method"] == "attribute_based") {
			m["cluster_type"] = "attribute"
			if m["attribute_config"] == nil {
				m["attribute_config"] = map[string]any{"attributes": []any{"category"}}
			}
			if vc != nil {
				vc["clustering_method"] = "attribute_based"
			}
		} else if m["attribute_config"] != nil && strings.HasPrefix(opID, "create_cluster") {
			m["cluster_type"] = "attribute"
			if vc != nil {
				vc["clustering_method"] = "attribute_based"
			}
		}
		if _, ok := m["collection_ids"]; ok && strings.HasPrefix(opID, "create_cluster") && m["cluster_type"] != "attribute" && m["vector_config"] == nil {
			m["vector_config"] = map[string]any{"clustering_method": "kmeans"}
		}
	}
	return b
}

// listFields are, per list operation, the fields its filters know, by the
// JSON type of a condition's value: the field a condition naming something
// else is pointed at.
var listFields = map[string]map[string]string{
	"list_clusters":           {"string": "cluster_name", "number": "cluster_name", "bool": "cluster_name"},
	"list_cluster_executions": {"string": "status", "number": "num_clusters", "bool": "status"},
	"list_tasks":              {"string": "status", "number": "status", "bool": "status"},
}

// fixCondition points a condition at a field of its list: documents (a
// cluster's filters) take any payload key, the other lists their own
// fields, with a value of the field's type.
func fixCondition(opID string, m map[string]any) {
	for prefix, fields := range listFields {
		if !strings.HasPrefix(opID, prefix) {
			continue
		}
		known := map[string]bool{}
		for _, f := range fields {
			known[f] = true
		}
		for _, f := range []string{"created_at", "completed_at", "run_id", "task_id", "cluster_id", "num_points", "metrics.silhouette_score"} {
			known[f] = true
		}
		if f, _ := m["field"].(string); known[f] {
			return
		}
		kind := "string"
		switch v := m["value"].(type) {
		case float64:
			kind = "number"
		case bool:
			kind = "bool"
			m["value"] = fmt.Sprint(v)
		case nil:
			m["value"] = "x"
		case []any, map[string]any:
			m["value"] = "x"
		}
		m["field"] = fields[kind]
		return
	}
	if f, _ := m["field"].(string); f == "" || f == "xxx" {
		m["field"] = "category"
		if m["value"] == nil {
			m["value"] = "electronics"
		}
	}
}

// paramsMethod names the algorithm a parameter object belongs to, by a
// parameter only that algorithm has (checked in an order that separates
// the models sharing names: OPTICS has eps and min_cluster_size too,
// spectral clustering affinity).
func paramsMethod(p map[string]any) string {
	for _, k := range []struct{ key, method string }{
		{"xi", "optics"}, {"assign_labels", "spectral"}, {"covariance_type", "gaussian_mixture"}, {"bin_seeding", "mean_shift"},
		{"copy_x", "kmeans"}, {"linkage", "agglomerative"}, {"min_cluster_size", "hdbscan"}, {"eps", "dbscan"},
	} {
		if _, ok := p[k.key]; ok {
			return k.method
		}
	}
	return ""
}

func walkObjects(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, e := range x {
			walkObjects(e, fn)
		}
	case []any:
		for _, e := range x {
			walkObjects(e, fn)
		}
	}
}

// after records what an accepted request created.
func (fx *fixtures) after(t *testing.T, opID, method string, resp []byte) {
	if !strings.HasPrefix(opID, "create_cluster_v1") && !strings.HasPrefix(opID, "instantiate") {
		return
	}
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	if json.Unmarshal(resp, &cl) == nil && cl.ClusterID != "" {
		fx.created = append(fx.created, cl.ClusterID)
	}
}

// executeAll runs every cluster the variants created: each run must
// complete (the definitions were accepted, so they must also run).
func (fx *fixtures) executeAll(t *testing.T, r *conformanceReport) {
	for _, id := range fx.created {
		fx.e.ok("POST", "/v1/clusters/"+id+"/execute", nil, nil)
	}
	for _, id := range fx.created {
		res := fx.e.wait(id)
		r.Executed++
		// A run whose filters select fewer than 2 documents fails with
		// that data reason (the contract's example filters select by
		// fields the fixture documents lack).
		if msg := str(res.ErrorMessage); strings.HasPrefix(msg, "Insufficient documents for clustering") {
			continue
		}
		if res.Status != "completed" {
			var cl map[string]any
			fx.e.ok("GET", "/v1/clusters/"+id, nil, &cl)
			t.Errorf("cluster %s: run %v: %v\ndefinition %s", id, res.Status, str(res.ErrorMessage), marshal(cl["vector_config"]))
		}
	}
}
