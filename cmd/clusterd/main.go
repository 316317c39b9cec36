// Command clusterd is the clustering engine service and its command-line
// tools:
//
//	clusterd serve     run the HTTP API (the default when no command is given)
//	clusterd fit       cluster a file (.npy or NDJSON) and write the result
//	clusterd metrics   score given labels (silhouette, Davies–Bouldin, Calinski–Harabasz)
//	clusterd bench     time whole runs on every available backend
//	clusterd devices   list the backends and GPUs this machine can use
//
// Exit status: 0 on success, 2 for bad arguments or bad input (with a
// one-line reason on stderr), 1 for any other failure.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// usageError marks an error caused by the command line or the input, which
// exits with status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// parseFlags parses a command's flags quietly; on -h it prints them and
// reports help, and a bad flag is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
			return true, nil
		}
		return false, usageError{err}
	}
	return false, nil
}

// cpuThreadsFlag registers --cpu-threads (goroutines one CPU kernel uses; 0
// is one per core) and its deprecated name --workers, which now means a
// run's concurrency in serve.
func cpuThreadsFlag(fs *flag.FlagSet) *int {
	n := new(int)
	fs.IntVar(n, "cpu-threads", 0, "goroutines one CPU kernel uses (0: one per core)")
	fs.IntVar(n, "workers", 0, "deprecated: use --cpu-threads")
	return n
}

var commands = map[string]func(args []string) error{
	"serve":   runServe,
	"fit":     runFit,
	"metrics": runMetrics,
	"devices": runDevices,
	"bench":   runBench,
}

func main() {
	args := os.Args[1:]
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Fprintln(os.Stderr, "usage: clusterd [serve|fit|metrics|bench|devices] [flags]; clusterd COMMAND -h for the flags")
		return
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "clusterd: unknown command %q (want serve, fit, metrics, bench or devices)\n", name)
		os.Exit(2)
	}
	if err := cmd(args); err != nil {
		fmt.Fprintf(os.Stderr, "clusterd %s: %v\n", name, err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
