// Package leakcheck is a test helper for every path that sends data out of
// the bot (rendered reports, LLM requests, Slack messages): it plants fake
// secrets of every kind internal/redact handles into a copy of an incident
// bundle, and checks an outbound payload for any trace of them.
//
// The planted values are fake and unique to this package (each contains
// "pl4nted" or another marker no fixture holds), so a hit is always a leak,
// never a coincidence; TestPlantedAbsentFromFixtures keeps it that way.
package leakcheck

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// Secret is one planted fake secret. Kind is the label internal/redact
// gives it ("[REDACTED:<Kind>]"); Value is the secret part only (never the
// key name or user name the redactor deliberately keeps).
type Secret struct {
	Kind, Value string
}

// The planted values, named so PlantBundle can place each one.
var (
	dbPassword     = Secret{"password", "pl4nted-DbPass-91xq"}
	keyStorePass   = Secret{"password", "pl4nted-KeyStore-55ab"}
	jdbcPassword   = Secret{"url-password", "pl4nted-JdbcPw-3kzz"}
	urlPassword    = Secret{"url-password", "pl4nted-UrlPw-66yy"}
	bearerToken    = Secret{"bearer", "pl4ntedBearerTok3nZ9x8w7v6"}
	basicAuth      = Secret{"basic", "cGw0bnRlZDpiYXNpY3Bhc3M="}
	apiKey         = Secret{"api-key", "pl4nted-ApiKey-7788qq"}
	clientSecret   = Secret{"client-secret", "pl4nted-ClientSecret-42ww"}
	awsKeyID       = Secret{"aws-access-key-id", "AKIAPL4NTEDKEY000001"}
	awsSecret      = Secret{"aws-secret-key", "pl4ntedAwsSecretKey/Wq8Rt5Yu2Io9Pa3Sd6Fg"}
	slackToken     = Secret{"slack-token", "xoxb-4711pl4nted-SlackBotToken9x"}
	githubToken    = Secret{"github-token", "ghp_pl4ntedGithubTok3nAbCdEfGhIjKlMnOp"}
	jwtToken       = Secret{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbDRudGVkIn0.pl4ntedJwtSig_Xy12"}
	pemBody        = Secret{"private-key", "MIIEpl4ntedPemBodyQ29udGVudEZha2VLZXk="}
	googleKey      = Secret{"google-api-key", "AIzaSyPl4ntedGoogleKeyQ7w3E9r1T5y8U2iZx"}
	email          = Secret{"email", "oncall-pl4nted@mx-pl4nted.zz"}
	webhookToken   = Secret{"token", "pl4nted-WebhookTok-31ee"}
	credentialsVal = Secret{"credentials", "pl4nted-Creds-08rr"}
)

// Planted are fake secrets of every kind the redactor handles; each is
// unique and greppable.
var Planted = []Secret{
	dbPassword, keyStorePass, jdbcPassword, urlPassword, bearerToken, basicAuth, apiKey,
	clientSecret, awsKeyID, awsSecret, slackToken, githubToken, jwtToken, pemBody, googleKey,
	email, webhookToken, credentialsVal,
}

// fragmentLen is the shortest piece of a secret AssertClean looks for: long
// enough that no honest text contains it by chance, short enough to catch a
// secret that was truncated (clip) or partly masked.
const fragmentLen = 8

// PlantBundle copies the bundle directory src into t.TempDir() and plants
// every Planted secret in it:
//   - logs/*.previous.log: log lines just before the first OutOfMemoryError
//     trace, and one inside the trace's outermost exception message (which
//     the evidence keeps in the trace's chain);
//   - events.yaml: an extra event whose message carries secrets;
//   - pod.yaml, focus container: -Djavax.net.ssl.keyStorePassword in
//     JAVA_TOOL_OPTIONS, a DB_PASSWORD env value, and a JDBC URL with
//     credentials as the first JVM argument;
//   - bundle.yaml: annotations with secrets appended to the alert text.
//
// It returns the new directory. Any failure is fatal to the test.
func PlantBundle(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := copyDir(src, dst); err != nil {
		t.Fatalf("leakcheck: copying bundle: %v", err)
	}
	container, err := plantManifest(filepath.Join(dst, "bundle.yaml"))
	if err != nil {
		t.Fatalf("leakcheck: bundle.yaml: %v", err)
	}
	if err := plantPod(filepath.Join(dst, "pod.yaml"), container); err != nil {
		t.Fatalf("leakcheck: pod.yaml: %v", err)
	}
	if err := plantEvents(filepath.Join(dst, "events.yaml")); err != nil {
		t.Fatalf("leakcheck: events.yaml: %v", err)
	}
	logs, _ := filepath.Glob(filepath.Join(dst, "logs", "*.previous.log"))
	planted := 0
	for _, l := range logs {
		ok, err := plantLog(l)
		if err != nil {
			t.Fatalf("leakcheck: %s: %v", filepath.Base(l), err)
		}
		if ok {
			planted++
		}
	}
	if planted == 0 {
		t.Fatalf("leakcheck: bundle %s has no previous log with an OutOfMemoryError to plant secrets in", src)
	}
	return dst
}

// AssertClean fails the test, naming where and the secret's kind, for every
// planted secret whose value — or any fragment of at least 8 characters of
// it — occurs in data.
func AssertClean(t testing.TB, where string, data []byte) {
	t.Helper()
	for _, s := range Planted {
		if bytes.Contains(data, []byte(s.Value)) {
			t.Errorf("%s leaks the planted %s secret %q", where, s.Kind, s.Value)
			continue
		}
		if frag, ok := findFragment(data, s.Value); ok {
			t.Errorf("%s leaks part of the planted %s secret: %q (of %q)", where, s.Kind, frag, s.Value)
		}
	}
}

// findFragment returns the first fragmentLen-long piece of secret found in
// data.
func findFragment(data []byte, secret string) (string, bool) {
	for i := 0; i+fragmentLen <= len(secret); i++ {
		frag := secret[i : i+fragmentLen]
		if bytes.Contains(data, []byte(frag)) {
			return frag, true
		}
	}
	return "", false
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// plantManifest appends secret-bearing annotations to bundle.yaml's alert
// text and returns the target container.
func plantManifest(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("not a mapping")
	}
	root := doc.Content[0]
	container := ""
	if tgt := mapValue(root, "target"); tgt != nil {
		if c := mapValue(tgt, "container"); c != nil {
			container = c.Value
		}
	}
	alert := mapValue(root, "alert")
	if alert == nil {
		root.Content = append(root.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: "alert"},
			&yaml.Node{Kind: yaml.ScalarNode, Value: "[FIRING:1] planted\n"})
		alert = root.Content[len(root.Content)-1]
	}
	alert.Style = yaml.LiteralStyle
	alert.Value = strings.TrimRight(alert.Value, "\n") + "\n" + strings.Join([]string{
		"Planted annotations (leakcheck):",
		" - runbook_token = Bearer " + jwtToken.Value,
		" - google_maps = key " + googleKey.Value,
		" - ci = " + githubToken.Value,
		" - aws = " + awsKeyID.Value + " " + awsSecret.Value,
		" - signing_key = -----BEGIN RSA PRIVATE KEY-----",
		pemBody.Value,
		"-----END RSA PRIVATE KEY-----",
	}, "\n") + "\n"
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", err
	}
	return container, os.WriteFile(path, out, 0o644)
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// plantPod puts secrets where JVM flags are read from: JAVA_TOOL_OPTIONS,
// another env var, and the JVM's arguments.
func plantPod(path, container string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var pod corev1.Pod
	if err := sigsyaml.Unmarshal(data, &pod); err != nil {
		return err
	}
	if len(pod.Spec.Containers) == 0 {
		return fmt.Errorf("pod has no containers")
	}
	c := &pod.Spec.Containers[0]
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == container {
			c = &pod.Spec.Containers[i]
		}
	}
	opt := "-Djavax.net.ssl.keyStorePassword=" + keyStorePass.Value
	found := false
	for i := range c.Env {
		if c.Env[i].Name == "JAVA_TOOL_OPTIONS" {
			c.Env[i].Value = strings.TrimSpace(c.Env[i].Value + " " + opt)
			found = true
		}
	}
	if !found {
		c.Env = append(c.Env, corev1.EnvVar{Name: "JAVA_TOOL_OPTIONS", Value: opt})
	}
	c.Env = append(c.Env,
		corev1.EnvVar{Name: "DB_PASSWORD", Value: dbPassword.Value},
		corev1.EnvVar{Name: "WEBHOOK_URL", Value: "https://hooks.example.com/notify?token=" + webhookToken.Value})
	// A JVM option must come before the main class, so it goes first in
	// args (or right after the launcher when there are no args).
	jdbc := "-Dspring.datasource.url=jdbc:postgresql://app:" + jdbcPassword.Value + "@db.internal:5432/app"
	switch {
	case len(c.Args) > 0:
		c.Args = append([]string{jdbc}, c.Args...)
	case len(c.Command) > 0:
		c.Command = append([]string{c.Command[0], jdbc}, c.Command[1:]...)
	default:
		c.Args = []string{jdbc}
	}
	out, err := sigsyaml.Marshal(&pod)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// plantEvents adds one event about the pod whose message carries secrets.
func plantEvents(path string) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil // an optional file; the bundle simply has no events
	}
	if err != nil {
		return err
	}
	var list corev1.EventList
	if err := sigsyaml.Unmarshal(data, &list); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		return nil
	}
	ev := *list.Items[0].DeepCopy()
	ev.Name += ".leakcheck"
	ev.Type, ev.Reason, ev.Count = "Normal", "Notified", 1
	ev.Message = "Escalated to " + email.Value + " via slack " + slackToken.Value +
		" (credentials=" + credentialsVal.Value + ")"
	list.Items = append(list.Items, ev)
	out, err := sigsyaml.Marshal(&list)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// plantLog inserts secret-bearing log lines just before the log record that
// starts the first OutOfMemoryError trace, and appends a URL with
// credentials to the trace's outermost exception message. It reports false
// when the log holds no OutOfMemoryError.
func plantLog(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	lines := strings.Split(string(data), "\n")
	oom := -1
	for i, l := range lines {
		if strings.Contains(l, "OutOfMemoryError") {
			oom = i
			break
		}
	}
	if oom < 0 {
		return false, nil
	}
	// Walk back over the trace (frames, "Caused by:", un-timestamped
	// exception headers) to the log record that introduced it.
	start := oom
	for start > 0 && !startsRecord(lines[start]) {
		start--
	}
	// The outermost exception header: the first line of the trace that is
	// neither the log record nor a frame. Appending to it keeps the OOM's
	// own message, and so the diagnosis, unchanged.
	header := oom
	for i := start; i <= oom; i++ {
		if i == start && startsRecord(lines[i]) && i != oom {
			continue
		}
		if isExceptionHeader(lines[i]) {
			header = i
			break
		}
	}
	lines[header] = strings.TrimRight(lines[header], " ") + " fetching https://uploader:" + urlPassword.Value + "@img.example.com/in/1.png"

	prefix := "2026-01-01T00:00:00.000Z"
	if f := strings.Fields(lines[start]); len(f) > 0 && startsRecord(lines[start]) {
		prefix = f[0]
	}
	planted := []string{
		prefix + "  INFO [main] c.e.config.DataSource - connecting as app with password=" + dbPassword.Value,
		prefix + " DEBUG [http-out-1] c.e.http.Client - request headers: Authorization: Bearer " + bearerToken.Value,
		prefix + " DEBUG [http-out-2] c.e.http.Client - request headers: Authorization: Basic " + basicAuth.Value,
		prefix + " DEBUG [http-out-3] c.e.http.Client - X-Api-Key: " + apiKey.Value + " client_secret=" + clientSecret.Value,
		prefix + "  WARN [s3-upload] c.e.storage.S3 - using static credentials " + awsKeyID.Value + " " + awsSecret.Value,
		prefix + "  INFO [notify] c.e.notify.Slack - posting as " + slackToken.Value + " for " + email.Value,
		prefix + "  INFO [ci] c.e.build.Info - {\"github\":\"" + githubToken.Value + "\",\"credentials\":\"" + credentialsVal.Value + "\"}",
	}
	out := append(append(append([]string{}, lines[:start]...), planted...), lines[start:]...)
	return true, os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644)
}

// startsRecord reports whether a log line begins a new record: it starts
// with a timestamp-like digit or a JSON object.
func startsRecord(l string) bool {
	return l != "" && (l[0] >= '0' && l[0] <= '9' || l[0] == '{')
}

// isExceptionHeader reports whether l looks like "pkg.SomeException: msg"
// or "Caused by: …" (but not a stack frame).
func isExceptionHeader(l string) bool {
	t := strings.TrimSpace(l)
	if t == "" || strings.HasPrefix(t, "at ") || strings.HasPrefix(t, "...") || l[0] == '\t' || l[0] == ' ' {
		return false
	}
	head, _, _ := strings.Cut(strings.TrimPrefix(t, "Caused by: "), ":")
	return strings.HasSuffix(head, "Exception") || strings.HasSuffix(head, "Error")
}
