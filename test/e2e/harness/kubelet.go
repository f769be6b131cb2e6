package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// KubeletRequest is one containerLogs request the fake kubelet served.
type KubeletRequest struct {
	Namespace, Pod, Container string
	Previous                  bool
	// TailLines and LimitBytes are -1 when not sent.
	TailLines, LimitBytes int64
	// ClientCN is the common name of the client certificate (the API
	// server's kubelet client).
	ClientCN string
	// Status is the HTTP status answered (0 while hanging).
	Status int
}

// FakeKubelet is the one part of a node the API server talks to for logs:
// an HTTPS server, with a serving certificate from the cluster CA, that
// requires the API server's client certificate and answers
// GET /containerLogs/{namespace}/{pod}/{container} from recorded logs with
// the kubelet's semantics for previous, tailLines and limitBytes. Any
// other path is 404.
type FakeKubelet struct {
	srv  *httptest.Server
	port int32

	mu       sync.Mutex
	logs     map[logKey][]byte
	requests []KubeletRequest
	// hang holds, per namespace ("" for all), a channel closed to
	// release the requests hanging there.
	hang   map[string]chan struct{}
	closed chan struct{}
	once   sync.Once
}

type logKey struct {
	ns, pod, container string
	previous           bool
}

// StartFakeKubelet starts the server with a serving certificate signed by
// ca, trusting client certificates signed by ca.
func StartFakeKubelet(ca *CA) (*FakeKubelet, error) {
	kp, err := ca.Serving("fake-kubelet")
	if err != nil {
		return nil, err
	}
	cert, err := kp.TLS()
	if err != nil {
		return nil, fmt.Errorf("fake kubelet cert: %w", err)
	}
	k := &FakeKubelet{logs: map[logKey][]byte{}, hang: map[string]chan struct{}{}, closed: make(chan struct{})}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(k.serve))
	k.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		MinVersion:   tls.VersionTLS12,
	}
	k.srv.StartTLS()
	_, port, err := net.SplitHostPort(k.srv.Listener.Addr().String())
	if err != nil {
		k.srv.Close()
		return nil, fmt.Errorf("fake kubelet address: %w", err)
	}
	p, _ := strconv.Atoi(port)
	k.port = int32(p)
	return k, nil
}

// Port is the HTTPS port Nodes advertise as their kubelet endpoint.
func (k *FakeKubelet) Port() int32 { return k.port }

// Close releases hanging requests and stops the server.
func (k *FakeKubelet) Close() {
	k.once.Do(func() { close(k.closed) })
	k.srv.Close()
}

// SetLog serves data as a container's log (previous: the last terminated
// incarnation's).
func (k *FakeKubelet) SetLog(ns, pod, container string, previous bool, data []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.logs[logKey{ns, pod, container, previous}] = data
}

// Hang makes later log requests for pods in namespace ns ("" for every
// namespace) block until Unhang, the request's cancellation or Close: a
// kubelet that accepts the connection and never answers. Tests sharing
// the kubelet hang only their own namespace.
func (k *FakeKubelet) Hang(ns string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hang[ns] == nil {
		k.hang[ns] = make(chan struct{})
	}
}

// Unhang releases the requests hanging in ns and answers later ones.
func (k *FakeKubelet) Unhang(ns string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ch := k.hang[ns]; ch != nil {
		close(ch)
		delete(k.hang, ns)
	}
}

// Requests returns the log requests received so far.
func (k *FakeKubelet) Requests() []KubeletRequest {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]KubeletRequest(nil), k.requests...)
}

func (k *FakeKubelet) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	req := KubeletRequest{Namespace: parts[0], Pod: parts[1], Container: parts[2], Previous: q.Get("previous") == "true",
		TailLines: -1, LimitBytes: -1}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.ClientCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	var badParam error
	for name, dst := range map[string]*int64{"tailLines": &req.TailLines, "limitBytes": &req.LimitBytes} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				badParam = fmt.Errorf("%s: %w", name, err)
			}
			*dst = n
		}
	}
	k.mu.Lock()
	idx := len(k.requests)
	k.requests = append(k.requests, req)
	hang := k.hang[req.Namespace]
	if hang == nil {
		hang = k.hang[""]
	}
	data, ok := k.logs[logKey{req.Namespace, req.Pod, req.Container, req.Previous}]
	k.mu.Unlock()
	status := func(code int) {
		k.mu.Lock()
		k.requests[idx].Status = code
		k.mu.Unlock()
	}
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		case <-k.closed:
			return
		}
	}
	switch {
	case badParam != nil:
		status(http.StatusBadRequest)
		http.Error(w, badParam.Error(), http.StatusBadRequest)
		return
	case !ok && req.Previous:
		// The kubelet's words when there is no terminated incarnation.
		status(http.StatusBadRequest)
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", req.Container, req.Pod), http.StatusBadRequest)
		return
	case !ok:
		status(http.StatusNotFound)
		http.Error(w, fmt.Sprintf("container %q in pod %q not found", req.Container, req.Pod), http.StatusNotFound)
		return
	}
	out := SliceLog(data, req.TailLines, req.LimitBytes)
	status(http.StatusOK)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(out)
}

// SliceLog applies the kubelet's log options to data: tailLines (when ≥ 0)
// keeps the last N lines, then limitBytes (when > 0) keeps the first N
// bytes of what remains, cutting mid-line if it must, as the kubelet does.
func SliceLog(data []byte, tailLines, limitBytes int64) []byte {
	if tailLines >= 0 {
		data = lastLines(data, tailLines)
	}
	if limitBytes > 0 && int64(len(data)) > limitBytes {
		data = data[:limitBytes]
	}
	return data
}

// lastLines returns the last n lines of data (a final line without a
// newline counts as a line).
func lastLines(data []byte, n int64) []byte {
	if n == 0 {
		return nil
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	i := end
	for seen := int64(0); i > 0; i-- {
		if data[i-1] == '\n' {
			seen++
			if seen == n {
				break
			}
		}
	}
	return data[i:]
}

// RegisterNode creates Node name (if missing) and sets its status so the
// API server reaches its kubelet at 127.0.0.1 on the fake kubelet's port.
// Status is written through the status subresource, as a kubelet does;
// tests loading incidents on the same node at once retry on conflict.
func (k *FakeKubelet) RegisterNode(ctx context.Context, client kubernetes.Interface, name string) error {
	_, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if node.Status.DaemonEndpoints.KubeletEndpoint.Port == k.port {
			return nil // another incident on this node registered it
		}
		now := metav1.Now()
		node.Status = corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: k.port}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "fake kubelet (oombot e2e) is serving logs", LastHeartbeatTime: now, LastTransitionTime: now}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "amd64"},
		}
		_, err = client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("node %s status: %w", name, err)
	}
	return nil
}
