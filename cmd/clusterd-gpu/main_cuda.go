//go:build cuda || cudaemu

// Command clusterd-gpu is clusterd's GPU worker process (see the design
// notes, "GPU path and why it is a separate process"). clusterd starts it
// to list the devices and then once per device to run clustering jobs on
// it:
//
//	clusterd-gpu devices [--json]
//	clusterd-gpu worker --device N [--precision auto|fp32|tf32]
//
// devices prints the usable CUDA devices (name, compute capability, memory,
// driver version); with --json, as the array package dispatch reads. When
// none is usable it prints one line on standard error saying why and exits
// with status 4 (dispatch.ExitNoDevice).
//
// worker serves the worker protocol (package worker) on standard input and
// output with the gpu backend on device N.
//
// On a machine without an NVIDIA driver or device, every subcommand exits
// with status 4 (dispatch.ExitNoDevice) before main runs, printing one line
// on standard error (package gpu/internal/cuinit), for example:
//
//	clusterd-gpu: no usable CUDA driver or device: cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)
//
// Without libcuda.so.1 at all, the dynamic loader refuses to start the
// binary (status 127, with its own one-line message).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/gpu"
	"github.com/clusterd/clusterd/worker"
)

const usage = `usage:
  clusterd-gpu devices [--json]
  clusterd-gpu worker --device N [--precision auto|fp32|tf32]`

func main() {
	if len(os.Args) < 2 {
		fail(2, usage)
	}
	var err error
	switch os.Args[1] {
	case "devices":
		err = devices(os.Args[2:], os.Stdout)
	case "worker":
		err = serve(os.Args[2:])
	default:
		fail(2, usage)
	}
	var none errNoDevice
	switch {
	case errors.As(err, &none):
		fail(dispatch.ExitNoDevice, "clusterd-gpu: "+err.Error())
	case err != nil:
		fail(1, "clusterd-gpu: "+err.Error())
	}
}

// errNoDevice is devices' failure when no device is usable.
type errNoDevice struct{ error }

// fail prints msg on one line of standard error and exits.
func fail(code int, msg string) {
	if code != 2 {
		msg = strings.ReplaceAll(msg, "\n", "; ") // callers read the last line as the reason
	}
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(code)
}

func devices(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the usable devices as a JSON array")
	if err := fs.Parse(args); err != nil {
		fail(2, usage)
	}
	infos, err := gpu.Devices()
	if err != nil {
		return errNoDevice{err}
	}
	var usable []dispatch.Device
	var reasons []string
	for _, d := range infos {
		if err := d.Supported(); err != nil {
			reasons = append(reasons, fmt.Sprintf("device %d (%s): %v", d.Index, d.Name, err))
			continue
		}
		usable = append(usable, dispatch.Device{
			Index: d.Index, Name: d.Name, ComputeCapability: d.ComputeCapability(),
			MemoryTotalBytes: d.TotalMemory, MemoryFreeBytes: d.FreeMemory, DriverVersion: d.Driver(),
		})
	}
	if len(usable) == 0 {
		if len(reasons) == 0 {
			return errNoDevice{errors.New("no CUDA devices")}
		}
		return errNoDevice{errors.New("no supported CUDA device: " + strings.Join(reasons, "; "))}
	}
	if *asJSON {
		return json.NewEncoder(w).Encode(usable)
	}
	for _, d := range usable {
		fmt.Fprintf(w, "gpu:%d  %s  compute %s  memory %.1f GiB (%.1f GiB free)  CUDA driver %s\n", d.Index, d.Name,
			d.ComputeCapability, float64(d.MemoryTotalBytes)/(1<<30), float64(d.MemoryFreeBytes)/(1<<30), d.DriverVersion)
	}
	for _, r := range reasons {
		fmt.Fprintln(w, "not used:", r)
	}
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	device := fs.Int("device", -1, "CUDA device ordinal")
	precision := fs.String("precision", gpu.PrecisionAuto, "assignment precision: auto, fp32 or tf32")
	if err := fs.Parse(args); err != nil || *device < 0 {
		fail(2, usage)
	}
	be, err := gpu.New(gpu.Options{Device: *device, Precision: *precision})
	if err != nil {
		return err
	}
	err = worker.Serve(os.Stdin, os.Stdout, worker.ServeOptions{Backend: be, Classify: gpu.Classify})
	return errors.Join(err, be.Close())
}
