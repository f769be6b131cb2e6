package serve

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/oombot/oombot/internal/slackserver"
)

// methodScopes maps each Web API method the bot may call to the bot scope
// it needs ("" for none).
var methodScopes = map[string]string{
	"auth.test":                    "",
	"apps.connections.open":        "", // app-level token, connections:write
	"chat.postMessage":             "chat:write",
	"chat.postEphemeral":           "chat:write",
	"chat.update":                  "chat:write",
	"files.getUploadURLExternal":   "files:write",
	"files.completeUploadExternal": "files:write",
	// A new leader's catch-up reads watched channels back; the history
	// scopes are needed to receive message events anyway (groups:history
	// for private channels).
	"conversations.history": "channels:history",
	"conversations.replies": "channels:history",
}

// eventScopes are needed to receive what the bot listens to: messages in
// public and private channels, and the /oom command.
var eventScopes = []string{"channels:history", "groups:history", "commands"}

type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command string `json:"command"`
		} `json:"slash_commands"`
	} `json:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			BotEvents []string `json:"bot_events"`
		} `json:"event_subscriptions"`
		Interactivity struct {
			IsEnabled bool `json:"is_enabled"`
		} `json:"interactivity"`
		SocketModeEnabled bool `json:"socket_mode_enabled"`
	} `json:"settings"`
}

// TestAppManifestScopes runs the bot through every kind of traffic (alert
// with chart, slash command, raw-evidence button), records the Web API
// methods it called, and checks deploy/slack-app-manifest.yaml asks for
// exactly the scopes those methods and events need: no more, no fewer.
func TestAppManifestScopes(t *testing.T) {
	srv := newServer(t)
	startBot(t, srv, botOpts{})
	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "report and chart", func(s *slackserver.Server) bool {
		return len(replies(s, alertsChannel, alert.TS)) == 1 && len(filesIn(s, alertsChannel, alert.TS)) == 1
	})
	rep := replies(srv, alertsChannel, alert.TS)[0]
	p := srv.BlockActionsPayload(slackserver.BlockAction{ActionID: "oom_feedback_helpful", Value: triageID(t, rep), ChannelID: alertsChannel, MessageTS: rep.TS, UserID: "U1"})
	if _, err := srv.Push(slackserver.Interactive, p); err != nil {
		t.Fatal(err)
	}
	env, _ := srv.Push(slackserver.SlashCommands, srv.SlashCommandFields(slackserver.SlashCommand{Command: "/oom", Text: "help", ChannelID: alertsChannel, UserID: "U1"}))
	if _, err := srv.WaitAck(context.Background(), env); err != nil {
		t.Fatal(err)
	}

	need := map[string]bool{}
	for _, s := range eventScopes {
		need[s] = true
	}
	for _, c := range srv.Calls("") {
		if c.Method == "" || c.Method == slackserver.MethodUpload || c.Method == slackserver.MethodResponseURL {
			continue
		}
		scope, known := methodScopes[c.Method]
		if !known {
			t.Errorf("the bot calls %s: add its scope to methodScopes and the manifest", c.Method)
		}
		if scope != "" {
			need[scope] = true
		}
	}
	var want []string
	for s := range need {
		want = append(want, s)
	}
	sort.Strings(want)

	data, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy/slack-app-manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	// The manifest has more keys than this test reads: decode loosely.
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(m.OAuthConfig.Scopes.Bot))
	if !slices.Equal(got, want) {
		t.Errorf("manifest bot scopes %v, the bot needs exactly %v", got, want)
	}
	events := slices.Sorted(slices.Values(m.Settings.EventSubscriptions.BotEvents))
	if !slices.Equal(events, []string{"message.channels", "message.groups"}) {
		t.Errorf("bot events %v", events)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/oom" || !m.Settings.Interactivity.IsEnabled || !m.Settings.SocketModeEnabled {
		t.Errorf("manifest: slash command, interactivity or socket mode missing: %+v", m)
	}
}
