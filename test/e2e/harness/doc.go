// Package harness runs a real Kubernetes control plane for oombot's
// end-to-end tests: etcd (Debian's etcd-server) and a kube-apiserver built
// from k8s.io/kubernetes, both on loopback ports, with RBAC authorization,
// token-file admin authentication and the ServiceAccount TokenRequest API,
// plus a fake kubelet that serves recorded container logs over HTTPS, so
// the bot's GetLogs goes through the real API server's proxy path.
//
// Nothing here replaces what the API server does: field selectors, RBAC,
// admission, status subresources and pod-log proxying are the real ones.
// What is missing is everything a controller-manager, scheduler or kubelet
// would add, so LoadIncident creates the objects a recorded incident
// describes itself (Deployment, ReplicaSets, Pod, status through the status
// subresource, Events) and RegisterNode points a Node at the FakeKubelet.
//
// Binaries: the kube-apiserver comes from OOMBOT_KUBE_APISERVER_BIN
// (scripts/tool.sh kube-apiserver builds and caches it), etcd from PATH or
// OOMBOT_ETCD_BIN, kustomize (to render deploy/) from OOMBOT_KUSTOMIZE_BIN
// (scripts/tool.sh kustomize). Missing binaries make tests skip locally and
// fail in CI (CI=true), like internal/realserver.
//
// Every process listens on 127.0.0.1 on a free port, keeps its state in a
// temporary directory and is stopped and waited for by Close (or the
// test's Cleanup); its output is kept for the test log on failure.
package harness
