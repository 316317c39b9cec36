package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/rawbytes"
)

// Process is a worker child process, started on first use and restarted
// after it dies or reports a device error. It runs one request at a time.
type Process struct {
	command []string
	tmpDir  string

	turn   chan struct{} // holds a token while a caller owns the process (one run at a time)
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan Event
	stop   chan struct{} // closed by kill: the reader stops delivering events
	dead   chan struct{}
	name   string
	seq    atomic.Int64
	stderr *tailBuffer
	starts int
}

// NewProcess describes a worker started with command (path and arguments);
// run directories go under tmpDir (os.TempDir() when empty).
func NewProcess(tmpDir string, command ...string) *Process {
	return &Process{command: command, tmpDir: tmpDir, turn: make(chan struct{}, 1)}
}

// lock takes the process for the caller, giving up when ctx ends first.
func (p *Process) lock(ctx context.Context) error {
	select {
	case p.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Process) unlock() { <-p.turn }

// Name is the backend name the worker announced ("gpu:0"); empty before
// the first start.
func (p *Process) Name() string {
	p.lock(context.Background())
	defer p.unlock()
	return p.name
}

// Starts counts how often the process was started (restarts included).
func (p *Process) Starts() int {
	p.lock(context.Background())
	defer p.unlock()
	return p.starts
}

// start launches the process and waits for its hello line.
func (p *Process) start() error {
	cmd := exec.Command(p.command[0], p.command[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	p.stderr = &tailBuffer{max: 4096}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting worker %s: %w", p.command[0], err)
	}
	events := make(chan Event, 64)
	stop, dead := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
	read:
		for sc.Scan() {
			var ev Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				break // a worker that breaks the protocol is treated as dead
			}
			// Nobody reads events once the process is being killed (a
			// canceled run); waiting here would keep dead open for ever.
			select {
			case events <- ev:
			case <-stop:
				break read
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		close(dead)
	}()
	p.cmd, p.stdin, p.events, p.stop, p.dead = cmd, stdin, events, stop, dead
	p.starts++
	select {
	case ev := <-events:
		if ev.Hello == "" {
			p.kill()
			return fmt.Errorf("worker %s did not introduce itself", p.command[0])
		}
		p.name = ev.Hello
		return nil
	case <-dead:
		return fmt.Errorf("worker %s exited at start: %s", p.command[0], p.stderr.String())
	case <-time.After(60 * time.Second):
		p.kill()
		return fmt.Errorf("worker %s did not start within 60 s", p.command[0])
	}
}

func (p *Process) alive() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.dead:
		return false
	default:
		return true
	}
}

func (p *Process) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		close(p.stop)
		p.cmd.Process.Kill()
		<-p.dead
	}
	p.cmd = nil
}

// Close stops the process.
func (p *Process) Close() error {
	p.lock(context.Background())
	defer p.unlock()
	if p.alive() {
		p.stdin.Close()
		select {
		case <-p.dead:
		case <-time.After(5 * time.Second):
			p.kill()
		}
	}
	p.cmd = nil
	return nil
}

// Fit sends one run to the worker and waits for its result. A run waits
// its turn while another holds the process, and gives up when ctx ends
// first. Canceling ctx during the run kills the worker (a GPU context is
// torn down cleanly with its process); the next Fit starts a new one, as it
// does after a device error (a CUDA context may not survive one). Errors
// other than ctx's are *Error: KindCrash when the process died or broke the
// protocol, KindInternal when the run's files could not be prepared here.
func (p *Process) Fit(ctx context.Context, in engine.Input, spec engine.Spec, progress func(engine.Progress)) (*engine.Result, error) {
	if err := p.lock(ctx); err != nil {
		return nil, err
	}
	defer p.unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !p.alive() {
		if err := p.start(); err != nil {
			return nil, &Error{Kind: KindCrash, Message: err.Error(), Row: -1}
		}
	}
	dir, err := os.MkdirTemp(p.tmpDir, "clusterd-run-*")
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "creating the run directory: " + err.Error(), Row: -1}
	}
	defer os.RemoveAll(dir)
	if err := writeRaw(dir, InputFile, rawbytes.Float32s(in.X)); err != nil {
		return nil, &Error{Kind: KindInternal, Message: "writing the worker's input: " + err.Error(), Row: -1}
	}
	req := Request{ID: "r" + strconv.FormatInt(p.seq.Add(1), 10), Spec: spec, Input: InputRef{Dir: dir, N: in.N, D: in.D}}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "encoding the request: " + err.Error(), Row: -1}
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.kill()
		return nil, &Error{Kind: KindCrash, Message: "writing to the worker: " + err.Error(), Row: -1}
	}
	for {
		select {
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		case <-p.dead:
			msg := "the worker process exited during the run"
			if tail := p.stderr.String(); tail != "" {
				msg += ": " + tail
			}
			p.cmd = nil
			return nil, &Error{Kind: KindCrash, Message: msg, Row: -1}
		case ev := <-p.events:
			// An error without an id answers a request the worker could
			// not read: this one, as there is one at a time.
			if ev.ID != req.ID && !(ev.ID == "" && ev.Error != nil) {
				continue
			}
			switch {
			case ev.Progress != nil:
				if progress != nil {
					progress(*ev.Progress)
				}
			case ev.Error != nil:
				if ev.Error.Kind == KindDevice {
					p.kill()
				}
				return nil, ev.Error
			case ev.Result != nil:
				res, err := readResult(dir, in, ev.Result)
				if err != nil {
					p.kill()
					return nil, &Error{Kind: KindCrash, Message: "the worker's result is unreadable: " + err.Error(), Row: -1}
				}
				return res, nil
			}
		}
	}
}

// readResult rebuilds an engine.Result from the meta and the files.
func readResult(dir string, in engine.Input, m *ResultMeta) (*engine.Result, error) {
	metrics, stats := m.engineResult()
	res := &engine.Result{Algorithm: m.Algorithm, NumClusters: m.NumClusters, Metrics: metrics, Stats: stats, Vectors: in}
	var err error
	if res.Labels, err = readI32(dir, LabelsFile, in.N); err != nil {
		return nil, err
	}
	if res.Distances, err = readF32(dir, DistancesFile, in.N); err != nil {
		return nil, err
	}
	if m.Preprocessed {
		v := engine.Input{N: in.N, D: m.VectorsD}
		if v.X, err = readF32(dir, VectorsFile, in.N*m.VectorsD); err != nil {
			return nil, err
		}
		res.Vectors = v
	}
	d := res.Vectors.D
	if res.Centroids, err = readF32(dir, CentroidsFile, len(m.Clusters)*d); err != nil {
		return nil, err
	}
	for j, c := range m.Clusters {
		res.Clusters = append(res.Clusters, toCluster(c, res.Centroids[j*d:(j+1)*d]))
	}
	if len(m.SubClusters) > 0 {
		sub, err := readF32(dir, SubCentroidsFile, len(m.SubClusters)*d)
		if err != nil {
			return nil, err
		}
		for j, c := range m.SubClusters {
			res.SubClusters = append(res.SubClusters, toCluster(c, sub[j*d:(j+1)*d]))
		}
	}
	if m.HasLeaf {
		if res.Leaf, err = readI32(dir, LeafFile, in.N); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func toCluster(c ClusterMeta, centroid []float32) engine.Cluster {
	return engine.Cluster{Label: c.Label, ID: c.ID, Members: c.Members, Centroid: centroid[:len(centroid):len(centroid)], Variance: float64(c.Variance),
		MeanCosine: c.MeanCosine, MinCosine: c.MinCosine, Parent: c.Parent, Level: c.Level}
}

// tailBuffer keeps the last bytes written to it (a worker's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(trimLastLine(t.b))
}

// trimLastLine returns the last non-empty line.
func trimLastLine(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return b[i+1:]
		}
	}
	return b
}
