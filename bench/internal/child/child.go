// Package child starts, calls and kills a clusterd serve child process for
// the service benchmarks under bench/ (import latency, soak). They are
// programs, not tests: they take minutes and report figures.
package child

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/clusterd/clusterd/internal/syncbuf"
)

// Server is a clusterd serve process on a data directory.
type Server struct {
	Bin, Dir, Addr string
	Env            []string
	Log            *syncbuf.Buffer // the child's standard error
	cmd            *exec.Cmd
	client         *http.Client
}

// Build compiles ./cmd/clusterd (from the repository root, the working
// directory of `go run ./bench/...`) into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "clusterd")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/clusterd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// New prepares a server on dir listening on a free local port.
func New(bin, dir string, env ...string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	return &Server{Bin: bin, Dir: dir, Addr: addr, Env: env,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}, nil
}

// Start launches the process and waits until /readyz answers 200.
func (s *Server) Start() error {
	s.Log = &syncbuf.Buffer{}
	s.cmd = exec.Command(s.Bin, "serve", "--data-dir", s.Dir, "--addr", s.Addr, "--backend", "cpu", "--drain-delay", "0")
	s.cmd.Env = append(os.Environ(), s.Env...)
	s.cmd.Stderr = s.Log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := s.client.Get("http://" + s.Addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("clusterd did not become ready:\n%s", s.Log)
}

// Kill sends sig and waits for the process to exit.
func (s *Server) Kill(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(sig)
	s.cmd.Wait()
}

// Do sends a request; body may be nil, []byte, an io.Reader (with size for
// Content-Length) or a value marshalled as JSON.
func (s *Server) Do(method, path, ct string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(raw)
		if ct == "" {
			ct = "application/json"
		}
	}
	req, err := http.NewRequest(method, "http://"+s.Addr+path, r)
	if err != nil {
		return 0, nil, err
	}
	if f, ok := body.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			req.ContentLength = st.Size()
		}
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// JSON sends a JSON request that must answer 200 and decodes the answer into out.
func (s *Server) JSON(method, path string, in, out any) error {
	code, raw, err := s.Do(method, path, "", in)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("%s %s: %d %s", method, path, code, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
