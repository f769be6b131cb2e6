// Package lokitest starts a real Grafana Loki for tests, so the Loki source
// is tested against Loki's own HTTP API rather than a hand-written fake.
//
// The binary is built from the release pinned in tools/loki/go.mod by
// scripts/loki.sh; .ci/run builds it and exports OOMBOT_LOKI_BIN. Without
// that variable the default cache path of scripts/loki.sh is tried. When no
// binary is found the test is skipped with a message saying how to build
// one — or fails when CI=true, so a broken build never turns into silently
// skipped coverage.
//
// Each server runs the single-binary target "all" with filesystem storage
// in the test's temporary directory, listens on 127.0.0.1 (HTTP and gRPC on
// free ports), and is killed and waited for in t.Cleanup. Its output goes
// to the test log when the test fails.
package lokitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/realserver"
)

// EnvBinary names the environment variable holding the Loki binary's path.
const EnvBinary = "OOMBOT_LOKI_BIN"

// startTimeout bounds how long Loki may take to report ready. It is ready
// in a few seconds on an idle machine; the CI machine is shared.
const startTimeout = 90 * time.Second

// Binary returns the path of the Loki binary: $OOMBOT_LOKI_BIN, else the
// path scripts/loki.sh builds to. When neither exists it skips the test, or
// fails it when CI is "true".
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		if isExecutable(p) {
			return p
		}
		t.Fatalf("%s=%s is not an executable file", EnvBinary, p)
	}
	p, err := cachedBinary()
	if err == nil && isExecutable(p) {
		return p
	}
	if err == nil {
		err = fmt.Errorf("%s does not exist", p)
	}
	msg := fmt.Sprintf("no Loki binary (%v): run `export %s=$(scripts/loki.sh)` (builds Loki from tools/loki, ~12 min the first time) to run this test",
		err, EnvBinary)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing Loki binary is a failure, not a skip)")
		return ""
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// cachedBinary is where scripts/loki.sh puts the binary for the Loki
// version tools/loki/go.mod requires; the module is found by walking up
// from the working directory (a test's is its package directory).
func cachedBinary() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		gomod := filepath.Join(dir, "tools", "loki", "go.mod")
		if data, err := os.ReadFile(gomod); err == nil {
			v := requiredVersion(data)
			if v == "" {
				return "", fmt.Errorf("%s requires no github.com/grafana/loki/v3", gomod)
			}
			cache := os.Getenv("XDG_CACHE_HOME")
			if cache == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return "", err
				}
				cache = filepath.Join(home, ".cache")
			}
			return filepath.Join(cache, "oombot", "tools", "loki-"+v, "loki"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("tools/loki/go.mod not found above the working directory")
		}
		dir = parent
	}
}

// requiredVersion reads the "require github.com/grafana/loki/v3 vX" line,
// the same line scripts/loki.sh reads.
func requiredVersion(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "require" && f[1] == "github.com/grafana/loki/v3" {
			return f[2]
		}
	}
	return ""
}

// config is a minimal single-binary configuration for Loki 3.x. Besides
// the usual local setup it lets old samples in and makes them queryable:
// the recorded incidents are months older than the test's clock.
//
//   - reject_old_samples: false, a long max_query_lookback: accept and
//     query entries of any age.
//   - ingester.query_store_max_look_back_period: -1 and
//     querier.query_ingesters_within: 0: pushed entries stay in the
//     ingester (nothing is flushed during a test), and by default queries
//     for times older than a few hours skip the ingesters and find nothing.
//     With target "all", the first (default 0, meaning max_chunk_age plus
//     30 min) takes precedence over the second; -1 means no limit.
//   - min_ready_duration / final_sleep 0: /ready would otherwise hold back
//     15 s after the ring is ready.
//   - frontend and frontend_worker scheduler_address: with no address
//     Loki discovers its own query scheduler through a ring polled every
//     10 s, and /ready waits for it; the address makes it ready in ~1 s.
//   - cache_results: false: a test pushes, queries, pushes again.
//   - analytics off: no calls home from a test.
const config = `auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %[1]d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %[2]d
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: %[3]s
  storage:
    filesystem:
      chunks_directory: %[3]s/chunks
      rules_directory: %[3]s/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
ingester:
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
  wal:
    enabled: false
  query_store_max_look_back_period: -1
querier:
  query_ingesters_within: 0
frontend:
  scheduler_address: 127.0.0.1:%[2]d
frontend_worker:
  scheduler_address: 127.0.0.1:%[2]d
query_range:
  cache_results: false
limits_config:
  reject_old_samples: false
  creation_grace_period: 10m
  unordered_writes: true
  allow_structured_metadata: true
  max_query_lookback: 87600h
  retention_period: 0s
analytics:
  reporting_enabled: false
`

// Server is a running Loki.
type Server struct {
	// URL is the HTTP base URL (http://127.0.0.1:PORT).
	URL string
	p   *realserver.Process
}

// Start starts Loki and waits until /ready answers 200.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		httpPort, grpcPort := freePort(t), freePort(t)
		cfg := filepath.Join(dir, "loki.yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(config, httpPort, grpcPort, filepath.Join(dir, "data"))), 0o600); err != nil {
			t.Fatalf("write Loki config: %v", err)
		}
		cmd := exec.Command(bin, "-config.file="+cfg, "-target=all")
		cmd.Dir = dir
		// Killed, not stopped: the test's data is thrown away with its
		// directory, so there is nothing to flush.
		p, err := realserver.StartProcess("Loki", cmd, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			p.Kill()
			if t.Failed() {
				t.Logf("Loki output:\n%s", p.Output())
			}
		})
		base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
		err = waitReady(p, base+"/ready")
		if err == nil {
			return &Server{URL: base, p: p}
		}
		p.Kill()
		lastOut = p.Output()
		if !strings.Contains(lastOut, "address already in use") {
			t.Fatalf("Loki did not become ready: %v\noutput:\n%s", err, lastOut)
		}
	}
	t.Fatalf("Loki: no free ports after 3 attempts\nlast output:\n%s", lastOut)
	return nil
}

// Stop kills Loki and waits for it; t.Cleanup calls it too.
func (s *Server) Stop() { s.p.Kill() }

// Output is what Loki has printed so far.
func (s *Server) Output() string { return s.p.Output() }

// Stream is one stream to push: its labels and entries.
type Stream struct {
	Labels  map[string]string
	Entries []Entry
}

// Entry is one log line. Metadata is sent as structured metadata.
type Entry struct {
	Time     time.Time
	Line     string
	Metadata map[string]string
}

// Push sends streams through /loki/api/v1/push (JSON) or fails the test.
func (s *Server) Push(t testing.TB, streams ...Stream) {
	t.Helper()
	body, err := PushBody(streams...)
	if err != nil {
		t.Fatalf("encode push: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/loki/api/v1/push", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("push request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := noKeepAlive(30 * time.Second).Do(req)
	if err != nil {
		t.Fatalf("push to Loki: %v", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		t.Fatalf("push to Loki: %s: %s", resp.Status, msg)
	}
}

// PushBody encodes streams as the push API's JSON:
//
//	{"streams":[{"stream":{...},"values":[["<unix ns>","line",{metadata}]]}]}
func PushBody(streams ...Stream) ([]byte, error) {
	type jsonStream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	out := struct {
		Streams []jsonStream `json:"streams"`
	}{Streams: []jsonStream{}}
	for _, st := range streams {
		js := jsonStream{Stream: st.Labels, Values: [][]any{}}
		for _, e := range st.Entries {
			v := []any{strconv.FormatInt(e.Time.UnixNano(), 10), e.Line}
			if len(e.Metadata) > 0 {
				v = append(v, e.Metadata)
			}
			js.Values = append(js.Values, v)
		}
		out.Streams = append(out.Streams, js)
	}
	return json.Marshal(out)
}

// freePort reserves a loopback port (see realserver.FreeAddr); another
// process may take it before Loki binds, and Start retries then.
func freePort(t testing.TB) int {
	t.Helper()
	_, port, err := net.SplitHostPort(realserver.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// noKeepAlive returns a client that leaves no idle connection (and so no
// connection goroutine) behind for goleak to find in the caller's test.
func noKeepAlive(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

// waitReady polls url until it answers 200, the process exits or
// startTimeout passes. Loki answers 503 until its ring and query workers
// are up.
func waitReady(p *realserver.Process, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := noKeepAlive(2 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		select {
		case <-p.Done():
			return fmt.Errorf("exited before it was ready: %v", p.Err())
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s (last: %s): %w", startTimeout, last, ctx.Err())
		case <-tick.C:
		}
	}
}
