package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Etcd is a single-member etcd on loopback ports.
type Etcd struct {
	// URL is the client URL (http://127.0.0.1:PORT).
	URL  string
	Dir  string
	proc *Process
}

// StartEtcd starts bin with its data in a fresh temporary directory and
// waits until /health answers. The data lives in /dev/shm when there is
// one: etcd fsyncs every write and Debian's 3.4 has no --unsafe-no-fsync,
// so on a shared CI disk the API server would spend its time waiting.
func StartEtcd(ctx context.Context, bin string) (*Etcd, error) {
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "oombot-e2e-etcd-")
	if err != nil {
		return nil, fmt.Errorf("etcd data dir: %w", err)
	}
	for attempt := 0; attempt < 3; attempt++ {
		client, err := freeAddr()
		if err != nil {
			return nil, err
		}
		peer, err := freeAddr()
		if err != nil {
			return nil, err
		}
		curl, purl := "http://"+client, "http://"+peer
		p, err := StartProcess("etcd", bin, []string{
			"--name=e2e",
			"--data-dir=" + dir + "/data",
			"--listen-client-urls=" + curl,
			"--advertise-client-urls=" + curl,
			"--listen-peer-urls=" + purl,
			"--initial-advertise-peer-urls=" + purl,
			"--initial-cluster=e2e=" + purl,
			"--initial-cluster-state=new",
			"--logger=zap",
			"--log-level=warn",
			// The API server's watch cache learns that an idle resource
			// is up to date from progress notifications; 3.4 cannot be
			// asked for one (RequestWatchProgress needs 3.4.31), so it
			// must send them often (Kubernetes recommends 5s).
			"--experimental-watch-progress-notify-interval=5s",
		}, etcdEnv())
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		e := &Etcd{URL: curl, Dir: dir, proc: p}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = poll(rctx, p, 50*time.Millisecond, getOK(&http.Client{Timeout: time.Second}, curl+"/health", nil))
		cancel()
		if err == nil {
			return e, nil
		}
		p.Kill()
		_ = os.RemoveAll(dir + "/data")
		if !errors.Is(err, errAddrInUse) {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("%w\netcd output:\n%s", err, tail(p.Output(), 4000))
		}
	}
	_ = os.RemoveAll(dir)
	return nil, errors.New("etcd: no free ports after 3 attempts")
}

// etcdEnv passes ETCD_UNSUPPORTED_ARCH through (etcd 3.4 needs it on
// arm64) and nothing else: no ETCD_* setting of the machine leaks in.
func etcdEnv() []string {
	if v := os.Getenv("ETCD_UNSUPPORTED_ARCH"); v != "" {
		return []string{"ETCD_UNSUPPORTED_ARCH=" + v}
	}
	return []string{}
}

// Output is what etcd printed.
func (e *Etcd) Output() string { return e.proc.Output() }

// Close kills etcd, waits for it and removes its data.
func (e *Etcd) Close() error {
	e.proc.Stop(5 * time.Second)
	return os.RemoveAll(e.Dir)
}
