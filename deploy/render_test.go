package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

// repoRoot is the repository root, as an absolute path (commands run there,
// as the README's commands do).
var repoRoot = func() string {
	p, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return p
}()

// configPath is where every manifest mounts the config and where the
// image's CMD reads it.
const configPath = "/etc/oombot/config.yaml"

// tool finds a rendering binary from env (set by .ci/run from
// scripts/tool.sh). Missing, it skips the test, or fails it with CI=true,
// like internal/realserver.Require.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	p := os.Getenv(env)
	if p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not set or missing (%q): run `export %s=$(scripts/tool.sh %s)` to build the pinned %s (cached) and render the manifests", env, p, env, name, name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing renderer is a failure, not a skip)")
	}
	t.Skip(msg)
	return ""
}

func helmBin(t *testing.T) string      { return tool(t, "OOMBOT_HELM_BIN", "helm") }
func kustomizeBin(t *testing.T) string { return tool(t, "OOMBOT_KUSTOMIZE_BIN", "kustomize") }

// run executes bin args in the repository root and returns stdout; stderr
// is returned in the error.
func run(bin string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// object is one decoded manifest with its raw YAML (for text checks).
type object struct {
	obj runtime.Object
	raw []byte
}

// decodeStrict decodes every document of a multi-document YAML stream into
// typed objects of client-go's scheme. Strict: an unknown or duplicated
// field, or a kind the scheme doesn't know, is an error.
func decodeStrict(data []byte) ([]object, error) {
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	dec := codecs.UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d (%s): %w\n%s", i, gvk, err, doc)
		}
		out = append(out, object{obj: obj, raw: doc})
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func TestDecodeStrictRejectsUnknownFields(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\nautomountToken: true\n", "unknown field"},
		{"duplicate field", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  name: b\n", "already set"},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: a\n", "no kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeStrict([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	objs, err := decodeStrict([]byte("# a comment only\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"))
	if err != nil || len(objs) != 1 {
		t.Errorf("got %d objects, %v; want the one ServiceAccount", len(objs), err)
	}
}
