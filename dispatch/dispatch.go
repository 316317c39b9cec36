// Package dispatch decides where clustering runs execute and hands out
// Executors for them: the CPU backend in this process, always there (the
// service and the CLI are pure Go), or a GPU through the clusterd-gpu
// worker process (built with -tags cuda) when one is found and reports a
// usable device. Every reason a GPU is not used is kept, so it can be
// logged, counted and shown by `clusterd devices` and
// GET /v1/system/backends (whose JSON is Status).
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/worker"
)

// Modes a Manager is started in (--backend).
const (
	ModeAuto = "auto"
	ModeCPU  = "cpu"
	ModeGPU  = "gpu"
)

// WorkerBinary is the GPU worker's executable name.
const WorkerBinary = "clusterd-gpu"

// ErrNoGPU is wrapped when a GPU is required and none can be used.
var ErrNoGPU = errors.New("no usable GPU")

// Exit statuses of `clusterd-gpu devices` (and of every clusterd-gpu
// subcommand, for the first two) when no GPU can be used, one per cause, so
// that Probe classifies without reading the message. 1 is any other
// failure and 2 a usage error.
const (
	ExitNotBuilt = 3 // clusterd-gpu was built without the cuda tag
	ExitNoDevice = 4 // cuInit failed (no usable driver or device), or no device is supported
	// exitLoader is the dynamic loader's status when it cannot start the
	// binary: for clusterd-gpu, libcuda.so.1 (the driver) is missing.
	exitLoader = 127
)

// Why no GPU is used: the Kind of an Unavailable, shown as
// gpu_unavailable_kind by GET /v1/system/backends, and the reason label of
// clusterd_backend_fallbacks_total for runs that wanted a GPU (runs that
// failed on a GPU count under their worker.Error kind instead).
const (
	UnavailableNotRequested = "not_requested" // started with --backend cpu
	UnavailableNoWorker     = "no_worker"     // no clusterd-gpu next to clusterd or on PATH
	UnavailableNotBuilt     = "not_built"     // clusterd-gpu without CUDA (ExitNotBuilt)
	UnavailableNoDriver     = "no_driver"     // libcuda.so.1 missing (the loader's 127)
	UnavailableNoDevice     = "no_device"     // no usable or supported device (ExitNoDevice, or an empty list)
	UnavailableProbeFailed  = "probe_failed"  // the device query failed otherwise: timeout, crash, unreadable output
)

// Unavailable is why no GPU is used: a Kind from the table above (or, from
// RetryOnCPU, the worker.Error kind of a run that failed on a GPU) and one
// line for people. It is the error Probe returns.
type Unavailable struct {
	Kind   string
	Reason string
}

func (u *Unavailable) Error() string { return u.Reason }

// Device is a GPU as the worker reports it.
type Device struct {
	Index             int    `json:"index"`
	Name              string `json:"name"`
	ComputeCapability string `json:"compute_capability"`
	MemoryTotalBytes  int64  `json:"memory_total_bytes"`
	MemoryFreeBytes   int64  `json:"memory_free_bytes"`
	DriverVersion     string `json:"driver_version"`
}

// Status describes the backends of this process.
type Status struct {
	Mode      string   `json:"mode"`      // auto, cpu or gpu, as started
	Chosen    string   `json:"chosen"`    // the backend runs go to by default
	Available []string `json:"available"` // "cpu", and "gpu:N" per usable device
	CPU       CPUInfo  `json:"cpu"`
	Devices   []Device `json:"gpu_devices"`
	// GPUUnavailableReason says why no GPU is used, GPUUnavailableKind
	// the cause (an Unavailable kind); both empty when one is used.
	GPUUnavailableReason string `json:"gpu_unavailable_reason,omitempty"`
	GPUUnavailableKind   string `json:"gpu_unavailable_kind,omitempty"`
	WorkerPath           string `json:"gpu_worker_path,omitempty"`
}

// CPUInfo describes the CPU backend.
type CPUInfo struct {
	Threads int    `json:"threads"`
	Kernel  string `json:"kernel"`
}

// Executor runs whole engine runs on one backend: in this process (the
// CPU) or in a GPU worker process.
type Executor interface {
	// Name is the backend's name in results and metrics ("cpu", "gpu:0").
	Name() string
	// Fit is engine.Fit on this backend.
	Fit(ctx context.Context, in engine.Input, spec engine.Spec, progress func(engine.Progress)) (*engine.Result, error)
}

// Local runs the engine in this process on a kernels.Backend.
type Local struct{ Backend kernels.Backend }

// Name implements Executor.
func (l Local) Name() string { return l.Backend.Name() }

// Fit implements Executor.
func (l Local) Fit(ctx context.Context, in engine.Input, spec engine.Spec, progress func(engine.Progress)) (*engine.Result, error) {
	return engine.Fit(ctx, in, spec, engine.Options{Backend: l.Backend, Progress: progress})
}

// remote runs the engine in a GPU worker process on one device.
type remote struct {
	device int
	p      *worker.Process
}

func (r *remote) Name() string { return fmt.Sprintf("gpu:%d", r.device) }

func (r *remote) Fit(ctx context.Context, in engine.Input, spec engine.Spec, progress func(engine.Progress)) (*engine.Result, error) {
	return r.p.Fit(ctx, in, spec, progress)
}

// Manager owns the backends of a process.
type Manager struct {
	mode   string
	cpu    *cpu.Backend
	gpus   []*remote
	next   atomic.Uint64 // round robin over gpus
	status Status
}

// Options configure a Manager.
type Options struct {
	Mode       string // auto, cpu or gpu
	CPUThreads int    // goroutines one CPU kernel uses; 0: GOMAXPROCS
	// WorkerPath overrides where clusterd-gpu is looked for.
	WorkerPath string
	// ProbeTimeout bounds the device query (default 20 s: a first CUDA
	// initialisation can take seconds).
	ProbeTimeout time.Duration
	// TmpDir holds the files runs exchange with GPU workers (default
	// os.TempDir()).
	TmpDir string
}

// New starts a Manager. In gpu mode it fails with ErrNoGPU (wrapped, with
// the reason) when no GPU can be used; in auto mode it falls back to the CPU
// and records why.
func New(opts Options) (*Manager, error) {
	if opts.Mode == "" {
		opts.Mode = ModeAuto
	}
	switch opts.Mode {
	case ModeAuto, ModeCPU, ModeGPU:
	default:
		return nil, fmt.Errorf("backend must be auto, cpu or gpu, got %q", opts.Mode)
	}
	m := &Manager{mode: opts.Mode, cpu: cpu.New(cpu.Options{Threads: opts.CPUThreads})}
	m.status = Status{Mode: opts.Mode, Chosen: "cpu", Available: []string{"cpu"}, Devices: []Device{},
		CPU: CPUInfo{Threads: m.cpu.Threads(), Kernel: cpuKernel(m.cpu)}}
	if opts.Mode == ModeCPU {
		m.status.GPUUnavailableReason, m.status.GPUUnavailableKind = "not requested (--backend cpu)", UnavailableNotRequested
		return m, nil
	}
	devices, path, err := Probe(opts.WorkerPath, opts.ProbeTimeout)
	m.status.WorkerPath = path
	if err == nil && len(devices) == 0 {
		err = &Unavailable{Kind: UnavailableNoDevice, Reason: "the GPU worker reports no devices"}
	}
	if err != nil {
		var u *Unavailable
		if !errors.As(err, &u) {
			u = &Unavailable{Kind: UnavailableProbeFailed, Reason: err.Error()}
		}
		m.status.GPUUnavailableReason, m.status.GPUUnavailableKind = u.Reason, u.Kind
		if opts.Mode == ModeGPU {
			return nil, fmt.Errorf("%w: %v", ErrNoGPU, err)
		}
		return m, nil
	}
	m.status.Devices = devices
	m.status.Available = nil
	for _, d := range devices {
		r := &remote{device: d.Index, p: worker.NewProcess(opts.TmpDir, path, "worker", "--device", strconv.Itoa(d.Index))}
		m.gpus = append(m.gpus, r)
		m.status.Available = append(m.status.Available, r.Name())
	}
	m.status.Available = append(m.status.Available, "cpu")
	m.status.Chosen = m.gpus[0].Name()
	return m, nil
}

// Close stops the GPU worker processes.
func (m *Manager) Close() error {
	for _, g := range m.gpus {
		g.p.Close()
	}
	return nil
}

// cpuKernel names the CPU kernel path when the backend reports one.
func cpuKernel(b *cpu.Backend) string {
	if k, ok := any(b).(interface{ Kernel() string }); ok {
		return k.Kernel()
	}
	return "go"
}

// Status reports the backends.
func (m *Manager) Status() Status { return m.status }

// CPU is the CPU executor (also the fallback of a failed GPU run).
func (m *Manager) CPU() Executor { return Local{Backend: m.cpu} }

// CPUBackend is the CPU kernels.Backend.
func (m *Manager) CPUBackend() *cpu.Backend { return m.cpu }

// Choose picks the executor for one run: want is the run's own choice
// ("", auto, cpu, gpu). With GPUs, auto takes them in turn. It also returns,
// when the run could have used a GPU but runs on the CPU, why (nil
// otherwise).
func (m *Manager) Choose(want string) (Executor, *Unavailable, error) {
	switch want {
	case "", ModeAuto:
		if m.mode == ModeCPU {
			return m.CPU(), nil, nil
		}
		if len(m.gpus) > 0 {
			return m.gpus[(m.next.Add(1)-1)%uint64(len(m.gpus))], nil, nil
		}
		return m.CPU(), &Unavailable{Kind: m.status.GPUUnavailableKind, Reason: m.status.GPUUnavailableReason}, nil
	case ModeCPU:
		return m.CPU(), nil, nil
	case ModeGPU:
		if len(m.gpus) > 0 {
			return m.gpus[(m.next.Add(1)-1)%uint64(len(m.gpus))], nil, nil
		}
		return nil, nil, fmt.Errorf("%w: %s", ErrNoGPU, m.status.GPUUnavailableReason)
	}
	return nil, nil, fmt.Errorf("backend must be auto, cpu or gpu, got %q", want)
}

// RetryOnCPU says whether a run that failed on exec with err should be rerun
// on the CPU: when err is a worker.Error (only GPU workers return those)
// that the CPU does not share (out of memory, a device fault, a dead
// worker), and ctx is not done. It then returns why, with the
// worker.Error's kind as Kind; nil otherwise.
func RetryOnCPU(ctx context.Context, exec Executor, err error) *Unavailable {
	var we *worker.Error
	if !errors.As(err, &we) || !we.Retryable() || ctx.Err() != nil {
		return nil
	}
	return &Unavailable{Kind: we.Kind, Reason: fmt.Sprintf("the run failed on %s (%s: %s) and was rerun on the CPU", exec.Name(), we.Kind, we.Message)}
}

// FindWorker looks for clusterd-gpu next to the running binary, then on PATH.
func FindWorker(override string) (string, error) {
	if override != "" {
		if _, err := os.Stat(override); err != nil {
			return "", &Unavailable{Kind: UnavailableNoWorker, Reason: fmt.Sprintf("GPU worker %s: %v", override, err)}
		}
		return override, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), WorkerBinary)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(WorkerBinary)
	if err != nil {
		return "", &Unavailable{Kind: UnavailableNoWorker,
			Reason: fmt.Sprintf("no %s worker binary next to clusterd or on PATH (build it with `go build -tags cuda ./cmd/clusterd-gpu`)", WorkerBinary)}
	}
	return p, nil
}

// Probe runs `clusterd-gpu devices --json` and returns the devices it
// reports. Any failure (no binary, no driver, no device) is an
// *Unavailable, classified by the worker's exit status; its Reason is the
// last line the worker wrote on standard error.
func Probe(override string, timeout time.Duration) ([]Device, string, error) {
	path, err := FindWorker(override)
	if err != nil {
		return nil, "", err
	}
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "devices", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			msg = err.Error()
		}
		kind := UnavailableProbeFailed
		var ee *exec.ExitError
		if errors.As(err, &ee) && ctx.Err() == nil {
			switch ee.ExitCode() {
			case ExitNotBuilt:
				kind = UnavailableNotBuilt
			case ExitNoDevice:
				kind = UnavailableNoDevice
			case exitLoader:
				kind = UnavailableNoDriver
			}
		}
		return nil, path, &Unavailable{Kind: kind, Reason: fmt.Sprintf("%s devices failed: %s", WorkerBinary, msg)}
	}
	var devices []Device
	if err := json.Unmarshal(out, &devices); err != nil {
		return nil, path, &Unavailable{Kind: UnavailableProbeFailed, Reason: fmt.Sprintf("%s devices: unreadable output: %v", WorkerBinary, err)}
	}
	return devices, path, nil
}
