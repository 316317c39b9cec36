package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterd/clusterd/blob/blobtest"
	"github.com/clusterd/clusterd/internal/pgtest"
)

// The scale-out tests run several clusterd serve processes on one
// PostgreSQL database (a throwaway server, internal/pgtest) and one shared
// data directory or one S3 bucket (gofakes3, blob/blobtest), as
// docs/DESIGN.md ("Scaling out") describes. They skip,
// saying why, when PostgreSQL is not installed.

// cluster starts n processes on one database and directory.
func cluster(t *testing.T, n int, lease string, bucket bool) ([]*server, string) {
	t.Helper()
	url := pgtest.URL(t)
	dir := t.TempDir()
	args := []string{"--database-url", url, "--job-lease", lease}
	if bucket {
		s3 := blobtest.Start(t, "clusterd") // sets the AWS_* credentials the children inherit
		args = append(args, "--blob-url", s3.URL("scale"))
	}
	var out []*server
	for i := 0; i < n; i++ {
		if bucket {
			dir = t.TempDir() // a data directory of its own: the vectors are in the bucket
		}
		s := &server{t: t, dir: dir, addr: freeAddr(t), args: args}
		s.start()
		t.Cleanup(s.stop)
		out = append(out, s)
	}
	return out, url
}

var (
	startedRe  = regexp.MustCompile(`msg="run started" run_id=(\S+)`)
	finishedRe = regexp.MustCompile(`msg="run finished" run_id=(\S+)`)
)

// events counts, per run, the processes' log lines matching re: a map
// from run id to the index of each process that logged it.
func events(servers []*server, re *regexp.Regexp) map[string][]int {
	out := map[string][]int{}
	for i, s := range servers {
		for _, m := range re.FindAllStringSubmatch(s.log.String(), -1) {
			out[m[1]] = append(out[m[1]], i)
		}
	}
	return out
}

// TestScaleOut: three processes on one PostgreSQL database, sharing one
// data directory, or each with its own and vectors and artifacts in one
// S3 bucket (gofakes3). 30 runs queued
// through all three complete, each started and finished exactly once,
// spread over the processes; each process answers the latest execution
// another one wrote; and a run whose process is killed (SIGKILL) is
// finished by another once its lease lapsed.
func TestScaleOut(t *testing.T) {
	for _, c := range []struct {
		name   string
		bucket bool
	}{
		{"one data directory", false},
		{"one bucket, a data directory each", true},
	} {
		t.Run(c.name, func(t *testing.T) { scaleOut(t, c.bucket) })
	}
}

func scaleOut(t *testing.T, bucket bool) {
	servers, url := cluster(t, 3, "2s", bucket)
	quick := servers[0].load("docs", 4000, `{"n_clusters":8,"n_init":5}`)
	var runs []string
	for i := 0; i < 30; i++ {
		runs = append(runs, servers[i%3].execute(quick))
	}
	for i, r := range runs {
		if e := servers[(i+1)%3].waitFor(quick, r, "finished", finished); e.Status != "completed" || e.NumPoints != 4000 {
			t.Fatalf("run %s: %s\n%s", r, e.raw, errorLines(servers))
		}
	}
	starts, finishes := events(servers, startedRe), events(servers, finishedRe)
	perProcess := make([]int, len(servers))
	for _, r := range runs {
		if len(starts[r]) != 1 || len(finishes[r]) != 1 {
			t.Errorf("run %s started by processes %v, finished by %v; want once each", r, starts[r], finishes[r])
			continue
		}
		perProcess[starts[r][0]]++
	}
	t.Logf("30 runs: started once each: %v; runs per process %v", len(starts) == 30, perProcess)
	busy := 0
	for _, n := range perProcess {
		if n > 0 {
			busy++
		}
	}
	if busy < 2 {
		t.Errorf("runs per process %v: the queue did not spread", perProcess)
	}
	// Read consistency: every process answers the newest run, whoever
	// wrote it, once the commit's notification reached it (a cached answer
	// lasts until then; see store.LatestResult): within a second here.
	last := runs[len(runs)-1]
	for i, s := range servers {
		var latest execution
		for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
			s.json("GET", "/v1/clusters/"+quick+"/executions", nil, &latest)
			if latest.RunID == last && latest.Status == "completed" || time.Now().After(deadline) {
				break
			}
		}
		if latest.RunID != last || latest.Status != "completed" {
			t.Errorf("process %d's latest execution a second after: %s %s, want %s completed", i, latest.RunID, latest.Status, last)
		}
	}

	// Claim latency on idle processes: one run at a time, queued through
	// each process in turn; started_at − created_at as the database has
	// them (both stamped by this machine's clock).
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lat []time.Duration
	for i := 0; i < 9; i++ {
		time.Sleep(300 * time.Millisecond) // every worker idle, past any poll
		r := servers[i%3].execute(quick)
		servers[i%3].waitFor(quick, r, "finished", finished)
		var us int64
		if err := db.QueryRow(`SELECT started_at - created_at FROM main.runs WHERE run_id = $1`, r).Scan(&us); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Duration(us)*time.Microsecond)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("claim latency, enqueue to start on idle processes (9 runs): median %v, max %v", lat[len(lat)/2], lat[len(lat)-1])

	// SIGKILL the process running a slow run: another takes it over
	// once its lease lapsed, and it completes once.
	slow := servers[0].load("big", 20000, slowRun)
	run := servers[1].execute(slow)
	servers[1].waitFor(slow, run, "processing", func(e execution) bool { return e.Status == "processing" })
	victim := -1
	for victim < 0 {
		if s := events(servers, startedRe)[run]; len(s) > 0 {
			victim = s[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	servers[victim].kill(syscall.SIGKILL)
	killedAt := time.Now()
	other := servers[(victim+1)%3]
	e := other.waitFor(slow, run, "finished", finished)
	if e.Status != "completed" || e.NumPoints != 20000 {
		t.Fatalf("run after its process was killed: %s", e.raw)
	}
	starts, finishes = events(servers, startedRe), events(servers, finishedRe)
	t.Logf("killed process %d running %s; started by %v, finished by %v, %v after the kill (lease 2s)", victim, run, starts[run], finishes[run], time.Since(killedAt).Round(time.Millisecond))
	if len(starts[run]) != 2 || len(finishes[run]) != 1 || finishes[run][0] == victim {
		t.Errorf("killed run: started by %v, finished by %v (killed: %d)", starts[run], finishes[run], victim)
	}
	var col struct {
		DocumentCount int `json:"document_count"`
	}
	other.json("GET", "/v1/collections/big", nil, &col)
	if col.DocumentCount != 20000 {
		t.Errorf("collection has %d documents after the kill", col.DocumentCount)
	}
	if e := errorLines(servers); e != "" {
		t.Errorf("the processes logged errors:\n%s", e)
	}
}

// TestPausedWorkerIsFenced: a process paused (SIGSTOP) past its lease
// while it runs a run loses the run to another process; when it resumes it
// writes nothing (its lease token is stale) and the other process's
// outcome stands.
func TestPausedWorkerIsFenced(t *testing.T) {
	servers, _ := cluster(t, 1, "1s", false)
	a := servers[0]
	slow := a.load("big", 20000, slowRun)
	run := a.execute(slow)
	a.waitFor(slow, run, "processing", func(e execution) bool { return e.Status == "processing" })
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	b := &server{t: t, dir: a.dir, addr: freeAddr(t), args: a.args}
	b.start()
	defer b.stop()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.log.String(), `msg="run started" run_id=`+run) {
		if time.Now().After(deadline) {
			t.Fatalf("the second process never took the run over:\n%s", b.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	e := b.waitFor(slow, run, "finished", finished)
	if e.Status != "completed" {
		t.Fatalf("run: %s", e.raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !strings.Contains(a.log.String(), "job lease lost") && !strings.Contains(a.log.String(), "lost the job's lease") {
		if ctx.Err() != nil {
			t.Fatalf("the resumed process did not notice its lost lease:\n%s", a.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if after := b.execution(slow, run); string(after.raw) != string(e.raw) {
		t.Errorf("the fenced process changed the run:\nbefore %s\nafter  %s", e.raw, after.raw)
	}
	if strings.Contains(a.log.String(), `msg="run finished" run_id=`+run) {
		t.Errorf("the paused process recorded an outcome:\n%s", a.log)
	}
	// Its artifacts too: the run's result points to the files of the
	// claim that finished it (the second, lease token 2), which only that
	// claim wrote; whatever the resumed process wrote went under its own
	// key (t1).
	if _, err := os.Stat(filepath.Join(a.dir, "runs", run, "t2", "members.parquet")); err != nil {
		t.Errorf("the finishing claim's artifacts: %v", err)
	}
	var arts struct {
		TotalMembers int `json:"total_members"`
	}
	b.json("GET", "/v1/clusters/"+slow+"/executions/"+run+"/artifacts?include_members=true&limit=1", nil, &arts)
	if arts.TotalMembers != 20000 {
		t.Errorf("the run's artifacts have %d members, want 20000", arts.TotalMembers)
	}
	t.Logf("paused process: %q", fmt.Sprint(regexp.MustCompile(`.*(lost the job's lease|job lease lost).*`).FindString(a.log.String())))
}

// errorLines are the processes' logged errors, for failure messages.
func errorLines(servers []*server) string {
	var b strings.Builder
	for i, s := range servers {
		for _, l := range strings.Split(s.log.String(), "\n") {
			if strings.Contains(l, "level=ERROR") {
				fmt.Fprintf(&b, "process %d: %s\n", i, l)
			}
		}
	}
	return b.String()
}

// TestLatestExecutionLoad measures the latest-execution endpoint of one
// process with wrk (-t2 -c64, 10 s), on SQLite and on PostgreSQL on this
// machine, and logs wrk's report. It is a measurement, not a check: it
// runs only with CLUSTERD_WRK=1 and wrk installed.
func TestLatestExecutionLoad(t *testing.T) {
	if os.Getenv("CLUSTERD_WRK") != "1" {
		t.Skip("a measurement: set CLUSTERD_WRK=1 (needs wrk)")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed")
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		s := newServer(t)
		if dialect == "postgres" {
			s.args = []string{"--database-url", pgtest.URL(t)}
		}
		s.args = append(s.args, "--log-level", "warn")
		s.start()
		cl := s.load("docs", 2000, `{"n_clusters":8}`)
		run := s.execute(cl)
		s.waitFor(cl, run, "finished", finished)
		out, err := exec.Command(wrk, "-t2", "-c64", "-d10s", "--latency", "http://"+s.addr+"/v1/clusters/"+cl+"/executions").CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		t.Logf("%s:\n%s", dialect, out)
		s.stop()
	}
}
