package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The README's "## Deploy" section is tested as written: every command in
// its shell blocks is translated into something this test can run or check
// here, where there is no cluster, registry or container engine:
//
//	kubectl apply -k DIR                     kustomize build DIR, validated
//	helm install|upgrade --install N C ARGS  helm template N C ARGS, validated
//	kubectl create namespace NS              NS recorded
//	kubectl -n NS create secret generic ...  keys recorded; each must be read by a rendered pod
//	kubectl -n NS logs deploy/NAME           a rendered Deployment NAME in NS
//	kubectl -n NS port-forward svc/NAME P    a rendered Service NAME in NS with port P
//	curl ... localhost:P/PATH                a forwarded port, a path serve serves
//	docker build -t IMAGE DIR | docker push  the Dockerfile exists; push follows build
//
// A command it cannot translate fails the test: the README may only show
// what is checked.

// readmeCommands extracts the commands of the shell blocks of one README
// section, continuation lines joined and comments dropped.
func readmeCommands(t *testing.T, section string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n"+section+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", section)
	}
	body := text[start+len(section)+2:]
	if end := strings.Index(body, "\n## "); end >= 0 {
		body = body[:end]
	}
	var (
		cmds    []string
		inShell bool
		inFence bool
		cur     string
	)
	for _, line := range strings.Split(body, "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			if inFence {
				inFence, inShell = false, false
				continue
			}
			inFence = true
			lang := strings.TrimPrefix(trim, "```")
			inShell = lang == "sh" || lang == "bash" || lang == "shell" || lang == "console"
			continue
		}
		if !inShell || trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if c, ok := strings.CutSuffix(trim, "\\"); ok {
			cur += c + " "
			continue
		}
		cmds = append(cmds, strings.TrimSpace(cur+trim))
		cur = ""
	}
	if cur != "" {
		t.Fatalf("README %s: a command ends in a continuation: %q", section, cur)
	}
	return cmds
}

// shellWords splits a command line with shell quoting. Substitutions,
// pipes and redirections are refused: the test could not check them.
func shellWords(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		quote rune
		any   bool
	)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, any = r, true
		case strings.ContainsRune("|;<>$`", r):
			return nil, fmt.Errorf("shell syntax %q is not translated", r)
		case r == ' ' || r == '\t':
			if cur.Len() > 0 || any {
				words = append(words, cur.String())
				cur.Reset()
				any = false
			}
		default:
			cur.WriteRune(r)
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unbalanced quote")
	}
	if cur.Len() > 0 || any {
		words = append(words, cur.String())
	}
	return words, nil
}

// kubectlArgs pulls the global flags kubectl accepts anywhere (-n,
// --namespace, --context) out of its arguments.
func kubectlArgs(args []string) (ns, context string, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-n" || a == "--namespace" || a == "--context") && i+1 < len(args):
			if a == "--context" {
				context = args[i+1]
			} else {
				ns = args[i+1]
			}
			i++
		case strings.HasPrefix(a, "--namespace="):
			ns = strings.TrimPrefix(a, "--namespace=")
		case strings.HasPrefix(a, "--context="):
			context = strings.TrimPrefix(a, "--context=")
		default:
			rest = append(rest, a)
		}
	}
	return ns, context, rest
}

// readmeRun is the state the commands build up, checked at the end.
type readmeRun struct {
	t          *testing.T
	served     map[string]bool
	installs   []*install
	namespaces []string
	secrets    []createdSecret
	forwarded  []int
	built      []string
}

type createdSecret struct {
	ns, name string
	keys     []string
	cmd      string
}

// helmFlagsDropped are install/upgrade flags with no meaning for a render
// of a fresh release.
var helmFlagsDropped = map[string]bool{"--reuse-values": true, "--reset-values": true, "--install": true}

func (rr *readmeRun) command(line string) error {
	w, err := shellWords(line)
	if err != nil {
		return err
	}
	background := false
	if n := len(w); n > 0 && w[n-1] == "&" {
		w, background = w[:n-1], true
	}
	if len(w) == 0 {
		return fmt.Errorf("empty command")
	}
	switch w[0] {
	case "kubectl":
		return rr.kubectl(w[1:], background)
	case "helm":
		if len(w) < 4 || (w[1] != "install" && !(w[1] == "upgrade" && slices.Contains(w, "--install"))) {
			return fmt.Errorf("only `helm install NAME CHART ...` and `helm upgrade --install NAME CHART ...` are translated")
		}
		var args []string
		for _, a := range w[2:] {
			if !helmFlagsDropped[a] {
				args = append(args, a)
			}
		}
		if len(args) < 2 || strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[1], "-") {
			return fmt.Errorf("want NAME CHART right after helm %s", w[1])
		}
		out, err := run(helmBin(rr.t), append([]string{"template"}, args...)...)
		if err != nil {
			return err
		}
		return rr.install("helm template "+strings.Join(args, " "), out)
	case "curl":
		var url string
		for _, a := range w[1:] {
			if !strings.HasPrefix(a, "-") {
				url = a
			}
		}
		m := regexp.MustCompile(`^(?:http://)?localhost:(\d+)(/\S*)$`).FindStringSubmatch(url)
		if m == nil {
			return fmt.Errorf("curl %q: only localhost:PORT/PATH through a port-forward is checked", url)
		}
		port, _ := strconv.Atoi(m[1])
		if !slices.Contains(rr.forwarded, port) {
			return fmt.Errorf("curl to port %d, which no port-forward before it opens", port)
		}
		if !rr.served[m[2]] {
			return fmt.Errorf("curl %s: bot serve does not serve that path", m[2])
		}
		return nil
	case "docker":
		switch {
		case len(w) == 5 && w[1] == "build" && w[2] == "-t":
			if _, err := os.Stat(filepath.Join(repoRoot, w[4], "Dockerfile")); err != nil {
				return fmt.Errorf("docker build context %s has no Dockerfile", w[4])
			}
			rr.built = append(rr.built, w[3])
			return nil
		case len(w) == 3 && w[1] == "push":
			if !slices.Contains(rr.built, w[2]) {
				return fmt.Errorf("docker push %s: not built by a command before it", w[2])
			}
			return nil
		}
		return fmt.Errorf("only `docker build -t IMAGE DIR` and `docker push IMAGE` are translated")
	}
	return fmt.Errorf("%s is not translated", w[0])
}

func (rr *readmeRun) kubectl(args []string, background bool) error {
	ns, context, rest := kubectlArgs(args)
	if len(rest) == 0 {
		return fmt.Errorf("kubectl without a verb")
	}
	switch {
	case len(rest) == 3 && rest[0] == "apply" && rest[1] == "-k":
		out, err := run(kustomizeBin(rr.t), "build", rest[2])
		if err != nil {
			return err
		}
		if context != "" {
			// Another cluster: only the remote reader goes there.
			if filepath.Base(rest[2]) != "remote-reader" {
				return fmt.Errorf("kubectl --context %s apply -k %s: only the remote-reader belongs in another cluster", context, rest[2])
			}
			_, err := decodeStrict(out)
			return err
		}
		return rr.install("kustomize build "+rest[2], out)
	case len(rest) == 3 && rest[0] == "create" && rest[1] == "namespace":
		rr.namespaces = append(rr.namespaces, rest[2])
		return nil
	case len(rest) >= 4 && rest[0] == "create" && rest[1] == "secret" && rest[2] == "generic":
		if ns == "" {
			return fmt.Errorf("create secret without -n: it would land in the current namespace")
		}
		s := createdSecret{ns: ns, name: rest[3], cmd: strings.Join(args, " ")}
		for _, a := range rest[4:] {
			kv, ok := strings.CutPrefix(a, "--from-literal=")
			if !ok {
				kv, ok = strings.CutPrefix(a, "--from-file=")
			}
			if !ok {
				return fmt.Errorf("create secret: %q is not translated (use --from-literal=KEY=VALUE or --from-file=KEY=PATH)", a)
			}
			k, v, _ := strings.Cut(kv, "=")
			if tokenLike.MatchString(v) {
				return fmt.Errorf("create secret: %s looks like a real token; show a placeholder", k)
			}
			s.keys = append(s.keys, k)
		}
		rr.secrets = append(rr.secrets, s)
		return nil
	case len(rest) == 2 && rest[0] == "logs" && strings.HasPrefix(rest[1], "deploy/"):
		name := strings.TrimPrefix(rest[1], "deploy/")
		for _, in := range rr.installs {
			for _, d := range in.deploys {
				if d.Name == name && d.Namespace == ns {
					return nil
				}
			}
		}
		return fmt.Errorf("logs: no Deployment %s/%s is installed by the commands before it", ns, name)
	case len(rest) == 3 && rest[0] == "port-forward" && strings.HasPrefix(rest[1], "svc/"):
		if !background {
			return fmt.Errorf("port-forward blocks: end it with & so the next command runs")
		}
		name := strings.TrimPrefix(rest[1], "svc/")
		port, err := strconv.Atoi(rest[2])
		if err != nil {
			return fmt.Errorf("port-forward: port %q", rest[2])
		}
		for _, in := range rr.installs {
			for _, s := range in.services {
				for _, p := range s.Spec.Ports {
					if s.Name == name && s.Namespace == ns && int(p.Port) == port {
						rr.forwarded = append(rr.forwarded, port)
						return nil
					}
				}
			}
		}
		return fmt.Errorf("port-forward: no Service %s/%s with port %d is installed", ns, name, port)
	}
	return fmt.Errorf("kubectl %s is not translated", strings.Join(rest, " "))
}

func (rr *readmeRun) install(name string, out []byte) error {
	objs, err := decodeStrict(out)
	if err != nil {
		return err
	}
	in := newInstall(name, objs)
	r := validate(in, rr.served)
	if len(r.problems) > 0 {
		return fmt.Errorf("%s:\n  %s", name, strings.Join(r.problems, "\n  "))
	}
	rr.installs = append(rr.installs, in)
	return nil
}

// secretsUsed checks that each Secret the README creates is one the
// installs read, in their namespace, with keys they read.
func (rr *readmeRun) secretsUsed() []string {
	var problems []string
	for _, s := range rr.secrets {
		used := false
		for _, in := range rr.installs {
			d := in.deploys[0]
			if d.Namespace != s.ns {
				continue
			}
			pod := d.Spec.Template.Spec
			read := map[string]bool{}
			for _, e := range pod.Containers[0].Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == s.name {
					read[e.ValueFrom.SecretKeyRef.Key] = true
				}
			}
			for _, v := range pod.Volumes {
				if v.Secret != nil && v.Secret.SecretName == s.name {
					read["*"] = true
				}
			}
			if len(read) == 0 {
				continue
			}
			used = true
			for _, k := range s.keys {
				if !read[k] && !read["*"] {
					problems = append(problems, fmt.Sprintf("kubectl %s: key %s is read by no pod of %s", s.cmd, k, in.name))
				}
			}
		}
		if !used {
			problems = append(problems, fmt.Sprintf("kubectl %s: no installed pod in namespace %s reads Secret %s", s.cmd, s.ns, s.name))
		}
	}
	return problems
}

func TestREADMEDeploy(t *testing.T) {
	helmBin(t)
	kustomizeBin(t)
	cmds := readmeCommands(t, "## Deploy")
	if len(cmds) < 8 {
		t.Fatalf("README Deploy has %d commands; the section is missing or its blocks are not ```sh", len(cmds))
	}
	rr := &readmeRun{t: t, served: servedPaths(t)}
	kinds := map[string]bool{}
	for _, c := range cmds {
		if err := rr.command(c); err != nil {
			t.Errorf("README Deploy: %q: %v", c, err)
		}
		w, _ := shellWords(c)
		if len(w) > 1 {
			kinds[w[0]+" "+w[1]] = true
		}
	}
	for _, p := range rr.secretsUsed() {
		t.Errorf("README Deploy: %s", p)
	}
	// The section must show both ways in, the checks, and HA.
	var names []string
	for _, in := range rr.installs {
		names = append(names, in.name)
	}
	for _, want := range []string{"kustomize build deploy/kustomize/base", "kustomize build deploy/kustomize/overlays/ha",
		"kustomize build deploy/kustomize/overlays/namespaced", "helm template oombot deploy/helm/oombot"} {
		found := false
		for _, n := range names {
			if strings.HasPrefix(n, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("README Deploy installs %q; none is %s", names, want)
		}
	}
	if len(rr.forwarded) == 0 || len(rr.secrets) == 0 {
		t.Error("README Deploy must show creating the Secret and checking /readyz")
	}
	t.Logf("%d commands checked, installs: %q", len(cmds), names)
}

// The translation must refuse what it cannot check, and catch a command
// that does not match the manifests.
func TestREADMETranslationRefuses(t *testing.T) {
	rr := &readmeRun{t: t, served: map[string]bool{"/readyz": true}}
	for _, tc := range []struct{ cmd, want string }{
		{"kubectl -n oombot exec deploy/oombot -- sh", "is not translated"},
		{"kubectl create secret generic x --from-literal=A=b", "without -n"},
		{"kubectl -n oombot create secret generic x --from-env-file=.env", "is not translated"},
		{"kubectl -n oombot create secret generic x --from-literal=SLACK_BOT_TOKEN=xoxb-1234567890-abcdefgh", "real token"},
		{"kubectl -n oombot logs deploy/oombot", "no Deployment oombot/oombot"},
		{"kubectl -n oombot port-forward svc/oombot 9090", "end it with &"},
		{"curl -s localhost:9090/readyz", "no port-forward"},
		{"helm repo add x https://example.com", "only `helm install"},
		{"docker push a:b", "not built"},
		{"kubectl apply -f deploy/secret.example.yaml", "is not translated"},
		{"echo $SLACK_BOT_TOKEN", "shell syntax"},
		{"make deploy", "not translated"},
	} {
		if err := rr.command(tc.cmd); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.cmd, err, tc.want)
		}
	}
	rr.secrets = []createdSecret{{ns: "oombot", name: "oombot-secrets", keys: []string{"SLACK_BOT_TOKEN"}, cmd: "create secret"}}
	if p := rr.secretsUsed(); len(p) != 1 || !strings.Contains(p[0], "no installed pod in namespace oombot reads Secret oombot-secrets") {
		t.Errorf("secretsUsed = %q", p)
	}
}
