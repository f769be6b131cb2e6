package realserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PG is a PostgreSQL server started for one test: initdb into a fresh
// directory, trust authentication, listening on 127.0.0.1 only (and on a
// unix socket in its own directory, never the system's), tuned for speed
// over durability (fsync off). It is stopped, waited for and its files
// removed in t.Cleanup.
type PG struct {
	// DSN connects to the database "oombot" as the superuser "postgres".
	DSN string
	// Addr is the server's host:port.
	Addr string
	// Startup is how long initdb and the server's start took.
	Startup time.Duration

	// createSuffix makes CREATE DATABASE copy files instead of logging
	// every page to the WAL (PostgreSQL 15+): twice as fast here.
	createSuffix string

	proc *Process
	// pgid is the server's process group: the postmaster and its backends.
	pgid int
	dir  string
	next atomic.Int64
}

// pgStopTimeout bounds a fast shutdown before the process group is killed.
const pgStopTimeout = 30 * time.Second

// Postgres starts a PostgreSQL server for t, with an empty database named
// oombot. The binaries come from PATH or Debian's /usr/lib/postgresql/N/bin
// (the newest N); without them the test is skipped, or fails when CI=true.
//
// initdb refuses to run as root, so as root (CI containers) the server runs
// as the postgres system user the Debian package creates, in a directory
// under os.TempDir it owns: t.TempDir is private to root.
func Postgres(t testing.TB) *PG {
	t.Helper()
	bin := requirePostgres(t)
	begin := time.Now()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = postgresUser(t)
	}
	dir, err := os.MkdirTemp("", "oombot-pg-")
	if err != nil {
		t.Fatalf("postgres: temp dir: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("postgres: remove %s: %v", dir, err)
		}
	})
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatalf("postgres: chmod %s: %v", dir, err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("postgres: chown %s to postgres: %v", dir, err)
		}
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	initOut := &Output{}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Stdout, initdb.Stderr = initOut, initOut
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := initdb.Run(); err != nil {
		t.Fatalf("postgres: initdb: %v\noutput:\n%s", err, initOut.String())
	}
	initDur := time.Since(begin)
	if err := mkdirOwned(sock, cred); err != nil {
		t.Fatalf("postgres: socket dir: %v", err)
	}
	p := &PG{dir: dir}
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		addr := FreeAddr(t)
		_, port, _ := strings.Cut(addr, ":")
		cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", port, "-k", sock,
			"-c", "listen_addresses=127.0.0.1",
			// A test database need not survive a crash.
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=32MB", "-c", "max_connections=200")
		// Its own process group, so a postmaster that ignores the fast
		// shutdown can be killed together with its backends.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		proc, err := StartProcess("postgres", cmd, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.proc, p.pgid, p.Addr = proc, proc.Pid(), addr
		t.Cleanup(func() {
			p.stop(proc)
			if t.Failed() {
				t.Logf("postgres output:\n%s", proc.Output())
			}
		})
		admin := "postgres://postgres@" + addr + "/postgres?sslmode=disable&connect_timeout=2"
		err = pgReady(proc, admin)
		if err == nil {
			v, err := pgInt(admin, "SELECT current_setting('server_version_num')::int")
			if err != nil {
				t.Fatalf("postgres: server version: %v", err)
			}
			if v >= 150000 {
				p.createSuffix = " STRATEGY = FILE_COPY"
			}
			if err := pgExec(admin, "CREATE DATABASE oombot"+p.createSuffix); err != nil {
				t.Fatalf("postgres: create database: %v", err)
			}
			p.DSN = "postgres://postgres@" + addr + "/oombot?sslmode=disable"
			p.Startup = time.Since(begin)
			t.Logf("postgres %s ready in %s (initdb %s)", addr, p.Startup.Round(time.Millisecond), initDur.Round(time.Millisecond))
			return p
		}
		p.stop(proc)
		lastOut = proc.out.String()
		// The port was taken between FreeAddr and the bind: try another.
		if !strings.Contains(lastOut, "already in use") && !strings.Contains(lastOut, "could not create any TCP/IP sockets") {
			t.Fatalf("postgres did not become ready: %v\noutput:\n%s", err, lastOut)
		}
	}
	t.Fatalf("postgres: no free port after 3 attempts\nlast output:\n%s", lastOut)
	return nil
}

// NewDatabase creates an empty database on the server and returns its DSN,
// so tests sharing a server never see each other's tables.
func (p *PG) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", p.next.Add(1))
	if err := pgExec("postgres://postgres@"+p.Addr+"/postgres?sslmode=disable&connect_timeout=5", "CREATE DATABASE "+name+p.createSuffix); err != nil {
		t.Fatalf("postgres: create database %s: %v", name, err)
	}
	return "postgres://postgres@" + p.Addr + "/" + name + "?sslmode=disable"
}

// stop asks for a fast shutdown (SIGINT: roll back open transactions,
// disconnect clients, checkpoint, exit) and waits; SIGTERM would wait for
// every client to disconnect, which a leaking test never does. When that
// does not end it, the whole process group is killed.
func (p *PG) stop(proc *Process) {
	proc.Shutdown(syscall.SIGINT, pgStopTimeout, func() { _ = syscall.Kill(-proc.Pid(), syscall.SIGKILL) })
}

// pgReady polls until the server accepts a connection, exits or
// startTimeout passes.
func pgReady(p *Process, dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			return c.Close(ctx)
		}
		select {
		case <-p.Done():
			return fmt.Errorf("exited before it was ready: %v", p.Err())
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w (last: %v)", startTimeout, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// pgExec runs one statement on a fresh connection.
func pgExec(dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, stmt)
	return errors.Join(err, c.Close(ctx))
}

// pgInt runs a query returning one integer on a fresh connection.
func pgInt(dsn, query string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	var v int
	err = c.QueryRow(ctx, query).Scan(&v)
	return v, errors.Join(err, c.Close(ctx))
}

// requirePostgres returns the directory holding initdb and postgres, or
// skips (fails in CI) naming the package to install.
func requirePostgres(t testing.TB) string {
	t.Helper()
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	// Debian keeps the server binaries off PATH, one directory per major
	// version: prefer the newest.
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(found, func(i, j int) bool { return pgMajor(found[i]) > pgMajor(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d
		}
	}
	msg := "initdb and postgres not found on PATH or in /usr/lib/postgresql/*/bin: install Debian's postgresql package " +
		"(apt-get install -y --no-install-recommends postgresql) to run this test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing server binary is a failure, not a skip)")
		return ""
	}
	t.Skip(msg)
	return ""
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// postgresUser is the account the server runs as when the test runs as
// root.
func postgresUser(t testing.TB) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("postgres: running as root, and initdb refuses root: need the postgres system user (Debian's postgresql package creates it): %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("postgres: user postgres has uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// mkdirOwned creates dir (0700), owned by cred's user when set.
func mkdirOwned(dir string, cred *syscall.Credential) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if cred != nil {
		return os.Chown(dir, int(cred.Uid), int(cred.Gid))
	}
	return nil
}
