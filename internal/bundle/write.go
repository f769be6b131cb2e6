package bundle

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// Writer records a bundle into a directory, file by file, so a collector can
// stream logs straight to disk.
type Writer struct {
	Dir string
}

// NewWriter creates dir (which must not hold a bundle already).
func NewWriter(dir string) (*Writer, error) {
	if _, err := os.Stat(filepath.Join(dir, "bundle.yaml")); err == nil {
		return nil, fmt.Errorf("%s already holds a bundle; choose an empty directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create bundle dir: %w", err)
	}
	return &Writer{Dir: dir}, nil
}

func (w *Writer) create(rel string) (*os.File, error) {
	p := filepath.Join(w.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return os.Create(p)
}

// WriteFile writes a whole file.
func (w *Writer) WriteFile(rel string, data []byte) error {
	f, err := w.create(rel)
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", rel, err)
	}
	return f.Close()
}

// WriteStream copies r into rel and returns the bytes written.
func (w *Writer) WriteStream(rel string, r io.Reader) (int64, error) {
	f, err := w.create(rel)
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", rel, err)
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("write %s: %w", rel, err)
	}
	return n, nil
}

// WriteManifest writes bundle.yaml.
func (w *Writer) WriteManifest(m Manifest) error {
	m.APIVersion, m.Kind = APIVersion, Kind
	data, err := yaml.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode bundle.yaml: %w", err)
	}
	return w.WriteFile("bundle.yaml", data)
}

// WriteObject writes one object as `kubectl get -o yaml` prints it:
// apiVersion/kind set, managedFields dropped.
func (w *Writer) WriteObject(rel string, obj runtime.Object) error {
	data, err := objectYAML(obj)
	if err != nil {
		return fmt.Errorf("encode %s: %w", rel, err)
	}
	return w.WriteFile(rel, data)
}

// WriteList writes objects as a v1 List, as `kubectl get a,b -o yaml` does.
func (w *Writer) WriteList(rel string, objs []runtime.Object) error {
	items := make([]any, 0, len(objs))
	for _, o := range objs {
		m, err := objectMap(o)
		if err != nil {
			return fmt.Errorf("encode %s: %w", rel, err)
		}
		items = append(items, m)
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]any{"resourceVersion": ""}}
	data, err := sigsyaml.Marshal(list)
	if err != nil {
		return fmt.Errorf("encode %s: %w", rel, err)
	}
	return w.WriteFile(rel, data)
}

func objectYAML(obj runtime.Object) ([]byte, error) {
	m, err := objectMap(obj)
	if err != nil {
		return nil, err
	}
	return sigsyaml.Marshal(m)
}

// objectMap renders a typed object as kubectl shows it: apiVersion/kind
// filled in (typed client-go objects leave them empty), managedFields dropped.
func objectMap(obj runtime.Object) (map[string]any, error) {
	obj = obj.DeepCopyObject()
	if gvks, _, err := scheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	js, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, err
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
	}
	return m, nil
}
