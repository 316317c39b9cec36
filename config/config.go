// Package config declares clusterd serve's settings once: each has a
// field of Serve, a flag, a CLUSTERD_* environment variable, a default
// (Defaults) and a description. Parse reads flags over the environment
// over the defaults; a value that does not parse, in a flag or in the
// environment, is an error naming where it came from, never a silent
// default. The README's configuration table is checked against Options.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Serve is the configuration of clusterd serve.
type Serve struct {
	// Addr is the listen address.
	Addr string
	// DataDir holds the SQLite database, vector segments and run artifacts
	// (one process per directory with SQLite; processes sharing a
	// PostgreSQL database may share it).
	DataDir string
	// DatabaseURL is the database for metadata, runs and the queue: empty
	// for SQLite in DataDir, or postgres://… for PostgreSQL, which several
	// processes may share.
	DatabaseURL string
	// JobLease is how long a claimed run stays reserved for its process
	// without a heartbeat (heartbeats come every third of it); another
	// process takes a run over once its lease lapsed.
	JobLease time.Duration
	// APIKeys are bearer keys, "key1,key2=ns1|ns2" (a key with = is limited
	// to those namespaces); empty turns authentication off.
	APIKeys string
	// Backend is where kernels run: auto (a GPU when usable, else the CPU),
	// cpu, or gpu (a start-up error without a usable GPU).
	Backend string
	// ConcurrentRuns is how many clustering runs execute at once (one run
	// already uses every core).
	ConcurrentRuns int
	// CPUThreads is the number of goroutines one CPU kernel uses; 0 is one
	// per core.
	CPUThreads int
	// MaxAttempts is how many times a run is started before a run whose
	// process keeps dying ends failed.
	MaxAttempts int
	// TriggerMaxFailures is how many consecutive failed runs pause a
	// trigger.
	TriggerMaxFailures int
	// MaxBodyBytes bounds JSON request bodies (413 above).
	MaxBodyBytes int64
	// MaxImportBytes bounds bulk imports (NDJSON and .npy bodies of known
	// length are streamed, the others spooled to disk).
	MaxImportBytes int64
	// GPUWorker is the clusterd-gpu binary; empty looks next to clusterd,
	// then on PATH.
	GPUWorker string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// DrainDelay is how long, after SIGTERM, /readyz answers 503 while
	// requests are still served, so a load balancer stops sending new ones
	// before the listener closes.
	DrainDelay time.Duration
	// BlobURL is where run artifacts live (see package blob): empty is
	// the data directory (file://DataDir, runs/<run_id>/...), else
	// file:///abs/dir or s3://bucket/prefix?endpoint=host:port&region=r&secure=false.
	BlobURL string
	// BlobCacheBytes bounds the local disk cache (under DataDir/blobcache, one per process) of
	// what an s3:// BlobURL's reads fetched, in bytes; 0 disables it.
	BlobCacheBytes int64
}

// Defaults returns the default configuration.
func Defaults() Serve {
	return Serve{
		Addr:               "127.0.0.1:8080",
		DataDir:            "./data",
		Backend:            "auto",
		ConcurrentRuns:     1,
		MaxAttempts:        3,
		TriggerMaxFailures: 5,
		MaxBodyBytes:       64 << 20,
		MaxImportBytes:     64 << 30,
		LogLevel:           "info",
		DrainDelay:         5 * time.Second,
		JobLease:           15 * time.Second,
		BlobCacheBytes:     4 << 30,
	}
}

// Option is one setting: its flag, its environment variable, what it is,
// and the field it sets. Deprecated names are accepted for one release.
type Option struct {
	Flag, Env   string
	Usage       string
	Deprecated  []string // older flag names (with CLUSTERD_ + their upper case as environment variables)
	value       flag.Value
	defaultText string
}

// Options lists the settings of s (bound to its fields), in the order the
// README's table shows them.
func (s *Serve) Options() []Option {
	return []Option{
		{Flag: "addr", Env: "CLUSTERD_ADDR", Usage: "listen address", value: (*stringValue)(&s.Addr)},
		{Flag: "data-dir", Env: "CLUSTERD_DATA_DIR", Usage: "SQLite database, vector segments and run artifacts unless --blob-url (one process per directory with SQLite; processes sharing a PostgreSQL database may share it)", value: (*stringValue)(&s.DataDir)},
		{Flag: "database-url", Env: "CLUSTERD_DATABASE_URL", Usage: "empty: SQLite in the data directory; `postgres://user@host:port/db`: PostgreSQL, which several processes may share", value: &databaseURL{&s.DatabaseURL}},
		{Flag: "api-keys", Env: "CLUSTERD_API_KEYS", Usage: "`key1,key2=ns1|ns2`: bearer keys, optionally scoped to namespaces; empty: auth off", value: (*stringValue)(&s.APIKeys)},
		{Flag: "backend", Env: "CLUSTERD_BACKEND", Usage: "`auto` (GPU when usable, else CPU), `cpu`, `gpu` (a start-up error without a GPU)", value: (*stringValue)(&s.Backend)},
		{Flag: "concurrent-runs", Env: "CLUSTERD_CONCURRENT_RUNS", Usage: "clustering runs executed at once (one run already uses every core)",
			Deprecated: []string{"workers"}, value: &positiveInt{&s.ConcurrentRuns}},
		{Flag: "cpu-threads", Env: "CLUSTERD_CPU_THREADS", Usage: "goroutines one CPU kernel uses (0: one per core)", value: &nonNegativeInt{&s.CPUThreads}},
		{Flag: "max-attempts", Env: "CLUSTERD_MAX_ATTEMPTS", Usage: "starts of a run whose process keeps dying before it ends failed", value: &positiveInt{&s.MaxAttempts}},
		{Flag: "trigger-max-failures", Env: "CLUSTERD_TRIGGER_MAX_FAILURES", Usage: "consecutive failed runs after which a trigger is paused", value: &positiveInt{&s.TriggerMaxFailures}},
		{Flag: "max-body-bytes", Env: "CLUSTERD_MAX_BODY_BYTES", Usage: "largest JSON request body in bytes (413 above)", value: &positiveInt64{&s.MaxBodyBytes}},
		{Flag: "max-import-bytes", Env: "CLUSTERD_MAX_IMPORT_BYTES", Usage: "largest bulk import in bytes (NDJSON and .npy of known length streamed, the others spooled to disk)", value: &positiveInt64{&s.MaxImportBytes}},
		{Flag: "gpu-worker", Env: "CLUSTERD_GPU_WORKER", Usage: "the clusterd-gpu binary (empty: next to clusterd, then PATH)", value: (*stringValue)(&s.GPUWorker)},
		{Flag: "log-level", Env: "CLUSTERD_LOG_LEVEL", Usage: "`debug`, `info`, `warn` or `error` (slog text logs on stderr)", value: &levelValue{&s.LogLevel}},
		{Flag: "job-lease", Env: "CLUSTERD_JOB_LEASE", Usage: "how long a claimed run stays reserved without a heartbeat before another worker or process takes it over (a Go duration, at least 300ms)", value: &leaseValue{&s.JobLease}},
		{Flag: "drain-delay", Env: "CLUSTERD_DRAIN_DELAY", Usage: "after SIGTERM, how long /readyz answers 503 before the listener closes (a Go duration: 5s, 0)", value: &durationValue{&s.DrainDelay}},
		{Flag: "blob-url", Env: "CLUSTERD_BLOB_URL", Usage: "where run artifacts and vector segments live: `file:///abs/dir` or `s3://bucket/prefix?endpoint=host:port&region=r&secure=false` (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); empty: the data directory", value: &blobURLValue{&s.BlobURL}},
		{Flag: "blob-cache-bytes", Env: "CLUSTERD_BLOB_CACHE_BYTES", Usage: "local disk cache of an s3:// --blob-url's reads, in bytes (under the data directory; 0: off)", value: &nonNegativeInt64{&s.BlobCacheBytes}},
	}
}

// ErrHelp is returned by Parse for -h or --help (the usage was written).
var ErrHelp = flag.ErrHelp

// Parse returns the configuration from args, then the environment (env
// looks a variable up), then Defaults. It returns every problem at once,
// each naming its flag or variable. warnings lists the deprecated names
// used. usage receives the flags' descriptions for --help.
func Parse(args []string, env func(string) (string, bool), usage io.Writer) (s Serve, warnings []string, err error) {
	s = Defaults()
	opts := s.Options()
	var problems []string
	for i := range opts {
		o := &opts[i]
		o.defaultText = o.value.String()
		names := append([]string{o.Env}, envNames(o.Deprecated)...)
		for j, name := range names {
			v, ok := env(name)
			if !ok {
				continue
			}
			if j > 0 {
				warnings = append(warnings, fmt.Sprintf("%s is deprecated; use %s", name, o.Env))
			}
			if err := o.value.Set(v); err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q: %v", name, v, err))
			}
			break
		}
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	deprecated := map[string]string{}
	for _, o := range opts {
		fs.Var(o.value, o.Flag, fmt.Sprintf("%s (%s; default %s)", o.Usage, o.Env, o.defaultText))
		for _, d := range o.Deprecated {
			fs.Var(o.value, d, "deprecated: use --"+o.Flag)
			deprecated[d] = o.Flag
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return s, nil, ErrHelp
		}
		problems = append(problems, err.Error())
	} else if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	fs.Visit(func(f *flag.Flag) {
		if to, ok := deprecated[f.Name]; ok {
			warnings = append(warnings, fmt.Sprintf("--%s is deprecated; use --%s", f.Name, to))
		}
	})
	if len(problems) > 0 {
		return s, warnings, errors.New(strings.Join(problems, "; "))
	}
	return s, warnings, nil
}

func envNames(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = "CLUSTERD_" + strings.ToUpper(strings.ReplaceAll(f, "-", "_"))
	}
	return out
}

// Value returns the option's current value as text.
func (o Option) Value() string { return o.value.String() }

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type positiveInt struct{ p *int }

func (v *positiveInt) String() string { return strconv.Itoa(*v.p) }
func (v *positiveInt) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	if n < 1 {
		return fmt.Errorf("must be at least 1")
	}
	*v.p = n
	return nil
}

type nonNegativeInt struct{ p *int }

func (v *nonNegativeInt) String() string { return strconv.Itoa(*v.p) }
func (v *nonNegativeInt) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	if n < 0 {
		return fmt.Errorf("must be at least 0")
	}
	*v.p = n
	return nil
}

type positiveInt64 struct{ p *int64 }

func (v *positiveInt64) String() string { return strconv.FormatInt(*v.p, 10) }
func (v *positiveInt64) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer number of bytes")
	}
	if n < 1 {
		return fmt.Errorf("must be at least 1")
	}
	*v.p = n
	return nil
}

type nonNegativeInt64 struct{ p *int64 }

func (v *nonNegativeInt64) String() string { return strconv.FormatInt(*v.p, 10) }
func (v *nonNegativeInt64) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer number of bytes")
	}
	if n < 0 {
		return fmt.Errorf("must be at least 0")
	}
	*v.p = n
	return nil
}

// blobURLValue accepts "" or a file: or s3: URL; blob.Open checks the rest
// when the service starts.
type blobURLValue struct{ p *string }

func (v *blobURLValue) String() string { return *v.p }
func (v *blobURLValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s != "" {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("not a URL")
		}
		if u.Scheme != "file" && u.Scheme != "s3" {
			return fmt.Errorf("must be a file:///abs/dir or s3://bucket/prefix URL")
		}
	}
	*v.p = s
	return nil
}

type levelValue struct{ p *string }

func (v *levelValue) String() string { return *v.p }
func (v *levelValue) Set(s string) error {
	switch s {
	case "debug", "info", "warn", "error":
		*v.p = s
		return nil
	}
	return fmt.Errorf("must be debug, info, warn or error")
}

type durationValue struct{ p *time.Duration }

func (v *durationValue) String() string { return v.p.String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a duration such as 5s")
	}
	if d < 0 {
		return fmt.Errorf("must not be negative")
	}
	*v.p = d
	return nil
}

type databaseURL struct{ p *string }

func (v *databaseURL) String() string { return *v.p }
func (v *databaseURL) Set(s string) error {
	s = strings.TrimSpace(s)
	if s != "" && !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		return fmt.Errorf("must be empty (SQLite) or a postgres:// URL")
	}
	*v.p = s
	return nil
}

type leaseValue struct{ p *time.Duration }

func (v *leaseValue) String() string { return v.p.String() }
func (v *leaseValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a duration such as 15s")
	}
	if d < 300*time.Millisecond {
		return fmt.Errorf("must be at least 300ms")
	}
	*v.p = d
	return nil
}
