package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// APIServerOptions configure StartAPIServer.
type APIServerOptions struct {
	// Bin is the kube-apiserver binary.
	Bin string
	// EtcdURL is etcd's client URL.
	EtcdURL string
	// CA signs the serving and kubelet-client certificates; kubelets'
	// serving certificates must come from it too.
	CA *CA
	// Dir holds certificates, keys, the token file and the audit log.
	Dir string
}

// APIServer is a running kube-apiserver.
type APIServer struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// CA is the authority that signed the serving certificate.
	CA *CA
	// AdminToken authenticates as "e2e-admin" in system:masters.
	AdminToken string
	// AuditLog is the JSON-lines audit log (see Audit).
	AuditLog string
	proc     *Process
}

// auditPolicy records every request made by a ServiceAccount (the bot),
// at Metadata level: who, what, the URI with its query (field selectors)
// and the authorization decision. Requests by the admin and by the server
// itself are left out.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`

// StartAPIServer starts kube-apiserver against etcd and waits for /readyz.
//
// Flags, and why:
//   - --authorization-mode=RBAC only: the bot's ServiceAccount gets exactly
//     what deploy/ binds, nothing from a Node or AlwaysAllow authorizer.
//   - --token-auth-file: a static admin token in system:masters for the
//     harness itself.
//   - --service-account-issuer/-signing-key-file/-key-file: keys generated
//     here, so the TokenRequest API mints the bot's token.
//   - --endpoint-reconciler-type=none: with no kubelets or controllers,
//     the "kubernetes" Service's endpoints are nobody's concern.
//   - --kubelet-*: the server verifies kubelets' serving certificates with
//     the CA and presents its own client certificate, the way a kubeadm
//     cluster is set up; node addresses are InternalIPs (127.0.0.1).
//   - --audit-*: the bot's every request, for tests that assert how it
//     asked (field selectors) and what RBAC decided.
func StartAPIServer(ctx context.Context, o APIServerOptions) (*APIServer, error) {
	serving, err := o.CA.Serving("kube-apiserver", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
	if err != nil {
		return nil, err
	}
	servingCert, servingKey, err := serving.Write(o.Dir, "apiserver")
	if err != nil {
		return nil, err
	}
	kc, err := o.CA.Client("kube-apiserver-kubelet-client", "kubeadm:cluster-admins")
	if err != nil {
		return nil, err
	}
	kcCert, kcKey, err := kc.Write(o.Dir, "apiserver-kubelet-client")
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(o.Dir, "ca.crt")
	saPriv, saPub, err := signingKey()
	if err != nil {
		return nil, err
	}
	saKeyFile, saPubFile := filepath.Join(o.Dir, "sa.key"), filepath.Join(o.Dir, "sa.pub")
	token := randomToken()
	tokens := filepath.Join(o.Dir, "tokens.csv")
	policy := filepath.Join(o.Dir, "audit-policy.yaml")
	audit := filepath.Join(o.Dir, "audit.log")
	for path, data := range map[string][]byte{
		caFile:    o.CA.CertPEM,
		saKeyFile: saPriv,
		saPubFile: saPub,
		tokens:    []byte(token + `,e2e-admin,e2e-admin,"system:masters"` + "\n"),
		policy:    []byte(auditPolicy),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: o.CA.Pool()}}}
	defer client.CloseIdleConnections()
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		args := []string{
			"--etcd-servers=" + o.EtcdURL,
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + port,
			"--cert-dir=" + o.Dir,
			"--tls-cert-file=" + servingCert,
			"--tls-private-key-file=" + servingKey,
			"--token-auth-file=" + tokens,
			"--anonymous-auth=false",
			"--authorization-mode=RBAC",
			"--endpoint-reconciler-type=none",
			"--service-cluster-ip-range=10.96.0.0/16",
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-signing-key-file=" + saKeyFile,
			"--service-account-key-file=" + saPubFile,
			"--kubelet-certificate-authority=" + caFile,
			"--kubelet-client-certificate=" + kcCert,
			"--kubelet-client-key=" + kcKey,
			"--kubelet-preferred-address-types=InternalIP",
			"--audit-policy-file=" + policy,
			"--audit-log-path=" + audit,
			"--audit-log-format=json",
			"--audit-log-mode=blocking",
			"--profiling=false",
			"--enable-priority-and-fairness=false",
			"--v=1",
		}
		p, err := StartProcess("kube-apiserver", o.Bin, args, []string{"PATH=" + os.Getenv("PATH")})
		if err != nil {
			return nil, err
		}
		s := &APIServer{URL: "https://" + addr, CA: o.CA, AdminToken: token, AuditLog: audit, proc: p}
		rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		err = poll(rctx, p, 200*time.Millisecond, getOK(client, s.URL+"/readyz", http.Header{"Authorization": {"Bearer " + token}}))
		cancel()
		if err == nil {
			return s, nil
		}
		p.Stop(5 * time.Second)
		if !errors.Is(err, errAddrInUse) {
			return nil, fmt.Errorf("%w\nkube-apiserver output:\n%s", err, tail(p.Output(), 8000))
		}
	}
	return nil, errors.New("kube-apiserver: no free port after 3 attempts")
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Output is what the server printed.
func (s *APIServer) Output() string { return s.proc.Output() }

// Close stops the server and waits for it.
func (s *APIServer) Close() { s.proc.Stop(10 * time.Second) }

// RESTConfig is a client config for token (the admin's when empty).
func (s *APIServer) RESTConfig(token string) *rest.Config {
	if token == "" {
		token = s.AdminToken
	}
	return &rest.Config{
		Host:            s.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.CA.CertPEM},
		QPS:             100,
		Burst:           200,
		Timeout:         30 * time.Second,
	}
}

// Admin is a clientset authenticated as the admin.
func (s *APIServer) Admin() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(s.RESTConfig(""))
}

// AuditEvent is one audit log record (the fields tests use).
type AuditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Annotations map[string]string `json:"annotations"`
	Stage       string            `json:"stage"`
}

// Decision is the authorizer's verdict ("allow", "forbid").
func (e AuditEvent) Decision() string { return e.Annotations["authorization.k8s.io/decision"] }

// Audit returns the completed requests of username ("" for every
// ServiceAccount) recorded so far, in order.
func (s *APIServer) Audit(username string) ([]AuditEvent, error) {
	f, err := os.Open(s.AuditLog)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log %s: %w", s.AuditLog, err)
		}
		if e.Stage != "ResponseComplete" && e.Stage != "Panic" {
			continue
		}
		if username == "" || e.User.Username == username {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", s.AuditLog, err)
	}
	return out, nil
}
