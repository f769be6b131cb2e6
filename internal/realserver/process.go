package realserver

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a server process a test started: everything it prints is
// kept (Output), its exit is observable (Done, Err), and it is stopped
// exactly once, however many cleanups ask. Every harness that runs a real
// server (Prometheus, Alertmanager, PostgreSQL, Loki, the end-to-end
// control plane) shares it.
type Process struct {
	Name string
	cmd  *exec.Cmd
	out  *Output
	done chan struct{}
	err  error
	stop sync.Once
}

// StartProcess starts cmd, collecting its stdout and stderr (it sets them),
// and calls onLine, when set, with every complete line it prints. The
// caller prepares cmd: arguments, environment, working directory,
// credentials.
func StartProcess(name string, cmd *exec.Cmd, onLine func(string)) (*Process, error) {
	p := &Process{Name: name, cmd: cmd, out: &Output{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = io.Writer(p.out), io.Writer(p.out)
	if onLine != nil {
		// exec copies each pipe from its own goroutine: one writer each.
		cmd.Stdout = io.MultiWriter(p.out, &lineWriter{fn: onLine})
		cmd.Stderr = io.MultiWriter(p.out, &lineWriter{fn: onLine})
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Output is everything the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error once Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill kills the process at once (SIGKILL: no shutdown hooks run, as when
// a node dies) and waits for it.
func (p *Process) Kill() { p.Shutdown(syscall.SIGKILL, 0, nil) }

// Stop sends SIGTERM, waits up to grace for the process to exit, then
// kills it, and waits.
func (p *Process) Stop(grace time.Duration) { p.Shutdown(syscall.SIGTERM, grace, nil) }

// Shutdown sends sig, waits up to grace for the process to exit, then runs
// force (nil: SIGKILL the process) and waits for the exit. Only the first
// of Kill, Stop and Shutdown acts; later calls return at once.
func (p *Process) Shutdown(sig syscall.Signal, grace time.Duration, force func()) {
	p.stop.Do(func() {
		// Signalling fails only when the process has already exited, and
		// then done is (or is about to be) closed.
		_ = p.cmd.Process.Signal(sig)
		if sig != syscall.SIGKILL {
			select {
			case <-p.done:
				return
			case <-time.After(grace):
			}
			if force != nil {
				force()
			} else {
				_ = p.cmd.Process.Kill()
			}
		}
		<-p.done
	})
}

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(b), nil
}
