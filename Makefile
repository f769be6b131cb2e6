# Shortcuts for what CONTRIBUTING.md describes; CI runs .ci/run.

.PHONY: test e2e

# The unit and integration tests (what README.md gives).
test:
	go test ./...

# End-to-end tests on a real control plane (test/e2e, its own module):
# kube-apiserver and kustomize are built once from tools/ and cached by
# scripts/tool.sh; etcd, Prometheus and Alertmanager come from Debian.
# Pass go test flags with E2EFLAGS, e.g. make e2e E2EFLAGS='-run RBAC -v'.
e2e:
	@apiserver=$${OOMBOT_KUBE_APISERVER_BIN:-$$(scripts/tool.sh kube-apiserver)} && \
	kustomize=$${OOMBOT_KUSTOMIZE_BIN:-$$(scripts/tool.sh kustomize)} && \
	cd test/e2e && \
	OOMBOT_KUBE_APISERVER_BIN=$$apiserver OOMBOT_KUSTOMIZE_BIN=$$kustomize \
	go test -count=1 $(E2EFLAGS) ./...
