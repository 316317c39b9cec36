// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql package (initdb and pg_ctl under /usr/lib/postgresql/*/bin,
// or the directory named by CLUSTERD_PG_BIN), on a fresh data directory
// under the system's temporary directory, listening on 127.0.0.1 at a free
// port, with trust authentication and durability off (fsync=off: a test
// server's data is thrown away).
//
// One server serves a whole test binary: Main starts nothing and stops the
// server Database started, so a package calls Main from its TestMain. Each
// Database call creates a database of its own.
//
// initdb refuses to run as root. As root, the server runs as the user
// "postgres" (which the Debian package creates) through runuser, and the
// data directory is given to that user.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// server is the running server of this process.
var (
	once    sync.Once
	srv     *server
	srvErr  error
	dbCount atomic.Int64
)

type server struct {
	bin, dir string
	port     int
	asUser   string // "" when the process's own user runs it
	admin    *sql.DB
}

// Available reports why PostgreSQL cannot run here ("" when it can).
func Available() string {
	if _, err := binDir(); err != nil {
		return err.Error()
	}
	return ""
}

// binDir finds the directory holding initdb and pg_ctl.
func binDir() (string, error) {
	if d := os.Getenv("CLUSTERD_PG_BIN"); d != "" {
		return d, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(m) == 0 {
		return "", errors.New("PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql/*/bin; apt-get install postgresql, or set CLUSTERD_PG_BIN)")
	}
	sort.Strings(m)
	return filepath.Dir(m[len(m)-1]), nil
}

// Main runs the tests and then stops the server if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if srv != nil {
		srv.stop()
	}
	return code
}

// ensureServer starts the server once per test binary; it skips tb (with
// the reason) when PostgreSQL is not installed and fails it when the server
// does not start.
func ensureServer(tb testing.TB) {
	tb.Helper()
	if why := Available(); why != "" {
		tb.Skipf("skipping the PostgreSQL run: %s", why)
	}
	once.Do(func() { srv, srvErr = start() })
	if srvErr != nil {
		tb.Fatalf("pgtest: %v", srvErr)
	}
}

// URL starts the server if needed and returns the URL of a new, empty
// database on it; the test is skipped (with the reason) when PostgreSQL
// is not installed, and fails when it is installed but does not start.
func URL(tb testing.TB) string {
	tb.Helper()
	ensureServer(tb)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbCount.Add(1))
	if _, err := srv.admin.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	return srv.url(name)
}

// ServerURL starts the server if needed and returns the URL of database
// name on it, creating the database if it does not exist (for tests that
// hand one database to several processes).
func ServerURL(tb testing.TB, name string) string {
	tb.Helper()
	ensureServer(tb)
	var n int
	if err := srv.admin.QueryRow(`SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if n == 0 {
		if _, err := srv.admin.Exec("CREATE DATABASE " + name); err != nil {
			tb.Fatalf("pgtest: creating database %s: %v", name, err)
		}
	}
	return srv.url(name)
}

func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

func start() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "clusterd-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and initdb refuses root: create a user named postgres (the Debian package does): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.asUser = "postgres"
	}
	data := filepath.Join(dir, "data")
	if out, err := s.cmd("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// A port that was free a moment ago; a clash makes pg_ctl fail and the
	// next attempt picks another.
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", s.port, dir)
		out, err := s.cmd("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
		}
	}
	s.admin, err = sql.Open("pgx", s.url("postgres"))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) cmd(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, prog)
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (s *server) stop() {
	if s.admin != nil {
		s.admin.Close()
	}
	s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	os.RemoveAll(s.dir)
}

// Describe is a short description of the server for logs.
func Describe() string {
	if srv == nil {
		return "not started"
	}
	return strings.TrimSpace(fmt.Sprintf("PostgreSQL from %s on 127.0.0.1:%d", srv.bin, srv.port))
}
