package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// BuildBot compiles the repository's ./cmd/bot into dir and returns the
// binary's path: the tests run the program users run, as a process.
func BuildBot(ctx context.Context, repoRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "bot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/bot")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/bot: %w\n%s", err, out)
	}
	return bin, nil
}

// BotOptions configure StartBot.
type BotOptions struct {
	// Bin is the bot binary (BuildBot).
	Bin string
	// Config is the config file passed to `bot serve --config`.
	Config string
	// Env is the whole environment of the process (tokens, secrets):
	// nothing is inherited from the test's, so no proxy or KUBECONFIG
	// setting leaks in.
	Env map[string]string
	// Name tells bots apart in logs ("bot", "bot-a").
	Name string
}

// LogLine is one JSON log line of the bot (log/slog's JSON handler).
type LogLine map[string]any

// Msg is the line's message.
func (l LogLine) Msg() string { s, _ := l["msg"].(string); return s }

// Str is attribute k as a string ("" when absent).
func (l LogLine) Str(k string) string {
	switch v := l[k].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Bot is a running `bot serve`.
type Bot struct {
	Name string
	// Addr is the HTTP address it listens on (metrics, webhooks), once it
	// logged it.
	Addr string
	proc *Process

	mu      sync.Mutex
	lines   []LogLine
	changed chan struct{}
}

// StartBot runs `bot serve --config` and waits until it logs that it
// listens (config metricsListen or HTTP mode) or exits. A bot that exits
// first is an error carrying its output.
func StartBot(ctx context.Context, o BotOptions) (*Bot, error) {
	if o.Name == "" {
		o.Name = "bot"
	}
	env := make([]string, 0, len(o.Env))
	for k, v := range o.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	b := &Bot{Name: o.Name, changed: make(chan struct{})}
	p, err := startProcess(o.Name, o.Bin, []string{"serve", "--config", o.Config}, env, b.onLine)
	if err != nil {
		return nil, err
	}
	b.proc = p
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	line, err := b.WaitLog(wctx, func(l LogLine) bool { return l.Msg() == "listening" })
	if err != nil {
		b.Kill()
		return nil, fmt.Errorf("%s did not start listening: %w\noutput:\n%s", o.Name, err, tail(p.Output(), 6000))
	}
	b.Addr = line.Str("addr")
	return b, nil
}

func (b *Bot) onLine(s string) {
	var l LogLine
	if json.Unmarshal([]byte(s), &l) != nil {
		l = LogLine{"msg": s, "raw": true}
	}
	b.mu.Lock()
	b.lines = append(b.lines, l)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// Logs returns the log lines so far.
func (b *Bot) Logs() []LogLine {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]LogLine(nil), b.lines...)
}

// WaitLog waits for a log line matching match, the process's exit or the
// end of ctx.
func (b *Bot) WaitLog(ctx context.Context, match func(LogLine) bool) (LogLine, error) {
	seen := 0
	for {
		b.mu.Lock()
		lines, ch := b.lines[seen:], b.changed
		seen = len(b.lines)
		b.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l, nil
			}
		}
		select {
		case <-ch:
		case <-b.proc.Done():
			// Read what arrived before the exit, once more.
			b.mu.Lock()
			rest := b.lines[seen:]
			b.mu.Unlock()
			for _, l := range rest {
				if match(l) {
					return l, nil
				}
			}
			return nil, fmt.Errorf("%s exited: %v", b.Name, b.proc.Err())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Output is everything the bot printed.
func (b *Bot) Output() string { return b.proc.Output() }

// Done is closed when the bot has exited.
func (b *Bot) Done() <-chan struct{} { return b.proc.Done() }

// Err is the exit error once Done is closed.
func (b *Bot) Err() error { return b.proc.Err() }

// Stop sends SIGTERM (the bot finishes in-flight triages) and waits up to
// grace before killing it.
func (b *Bot) Stop(grace time.Duration) { b.proc.Stop(grace) }

// Kill kills the bot with SIGKILL, as a node failure would: no lease
// release, no goodbye.
func (b *Bot) Kill() { b.proc.Kill() }

// Errors returns the bot's ERROR-level log lines.
func (b *Bot) Errors() []string {
	var out []string
	for _, l := range b.Logs() {
		if strings.EqualFold(l.Str("level"), "ERROR") {
			out = append(out, fmt.Sprint(map[string]any(l)))
		}
	}
	return out
}
