package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/realserver"
)

// Env variables naming the binaries the harness runs.
const (
	EnvKubeAPIServer = "OOMBOT_KUBE_APISERVER_BIN"
	EnvEtcd          = "OOMBOT_ETCD_BIN"
	EnvKustomize     = "OOMBOT_KUSTOMIZE_BIN"
)

// MissingBinaryError says which binary is missing and how to get it.
type MissingBinaryError struct {
	Name string
	Hint string
}

func (e *MissingBinaryError) Error() string {
	return fmt.Sprintf("%s not found: %s", e.Name, e.Hint)
}

// Binary finds a binary: the path in env variable env when set (it must
// exist), else the first of names on PATH. hint says how to get it.
func Binary(env, hint string, names ...string) (string, error) {
	if env != "" {
		if p := os.Getenv(env); p != "" {
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				return "", &MissingBinaryError{Name: p, Hint: fmt.Sprintf("%s names a missing file; %s", env, hint)}
			}
			return p, nil
		}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	what := strings.Join(names, " or ")
	if what == "" {
		what = env
	} else if env != "" {
		what += " (or $" + env + ")"
	}
	return "", &MissingBinaryError{Name: what, Hint: hint}
}

// Hints for the binaries' error messages.
const (
	HintKubeAPIServer = "set OOMBOT_KUBE_APISERVER_BIN=$(scripts/tool.sh kube-apiserver) (builds k8s.io/kubernetes' kube-apiserver once, ~15 min, then cached)"
	HintEtcd          = "install Debian's etcd-server (apt-get install -y --no-install-recommends etcd-server) or set OOMBOT_ETCD_BIN"
	HintKustomize     = "set OOMBOT_KUSTOMIZE_BIN=$(scripts/tool.sh kustomize)"
)

// Process is a server process started by the harness (the same type the
// product's realserver package starts Prometheus and PostgreSQL with).
type Process = realserver.Process

// StartProcess starts path with args and env (nil: the harness's own
// environment). Its output is kept in memory (Output).
func StartProcess(name, path string, args, env []string) (*Process, error) {
	return startProcess(name, path, args, env, nil)
}

// startProcess is StartProcess calling onLine, when set, with every
// complete line of output.
func startProcess(name, path string, args, env []string, onLine func(string)) (*Process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	return realserver.StartProcess(name, cmd, onLine)
}

// freeAddr reserves a loopback port by listening on port 0 and releasing
// it; a server started on it may lose the race, and callers retry.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserve a loopback port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("release %s: %w", addr, err)
	}
	return addr, nil
}

// errAddrInUse marks a start that lost its port to another process.
var errAddrInUse = errors.New("address already in use")

// poll calls check every interval until it returns nil, the process exits
// or ctx ends; the error says which, with check's last error.
func poll(ctx context.Context, p *Process, interval time.Duration, check func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-p.Done():
			if strings.Contains(p.Output(), "address already in use") {
				return errAddrInUse
			}
			return fmt.Errorf("%s exited before it was ready (%v); last check: %v", p.Name, p.Err(), last)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; last check: %v", p.Name, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// getOK is a readiness check: GET url answers 200.
func getOK(client *http.Client, url string, header http.Header) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// tail returns at most the last n bytes of s, for error messages.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
