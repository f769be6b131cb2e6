package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/fleet"
)

// Help is the /oom help text.
const Help = "*oombot* diagnoses OOMKilled pods and JVM memory alerts.\n" +
	"• `/oom triage <pod> [-n namespace] [--cluster name] [-c container]`: triage a pod now; the report is posted in this channel.\n" +
	"• `/oom help`: this text.\n" +
	"Alerts from Alertmanager or Datadog in watched channels are triaged automatically, in their thread."

// HandleCommand answers /oom. The returned message is the acknowledgement
// (shown only to the caller); the triage report follows in the channel.
func (b *Bot) HandleCommand(ctx context.Context, c chat.Command) chat.Message {
	args := strings.Fields(c.Text)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return chat.Message{Text: Help, Ephemeral: true}
	}
	if args[0] != "triage" {
		return chat.Message{Text: fmt.Sprintf("Unknown subcommand `%s`.\n%s", args[0], Help), Ephemeral: true}
	}
	ch, ok := b.channels[c.Channel]
	if !ok {
		return chat.Message{Text: "oombot is not configured for this channel: ask an admin to add its id (`" + c.Channel + "`) to `channels` in the oombot config.", Ephemeral: true}
	}
	req, err := parseTriage(args[1:])
	if err != nil {
		return chat.Message{Text: err.Error() + "\nUsage: `/oom triage <pod> [-n namespace] [--cluster name] [-c container]`", Ephemeral: true}
	}
	if req.Namespace == "" {
		ns := ch.Namespaces
		if len(ns) != 1 || ns[0] == "*" {
			return chat.Message{Text: "Which namespace? Add `-n <namespace>` (this channel may triage: " + strings.Join(ns, ", ") + ").", Ephemeral: true}
		}
		req.Namespace = ns[0]
	}
	if !ch.Allows(req.Namespace) {
		return chat.Message{Text: fmt.Sprintf("This channel may not triage namespace `%s` (allowed: %s).", req.Namespace, strings.Join(ch.Namespaces, ", ")), Ephemeral: true}
	}
	if req.Cluster == "" {
		req.Cluster = ch.Cluster
	}
	to := chat.Target{Channel: c.Channel, ResponseURL: c.ResponseURL, User: c.User}
	notice := "Requested by <@" + c.User + "> with `" + strings.TrimSpace(c.Command+" "+c.Text) + "`"
	if !b.spawn(func(ctx context.Context) { b.commandTriage(ctx, req, to, notice) }) {
		return chat.Message{Text: "oombot is restarting; try again in a minute.", Ephemeral: true}
	}
	where := req.Namespace + "/" + req.Pod
	if req.Cluster != "" {
		where += " on " + req.Cluster
	}
	return chat.Message{Text: "Triaging `" + where + "`… the report will be posted in this channel.", Ephemeral: true}
}

// commandTriage posts the report as a new message in the channel, so it
// has a thread for the chart and buttons; a failure (a wrong pod name, with
// close matches) goes only to the requester.
func (b *Bot) commandTriage(ctx context.Context, req fleet.Request, to chat.Target, notice string) {
	b.triage(ctx, "command", req, chat.Target{Channel: to.Channel}, to, notice)
}

func parseTriage(args []string) (fleet.Request, error) {
	var r fleet.Request
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
				return v, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("`%s` needs a value", a)
			}
			i++
			return args[i], nil
		}
		name, _, _ := strings.Cut(a, "=")
		var err error
		switch name {
		case "-n", "--namespace":
			r.Namespace, err = val()
		case "--cluster":
			r.Cluster, err = val()
		case "-c", "--container":
			r.Container, err = val()
		default:
			if strings.HasPrefix(a, "-") {
				return r, fmt.Errorf("unknown flag `%s`", a)
			}
			if r.Pod != "" {
				return r, fmt.Errorf("one pod at a time (got `%s` and `%s`)", r.Pod, a)
			}
			r.Pod = a
		}
		if err != nil {
			return r, err
		}
	}
	if r.Pod == "" {
		return r, fmt.Errorf("which pod? e.g. `/oom triage checkout-7d9f8b6c5-x2x4q -n shop`")
	}
	return r, nil
}
