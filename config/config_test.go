package config

import (
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestParse: flags win over the environment, which wins over the
// defaults; every bad value, in a flag or the environment, is one error
// naming it; deprecated names work and warn.
func TestParse(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		check    func(Serve) bool
		errs     []string // substrings of the error, each a problem
		warnings int
	}{
		{"defaults", nil, nil, func(s Serve) bool { return s == Defaults() }, nil, 0},
		{"environment", nil, map[string]string{"CLUSTERD_CONCURRENT_RUNS": "3", "CLUSTERD_DRAIN_DELAY": "0", "CLUSTERD_MAX_BODY_BYTES": "1024"},
			func(s Serve) bool { return s.ConcurrentRuns == 3 && s.DrainDelay == 0 && s.MaxBodyBytes == 1024 }, nil, 0},
		{"flag wins", []string{"--concurrent-runs", "2"}, map[string]string{"CLUSTERD_CONCURRENT_RUNS": "3"},
			func(s Serve) bool { return s.ConcurrentRuns == 2 }, nil, 0},
		{"bad environment", nil, map[string]string{"CLUSTERD_WORKERS": "two", "CLUSTERD_MAX_BODY_BYTES": "64MiB", "CLUSTERD_LOG_LEVEL": "loud"}, nil,
			[]string{`CLUSTERD_WORKERS="two": not an integer`, `CLUSTERD_MAX_BODY_BYTES="64MiB": not an integer number of bytes`, `CLUSTERD_LOG_LEVEL="loud"`}, 1},
		{"bad flag", []string{"--drain-delay", "soon"}, nil, nil, []string{`invalid value "soon" for flag -drain-delay`}, 0},
		{"below range", []string{"--max-attempts", "0"}, nil, nil, []string{"must be at least 1"}, 0},
		{"deprecated flag", []string{"--workers", "4"}, nil, func(s Serve) bool { return s.ConcurrentRuns == 4 }, nil, 1},
		{"deprecated variable", nil, map[string]string{"CLUSTERD_WORKERS": "4"}, func(s Serve) bool { return s.ConcurrentRuns == 4 }, nil, 1},
		{"new name wins over deprecated", nil, map[string]string{"CLUSTERD_WORKERS": "4", "CLUSTERD_CONCURRENT_RUNS": "2"},
			func(s Serve) bool { return s.ConcurrentRuns == 2 }, nil, 0},
		{"argument", []string{"extra"}, nil, nil, []string{`unexpected argument "extra"`}, 0},
		{"durations", []string{"--drain-delay", "250ms"}, nil, func(s Serve) bool { return s.DrainDelay == 250*time.Millisecond }, nil, 0},
		{"object storage", []string{"--blob-url", "s3://bucket/clusterd?endpoint=minio:9000&secure=false"}, map[string]string{"CLUSTERD_BLOB_CACHE_BYTES": "0"},
			func(s Serve) bool {
				return s.BlobURL == "s3://bucket/clusterd?endpoint=minio:9000&secure=false" && s.BlobCacheBytes == 0
			}, nil, 0},
		{"bad object storage", []string{"--blob-url", "gs://bucket"}, map[string]string{"CLUSTERD_BLOB_CACHE_BYTES": "-1"}, nil,
			[]string{`invalid value "gs://bucket" for flag -blob-url: must be a file:///abs/dir or s3://bucket/prefix URL`, `CLUSTERD_BLOB_CACHE_BYTES="-1": must be at least 0`}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, warnings, err := Parse(c.args, env(c.env), io.Discard)
			if len(c.errs) > 0 {
				if err == nil {
					t.Fatalf("no error, config %+v", s)
				}
				for _, e := range c.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error %q does not contain %q", err, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(s) {
				t.Errorf("config %+v", s)
			}
			if len(warnings) != c.warnings {
				t.Errorf("warnings %v, want %d", warnings, c.warnings)
			}
		})
	}
	if _, _, err := Parse([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestREADMETable: the README's table lists every option with its flag,
// variable and default, so the two cannot drift.
func TestREADMETable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	for _, o := range d.Options() {
		row := regexp.MustCompile("(?m)^\\| `--" + regexp.QuoteMeta(o.Flag) + "` \\| `" + o.Env + "` \\| ([^|]*) \\|").FindSubmatch(readme)
		if row == nil {
			t.Errorf("README has no row for --%s / %s", o.Flag, o.Env)
			continue
		}
		if v := o.Value(); v != "" && v != "0" && !strings.Contains(readmeDefault(string(row[1])), v) {
			t.Errorf("--%s: README's default %q, the code's %q", o.Flag, row[1], v)
		}
	}
}

// readmeDefault turns the README's way of writing a default into the
// code's ("64 MiB" → 67108864).
func readmeDefault(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "`")
	switch s {
	case "64 MiB":
		return "67108864"
	case "64 GiB":
		return "68719476736"
	case "4 GiB":
		return "4294967296"
	}
	return s
}
