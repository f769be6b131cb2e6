package bundle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// Clientset returns a Kubernetes client that serves the bundle: its pod,
// events and workload objects from client-go's fake object tracker, and pod
// logs from logs/ (honouring Previous, LimitBytes and TailLines as the
// kubelet does). The live Kubernetes source runs unchanged against it.
//
// Like any fake clientset it ignores field selectors; the Kubernetes source
// filters events itself, which live servers need too (an old pod with the
// same name leaves events behind).
func (b *Bundle) Clientset() kubernetes.Interface {
	objs := []runtime.Object{b.Pod.DeepCopy()}
	for i := range b.Events {
		objs = append(objs, b.Events[i].DeepCopy())
	}
	for _, o := range b.Workload {
		objs = append(objs, o.DeepCopyObject())
	}
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		ga, ok := a.(k8stesting.GenericAction)
		if !ok {
			return false, nil, nil
		}
		opts, _ := ga.GetValue().(*corev1.PodLogOptions)
		if opts == nil {
			opts = &corev1.PodLogOptions{}
		}
		data, err := b.podLogs(opts)
		if err != nil {
			return true, nil, err
		}
		return true, &runtime.Unknown{Raw: data}, nil
	})
	return cs
}

// podLogs reads a container's log as the kubelet would return it. The fake
// clientset hands logs over as one byte slice, so LimitBytes (always set by
// the Kubernetes source) bounds what is held in memory.
func (b *Bundle) podLogs(opts *corev1.PodLogOptions) ([]byte, error) {
	c := opts.Container
	if c == "" && len(b.Pod.Spec.Containers) > 0 {
		c = b.Pod.Spec.Containers[0].Name
	}
	key := c
	if opts.Previous {
		key += ".previous"
	}
	p, ok := b.Logs[key]
	if !ok {
		if opts.Previous {
			return nil, fmt.Errorf("previous terminated container %q in pod %q not found", c, b.Pod.Name)
		}
		return []byte{}, nil
	}
	f, err := b.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if opts.LimitBytes != nil && *opts.LimitBytes > 0 {
		r = io.LimitReader(f, *opts.LimitBytes)
	}
	if opts.TailLines == nil {
		return io.ReadAll(r)
	}
	// Keep only the last N lines in a ring, never the whole file.
	n := int(*opts.TailLines)
	if n <= 0 {
		return []byte{}, nil
	}
	ring := make([][]byte, 0, n)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		if len(ring) == n {
			copy(ring, ring[1:])
			ring = ring[:n-1]
		}
		ring = append(ring, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, l := range ring {
		out.Write(l)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// PrometheusTransport answers the Prometheus HTTP API's /api/v1/query_range
// from metrics/<signal>.json, so the live Prometheus source (client_golang's
// API client) runs unchanged against a bundle. The query must be the bare
// canonical signal name: that is the query set a bundle replay is given.
// Samples outside [start, end] are dropped, as a real server would.
func (b *Bundle) PrometheusTransport() http.RoundTripper {
	return replay{b: b}
}

type replay struct{ b *Bundle }

func (r replay) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if !strings.HasSuffix(req.URL.Path, "/api/v1/query_range") {
		return apiError(req, http.StatusNotFound, "bad_data", "bundle replay serves only /api/v1/query_range"), nil
	}
	form := req.URL.Query()
	if req.Method == http.MethodPost && req.Body != nil {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if pf, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range pf {
				form[k] = v
			}
		}
	}
	q := strings.TrimSpace(form.Get("query"))
	start, err1 := parsePromTime(form.Get("start"))
	end, err2 := parsePromTime(form.Get("end"))
	if err1 != nil || err2 != nil {
		return apiError(req, http.StatusBadRequest, "bad_data", "invalid start or end"), nil
	}
	p, ok := r.b.Metrics[q]
	if !ok {
		return jsonResponse(req, http.StatusOK, []byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`)), nil
	}
	data, err := r.b.ReadFile(p)
	if err != nil {
		return apiError(req, http.StatusInternalServerError, "internal", fmt.Sprintf("%s: %v", p, err)), nil
	}
	out, err := filterMatrix(data, start, end)
	if err != nil {
		// A malformed recording is the bundle's fault: answer as a server
		// answering garbage would, with the file named.
		return apiError(req, http.StatusUnprocessableEntity, "execution", fmt.Sprintf("%s: %v", p, err)), nil
	}
	return jsonResponse(req, http.StatusOK, out), nil
}

type promMatrixResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func filterMatrix(data []byte, start, end time.Time) ([]byte, error) {
	var m promMatrixResponse
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, jsonErrorWithLine(data, err)
	}
	if m.Status != "success" {
		return nil, fmt.Errorf("status %q, want success", m.Status)
	}
	if m.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("resultType %q, want matrix", m.Data.ResultType)
	}
	for i := range m.Data.Result {
		vals := m.Data.Result[i].Values[:0]
		for _, v := range m.Data.Result[i].Values {
			ts, ok := v[0].(float64)
			if !ok {
				return nil, fmt.Errorf("series %d: timestamp %v is not a number", i, v[0])
			}
			t := time.Unix(0, int64(ts*1e9))
			if (!start.IsZero() && t.Before(start)) || (!end.IsZero() && t.After(end)) {
				continue
			}
			vals = append(vals, v)
		}
		m.Data.Result[i].Values = vals
	}
	return json.Marshal(m)
}

// jsonErrorWithLine turns a JSON syntax error offset into a line number.
func jsonErrorWithLine(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return fmt.Errorf("line %d: %w", line, err)
}

func parsePromTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func jsonResponse(req *http.Request, code int, body []byte) *http.Response {
	return &http.Response{
		StatusCode:    code,
		Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": []string{"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

func apiError(req *http.Request, code int, typ, msg string) *http.Response {
	body, _ := json.Marshal(map[string]string{"status": "error", "errorType": typ, "error": msg})
	return jsonResponse(req, code, body)
}
