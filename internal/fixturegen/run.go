package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RunFacts is run.json: what the runner observed, everything convert needs
// besides the files the JVM wrote.
type RunFacts struct {
	Scenario    string        `json:"scenario"`
	Command     string        `json:"command"`
	JavaVersion string        `json:"javaVersion"`
	Kernel      string        `json:"kernel"`
	GeneratedAt time.Time     `json:"generatedAt"`
	LimitBytes  int64         `json:"limitBytes"`
	Runs        []Incarnation `json:"runs"`
}

// Incarnation is one JVM process: the killed container or its restart.
type Incarnation struct {
	// Dir is the sub-directory holding this run's files ("1", "2").
	Dir         string    `json:"dir"`
	ContainerID string    `json:"containerID"`
	Cgroup      string    `json:"cgroup"`
	PID         int       `json:"pid"`
	Argv        []string  `json:"argv"`
	ToolOptions string    `json:"toolOptions"`
	StartedAt   time.Time `json:"startedAt"`
	FinishedAt  time.Time `json:"finishedAt"`
	// SamplingEndedAt is set when the run was stopped on purpose: the bundle
	// shows the state at that moment (the JVM still running).
	SamplingEndedAt time.Time `json:"samplingEndedAt,omitzero"`
	// ExitCode is what a container runtime reports: 128+signal when killed.
	ExitCode int `json:"exitCode"`
	Signal   int `json:"signal"`
	// KernelOOMKills is memory.oom_control's oom_kill counter at the end.
	KernelOOMKills int `json:"kernelOOMKills"`
	// StoppedBy is exit, kernel-oom-kill, stop-after, liveness or timeout.
	StoppedBy  string        `json:"stoppedBy"`
	Probes     []ProbeResult `json:"probes,omitempty"`
	Histograms []string      `json:"histograms,omitempty"`
}

// ProbeResult is one liveness probe attempt.
type ProbeResult struct {
	Time time.Time `json:"time"`
	OK   bool      `json:"ok"`
	// StatusCode is the HTTP status when one was received.
	StatusCode int `json:"statusCode,omitempty"`
	// Error is the transport error without the URL ("EOF", "context deadline exceeded ...").
	Error string `json:"error,omitempty"`
}

// Message renders a failed probe the way the kubelet words it, for a probe
// of url.
func (p ProbeResult) Message(url string) string {
	if p.StatusCode != 0 {
		return fmt.Sprintf("HTTP probe failed with statuscode: %d", p.StatusCode)
	}
	return fmt.Sprintf("Get %q: %s", url, p.Error)
}

const cgroupRoot = "/sys/fs/cgroup/memory"

// Run executes scenario s (and its restart, if any) and writes the run
// directory out. It needs root for the memory cgroup and dmesg.
func Run(ctx context.Context, s *Scenario, classes, out string, log io.Writer) error {
	limit, err := s.LimitBytes()
	if err != nil {
		return err
	}
	cp := []string{classes}
	for _, jar := range s.Classpath {
		if _, err := os.Stat(jar); err != nil {
			return fmt.Errorf("classpath entry: %w", err)
		}
		cp = append(cp, jar)
	}
	if err := os.RemoveAll(out); err != nil {
		return fmt.Errorf("clean run directory: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	facts := RunFacts{
		Scenario:    s.Name,
		Command:     strings.Join(os.Args, " "),
		JavaVersion: javaVersion(ctx),
		Kernel:      kernelRelease(),
		GeneratedAt: time.Now().UTC(),
		LimitBytes:  limit,
	}
	id := NewIdentity(s)
	first := runSpec{
		dir: "1", cgroup: id.CgroupPath(0), containerID: id.ContainerID(0),
		args: append(append([]string{}, s.JVMArgs...), s.ControlProps...), stopAfter: s.StopAfterSeconds, maxSeconds: s.MaxSeconds,
		histEvery: s.HistogramEverySeconds, histFirst: s.HistogramFirstSeconds, liveness: s.Liveness,
	}
	inc, err := runOnce(ctx, s, first, cp, limit, out, log)
	if err != nil {
		return err
	}
	facts.Runs = append(facts.Runs, inc)
	if s.RestartRunSeconds > 0 && inc.SamplingEndedAt.IsZero() {
		props := s.ControlProps
		if len(s.RestartControlProps) > 0 {
			props = s.RestartControlProps
		}
		args := append(append([]string{}, s.JVMArgs...), props...)
		second := runSpec{
			dir: "2", cgroup: id.CgroupPath(1), containerID: id.ContainerID(1),
			args: args, stopAfter: s.RestartRunSeconds, maxSeconds: s.RestartRunSeconds + 30,
		}
		inc2, err := runOnce(ctx, s, second, cp, limit, out, log)
		if err != nil {
			return err
		}
		facts.Runs = append(facts.Runs, inc2)
	}
	b, err := json.MarshalIndent(facts, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run facts: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "run.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write run facts: %w", err)
	}
	if inc.StoppedBy == "timeout" {
		// The runner's own SIGKILL is not the incident the scenario is about.
		return fmt.Errorf("scenario %s did not reach its end within maxSeconds=%d (machine too busy?); run kept in %s", s.Name, s.MaxSeconds, out)
	}
	return nil
}

type runSpec struct {
	dir, cgroup, containerID string
	args                     []string
	stopAfter, maxSeconds    int
	histEvery, histFirst     int
	liveness                 *Probe
}

func runOnce(ctx context.Context, s *Scenario, spec runSpec, cp []string, limit int64, out string, log io.Writer) (Incarnation, error) {
	dir := filepath.Join(out, spec.dir)
	inc := Incarnation{Dir: spec.dir, ContainerID: spec.containerID, Cgroup: "/" + spec.cgroup, ToolOptions: s.ToolOptions}
	if err := os.MkdirAll(filepath.Join(dir, "histograms"), 0o755); err != nil {
		return inc, fmt.Errorf("create %s: %w", dir, err)
	}
	cg, err := createCgroup(spec.cgroup, limit)
	if err != nil {
		return inc, err
	}
	defer func() {
		if err := cg.remove(); err != nil {
			fmt.Fprintf(log, "warning: %v\n", err)
		}
	}()
	dmesgBefore := dmesgLineCount(ctx)

	argv := append([]string{"java"}, spec.args...)
	argv = append(argv, "-Xlog:gc*:file=gc.log:time,uptime,level,tags", "-Doombot.metrics=jvm-metrics.jsonl",
		"-cp", strings.Join(cp, ":"), s.Main)
	inc.Argv = argv
	stdout, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return inc, fmt.Errorf("create stdout log: %w", err)
	}
	defer stdout.Close()
	// The shell joins the cgroup before exec'ing java, so every page the JVM
	// ever touches is charged to the container's cgroup.
	shArgs := append([]string{"-c", `echo $$ > "$0" && exec "$@"`, cg.procsFile()}, argv...)
	cmd := exec.Command("/bin/sh", shArgs...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stdout
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if s.ToolOptions != "" {
		cmd.Env = append(cmd.Env, "JAVA_TOOL_OPTIONS="+s.ToolOptions)
	}
	fmt.Fprintf(log, "%s run %s: %s (limit %d bytes, cgroup %s)\n", s.Name, spec.dir, strings.Join(argv, " "), limit, cg.path)
	inc.StartedAt = time.Now().UTC()
	if err := cmd.Start(); err != nil {
		return inc, fmt.Errorf("start java: %w", err)
	}
	inc.PID = cmd.Process.Pid

	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex // guards inc.StoppedBy, inc.Probes, inc.Histograms, inc.SamplingEndedAt
	stopSampling := make(chan struct{})
	var stopOnce sync.Once
	endSampling := func() { stopOnce.Do(func() { close(stopSampling) }) }

	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sampleCgroup(cg, filepath.Join(dir, "cgroup-metrics.jsonl"), done, stopSampling); err != nil {
			fmt.Fprintf(log, "warning: cgroup sampler: %v\n", err)
		}
	}()
	if spec.histEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := time.Duration(spec.histFirst) * time.Second
			if first == 0 {
				first = time.Duration(spec.histEvery) * time.Second
			}
			t := time.NewTimer(first)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-stopSampling:
					return
				case <-t.C:
				}
				// Once the JVM has thrown OutOfMemoryError it is tearing down
				// (threads dying, references dropped); a histogram from then on
				// would show the heap emptied, not the leak.
				stdoutPath := filepath.Join(dir, "stdout.log")
				if logMentionsOOM(stdoutPath) {
					return
				}
				name, err := histogram(ctx, inc.PID, filepath.Join(dir, "histograms"))
				if err == nil && logMentionsOOM(stdoutPath) {
					_ = os.Remove(filepath.Join(dir, "histograms", name))
					return
				}
				if err != nil {
					fmt.Fprintf(log, "note: histogram: %v\n", err)
				} else {
					mu.Lock()
					inc.Histograms = append(inc.Histograms, name)
					mu.Unlock()
				}
				t.Reset(time.Duration(spec.histEvery) * time.Second)
			}
		}()
	}
	if spec.liveness != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results, killed := probeLoop(spec.liveness, cmd.Process, done)
			mu.Lock()
			inc.Probes = results
			if killed {
				inc.StoppedBy = "liveness"
			}
			mu.Unlock()
		}()
	}
	if spec.stopAfter > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-done:
			case <-time.After(time.Duration(spec.stopAfter) * time.Second):
				// Freeze the evidence first, then stop: the bundle shows a running container.
				mu.Lock()
				inc.SamplingEndedAt = time.Now().UTC()
				inc.StoppedBy = "stop-after"
				mu.Unlock()
				endSampling()
				time.Sleep(300 * time.Millisecond)
				if err := copyFile(filepath.Join(dir, "stdout.log"), filepath.Join(dir, "stdout.snapshot.log")); err != nil {
					fmt.Fprintf(log, "warning: %v\n", err)
				}
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-time.After(time.Duration(spec.maxSeconds) * time.Second):
			mu.Lock()
			if inc.StoppedBy == "" {
				inc.StoppedBy = "timeout"
			}
			mu.Unlock()
			_ = cmd.Process.Kill()
		}
	}()

	waitErr := cmd.Wait()
	inc.FinishedAt = time.Now().UTC()
	close(done)
	wg.Wait()
	if ctx.Err() != nil {
		return inc, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		inc.Signal = int(ws.Signal())
		inc.ExitCode = 128 + inc.Signal
	} else if cmd.ProcessState != nil {
		inc.ExitCode = cmd.ProcessState.ExitCode()
	} else if waitErr != nil {
		return inc, fmt.Errorf("wait for java: %w", waitErr)
	}
	inc.KernelOOMKills = cg.oomKills()
	if inc.StoppedBy == "" {
		inc.StoppedBy = "exit"
		if inc.KernelOOMKills > 0 && inc.Signal == int(syscall.SIGKILL) {
			inc.StoppedBy = "kernel-oom-kill"
		}
	}
	// The kernel prints the OOM report synchronously, but give klogd-less
	// buffers a moment before reading.
	time.Sleep(500 * time.Millisecond)
	if lines := kernelOOMLines(ctx, dmesgBefore, "/"+spec.cgroup); len(lines) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "kernel.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return inc, fmt.Errorf("write kernel log: %w", err)
		}
	}
	fmt.Fprintf(log, "%s run %s: pid %d exit %d (signal %d), stopped by %s, kernel oom kills %d, %d histograms, %.1fs\n",
		s.Name, spec.dir, inc.PID, inc.ExitCode, inc.Signal, inc.StoppedBy, inc.KernelOOMKills, len(inc.Histograms),
		inc.FinishedAt.Sub(inc.StartedAt).Seconds())
	return inc, nil
}

// cgroup is one cgroup v1 memory cgroup created for a run.
type cgroup struct {
	path string // absolute directory
	made []string
}

func createCgroup(rel string, limit int64) (*cgroup, error) {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "memory.limit_in_bytes")); err != nil {
		return nil, fmt.Errorf("cgroup v1 memory controller not available at %s: %w", cgroupRoot, err)
	}
	cg := &cgroup{path: filepath.Join(cgroupRoot, rel)}
	// Create each level so remove can delete exactly what was made.
	parts := strings.Split(rel, "/")
	cur := cgroupRoot
	for _, p := range parts {
		cur = filepath.Join(cur, p)
		if _, err := os.Stat(cur); err == nil {
			continue
		}
		if err := os.Mkdir(cur, 0o755); err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", cur, err)
		}
		cg.made = append(cg.made, cur)
	}
	// The kubelet limits the pod cgroup too; for one container both are the same.
	for _, dir := range []string{filepath.Dir(cg.path), cg.path} {
		if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
			_ = cg.remove()
			return nil, fmt.Errorf("set memory limit on %s: %w", dir, err)
		}
	}
	// No swap on Kubernetes nodes; without this the kernel could page out instead of killing.
	_ = os.WriteFile(filepath.Join(cg.path, "memory.swappiness"), []byte("0"), 0o644)
	return cg, nil
}

func (c *cgroup) procsFile() string { return filepath.Join(c.path, "cgroup.procs") }

func (c *cgroup) oomKills() int {
	b, err := os.ReadFile(filepath.Join(c.path, "memory.oom_control"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func (c *cgroup) remove() error {
	var errs []error
	for i := len(c.made) - 1; i >= 0; i-- {
		var err error
		// rmdir fails with EBUSY until the killed task is fully reaped.
		for try := 0; try < 50; try++ {
			if err = os.Remove(c.made[i]); err == nil || errors.Is(err, os.ErrNotExist) {
				err = nil
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", c.made[i], err))
		}
	}
	c.made = nil
	return errors.Join(errs...)
}

// readWorkingSet returns usage, inactive_file and cAdvisor's working set.
func (c *cgroup) readWorkingSet() (usage, inactive, ws int64, err error) {
	b, err := os.ReadFile(filepath.Join(c.path, "memory.usage_in_bytes"))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read usage: %w", err)
	}
	usage, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("parse usage: %w", err)
	}
	st, err := os.ReadFile(filepath.Join(c.path, "memory.stat"))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read memory.stat: %w", err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "total_inactive_file "); ok {
			inactive, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	ws = usage - inactive
	if ws < 0 {
		ws = 0
	}
	return usage, inactive, ws, nil
}

// CgroupSample is one line of cgroup-metrics.jsonl.
type CgroupSample struct {
	T            int64 `json:"t"`
	Usage        int64 `json:"usage"`
	InactiveFile int64 `json:"inactiveFile"`
	WorkingSet   int64 `json:"workingSet"`
}

func sampleCgroup(c *cgroup, path string, done, stop <-chan struct{}) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	enc := json.NewEncoder(f)
	for {
		u, in, ws, err := c.readWorkingSet()
		if err == nil {
			if err := enc.Encode(CgroupSample{T: time.Now().UnixMilli(), Usage: u, InactiveFile: in, WorkingSet: ws}); err != nil {
				return fmt.Errorf("write cgroup sample: %w", err)
			}
		}
		select {
		case <-done:
			return nil
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

// histogram runs jcmd GC.class_histogram (which forces a full GC) and saves
// its output under the time the command was issued.
func histogram(ctx context.Context, pid int, dir string) (string, error) {
	at := time.Now().UTC()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "jcmd", strconv.Itoa(pid), "GC.class_histogram").Output()
	if err != nil {
		return "", fmt.Errorf("jcmd %d GC.class_histogram: %w", pid, err)
	}
	if !bytes.Contains(out, []byte("#instances")) {
		return "", fmt.Errorf("jcmd %d GC.class_histogram: unexpected output %q", pid, firstLine(out))
	}
	name := at.Format("2006-01-02T15:04:05.000Z07:00") + ".txt"
	if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
		return "", fmt.Errorf("write histogram: %w", err)
	}
	return name, nil
}

// probeLoop plays the kubelet's HTTP liveness probe. It returns every result
// and whether it killed the container.
func probeLoop(p *Probe, proc *os.Process, done <-chan struct{}) ([]ProbeResult, bool) {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	client := &http.Client{Timeout: timeout}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", p.Port, p.Path)
	var results []ProbeResult
	select {
	case <-done:
		return results, false
	case <-time.After(time.Duration(p.InitialDelaySeconds) * time.Second):
	}
	fails := 0
	tick := time.NewTicker(time.Duration(p.PeriodSeconds) * time.Second)
	defer tick.Stop()
	for {
		r := ProbeResult{Time: time.Now().UTC()}
		resp, err := client.Get(url)
		var uerr *neturl.Error
		switch {
		case errors.As(err, &uerr):
			r.Error = uerr.Err.Error()
			if uerr.Timeout() {
				r.Error = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
			}
		case err != nil:
			r.Error = err.Error()
		case resp.StatusCode < 200 || resp.StatusCode >= 400:
			r.StatusCode = resp.StatusCode
		default:
			r.OK = true
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		results = append(results, r)
		if r.OK {
			fails = 0
		} else {
			fails++
		}
		if fails >= p.FailureThreshold {
			_ = proc.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(time.Duration(p.GraceSeconds) * time.Second):
				_ = proc.Kill()
			}
			return results, true
		}
		select {
		case <-done:
			return results, false
		case <-tick.C:
		}
	}
}

func logMentionsOOM(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Contains(b, []byte("OutOfMemoryError"))
}

func dmesgLineCount(ctx context.Context) int {
	out, err := exec.CommandContext(ctx, "dmesg").Output()
	if err != nil {
		return 0
	}
	return bytes.Count(out, []byte("\n"))
}

// kernelOOMLines returns the dmesg -T lines, printed since skip, that belong
// to OOM kills in cgroup memcg. Other tenants of the machine OOM too; their
// reports are dropped.
func kernelOOMLines(ctx context.Context, skip int, memcg string) []string {
	out, err := exec.CommandContext(ctx, "dmesg", "-T").Output()
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if skip > len(lines) {
		skip = 0 // the ring buffer wrapped
	}
	return FilterOOMReports(lines[skip:], memcg)
}

// FilterOOMReports keeps the OOM-killer reports (from "invoked oom-killer"
// to the "Killed process" line, plus the oom_reaper line) whose oom-kill
// summary names memcg as task_memcg.
func FilterOOMReports(lines []string, memcg string) []string {
	var out, block []string
	in := false
	mine := false
	var pid string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "invoked oom-killer:"):
			in, mine, block = true, false, []string{l}
			continue
		case in:
			block = append(block, l)
			if strings.Contains(l, "oom-kill:") && strings.Contains(l, "task_memcg="+memcg+",") {
				mine = true
				if i := strings.Index(l, ",pid="); i >= 0 {
					pid = strings.SplitN(l[i+5:], ",", 2)[0]
				}
			}
			if strings.Contains(l, "Killed process") {
				if mine {
					out = append(out, block...)
				}
				in = false
			}
		case pid != "" && strings.Contains(l, "oom_reaper: reaped process "+pid+" "):
			out = append(out, l)
		}
	}
	return out
}

func javaVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "java", "-version").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", src, err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("snapshot %s: %w", dst, err)
	}
	return nil
}

func firstLine(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}
