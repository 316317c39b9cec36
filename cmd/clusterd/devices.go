package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/clusterd/clusterd/dispatch"
)

// runDevices prints the backends this machine can use: the CPU kernel path,
// the GPUs the clusterd-gpu worker reports, and why a GPU is not used.
func runDevices(args []string) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	workerPath := fs.String("gpu-worker", os.Getenv("CLUSTERD_GPU_WORKER"), "path of clusterd-gpu (default: next to clusterd, then PATH)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	m, err := dispatch.New(dispatch.Options{Mode: dispatch.ModeAuto, WorkerPath: *workerPath})
	if err != nil {
		return err
	}
	defer m.Close()
	st := m.Status()
	if *asJSON {
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Println(string(b))
		return nil
	}
	fmt.Printf("cpu      %d threads, kernel %s\n", st.CPU.Threads, st.CPU.Kernel)
	for _, d := range st.Devices {
		fmt.Printf("gpu:%d    %s, compute capability %s, %.1f GiB (%.1f GiB free), driver %s\n", d.Index, d.Name, d.ComputeCapability,
			float64(d.MemoryTotalBytes)/(1<<30), float64(d.MemoryFreeBytes)/(1<<30), d.DriverVersion)
	}
	fmt.Printf("chosen   %s\n", st.Chosen)
	if st.GPUUnavailableReason != "" {
		fmt.Printf("no GPU   %s: %s\n", st.GPUUnavailableKind, st.GPUUnavailableReason)
	}
	return nil
}
