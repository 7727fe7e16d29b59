// Package pgcluster runs a private PostgreSQL cluster from the installed
// PostgreSQL binaries: the crawler's embedded default database (when no
// DATABASE_URL is set) and the throwaway clusters of the test harness.
//
// As root, initdb and the server run as the "postgres" user through runuser,
// since PostgreSQL refuses to run as root.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// InstallHint is the command that installs the PostgreSQL server binaries on
// Debian and Ubuntu.
const InstallHint = "apt-get install -y postgresql"

// Options configure a cluster.
type Options struct {
	// Dir holds the data directory ("data"), the socket and the server log.
	Dir string
	// Port to listen on 127.0.0.1; 0 picks a free port.
	Port int
	// Durable keeps fsync on. Test clusters turn it off for speed.
	Durable bool
}

// Cluster is a private PostgreSQL cluster.
type Cluster struct {
	opts    Options
	dataDir string
	bin     string
	asPG    bool
	port    int
	once    sync.Once
	// attached is true when the server was started by another process.
	attached bool
}

// Start initialises the cluster under opts.Dir when it does not exist yet and
// starts the server on 127.0.0.1. A server left running by an earlier process
// is stopped first.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	// Parents stay traversable: as root the server runs as another user.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("create database directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create database directory %s: %w", dir, err)
	}
	c := &Cluster{opts: opts, dataDir: filepath.Join(opts.Dir, "data"), bin: bin, asPG: os.Geteuid() == 0}
	if c.asPG {
		if err := chownTree(opts.Dir); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		args := []string{"-D", c.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}
		if !opts.Durable {
			args = append(args, "--no-sync")
		}
		if out, err := c.command(ctx, "initdb", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb %s: %v: %s", c.dataDir, err, strings.TrimSpace(string(out)))
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "postmaster.pid")); err == nil {
		// A server already runs on this directory (another crawler process
		// started it): share it, and leave stopping it to its owner.
		if c.command(ctx, "pg_ctl", "-D", c.dataDir, "status").Run() == nil {
			if port, err := pidFilePort(filepath.Join(c.dataDir, "postmaster.pid")); err == nil {
				c.port = port
				c.attached = true
				return c, nil
			}
		}
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		c.port = port
		settings := fmt.Sprintf("-c port=%d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c max_connections=200", port, opts.Dir)
		if !opts.Durable {
			// Besides durability: a fresh cluster has no WAL segments to
			// recycle, and zero-filling new ones charges the first bulk
			// write after start for ~1 GB of zeros that later writes skip.
			settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_init_zero=off"
		}
		logFile := filepath.Join(opts.Dir, "server.log")
		out, err := c.command(ctx, "pg_ctl", "-D", c.dataDir, "-o", settings, "-l", logFile, "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			return c, nil
		}
		log, _ := os.ReadFile(logFile)
		lastErr = fmt.Errorf("start PostgreSQL in %s: %v: %s %s", c.dataDir, err, strings.TrimSpace(string(out)), tail(string(log), 800))
		if opts.Port != 0 {
			break
		}
	}
	return nil, lastErr
}

// Port returns the port the server listens on.
func (c *Cluster) Port() int { return c.port }

// URL returns a connection URL for the named database.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// Stop stops the server: "fast" mode rolls back open transactions and shuts
// down cleanly. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var err error
	if c.attached {
		return nil
	}
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if out, e := c.command(ctx, "pg_ctl", "-D", c.dataDir, "-m", "fast", "-w", "stop").CombinedOutput(); e != nil {
			err = fmt.Errorf("stop PostgreSQL in %s: %v: %s", c.dataDir, e, strings.TrimSpace(string(out)))
		}
	})
	return err
}

// Restart restarts the server on the same port (fast mode).
func (c *Cluster) Restart(ctx context.Context) error {
	// The restarted server must not inherit our output pipe, or waiting for
	// pg_ctl would wait for the server: its output goes to the log.
	cmd := c.command(ctx, "pg_ctl", "-D", c.dataDir, "-m", "fast", "-w", "-l", filepath.Join(c.opts.Dir, "server.log"), "restart")
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("restart PostgreSQL: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.asPG {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.opts.Dir
	return cmd
}

// FindBinDir returns the directory holding initdb and pg_ctl: PG_BINDIR when
// set, else the newest /usr/lib/postgresql/*/bin, else the directory of
// initdb on PATH. The error names the package to install.
func FindBinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestV := "", -1
	for _, m := range matches {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err == nil && v > bestV {
			best, bestV = filepath.Dir(m), v
		}
	}
	if best != "" {
		return best, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `%s`, or set DATABASE_URL to an existing server", InstallHint)
}

func chownTree(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres user (install the postgresql package: %s): %w", InstallHint, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// pidFilePort reads the port from line 4 of postmaster.pid.
func pidFilePort(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, fmt.Errorf("%s: no port line", path)
	}
	return strconv.Atoi(strings.TrimSpace(lines[3]))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
