{{/* The release's object names: the release name when it contains the chart
name (`helm install oombot ...` gives "oombot", the same names as the
kustomize base), else release-chart. */}}
{{- define "oombot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "oombot.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "oombot.labels" -}}
{{ include "oombot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "oombot.serviceAccountName" -}}
{{- default (include "oombot.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The one port the bot listens on: metricsListen in socket mode,
slack.listen in HTTP mode (serve then serves /metrics, the probes and the
webhooks beside /slack/). */}}
{{- define "oombot.port" -}}
{{- .Values.port -}}
{{- end -}}

{{/* Namespaces that get the read-only Role when rbac.namespaced is set:
rbac.namespaces, else watch.namespaces, else the release namespace. */}}
{{- define "oombot.rbacNamespaces" -}}
{{- $ns := .Values.rbac.namespaces | default .Values.watch.namespaces -}}
{{- if not $ns -}}{{- $ns = list .Release.Namespace -}}{{- end -}}
{{- toJson $ns -}}
{{- end -}}

{{/* Install-time checks: a clear message instead of a crash-looping pod. */}}
{{- define "oombot.validate" -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- if ne .Values.store.driver "postgres" -}}
{{- fail (printf "replicaCount=%d needs store.driver=postgres: replicas must share dedup keys, and an SQLite file (store.driver=%s) is per replica. Set store.driver=postgres with OOMBOT_POSTGRES_DSN in the Secret %s, and leaderElection.enabled=true." (int .Values.replicaCount) .Values.store.driver .Values.slack.existingSecret) -}}
{{- end -}}
{{- if not .Values.leaderElection.enabled -}}
{{- fail (printf "replicaCount=%d needs leaderElection.enabled=true: only the Lease holder may hold the Slack Socket Mode connection and run the watcher." (int .Values.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.leaderElection.enabled (ne .Values.store.driver "postgres") -}}
{{- fail "leaderElection.enabled=true needs store.driver=postgres (replicas share dedup keys)." -}}
{{- end -}}
{{- if and .Values.store.persistence.enabled (ne .Values.store.driver "sqlite") -}}
{{- fail "store.persistence is for the SQLite file; with store.driver=postgres the data lives in PostgreSQL: set store.persistence.enabled=false." -}}
{{- end -}}
{{- if and .Values.rbac.namespaced .Values.watch.enabled (not .Values.watch.namespaces) -}}
{{- fail "rbac.namespaced=true with watch.enabled=true needs watch.namespaces: the Role grants only those namespaces, so the watcher must not list all." -}}
{{- end -}}
{{- if not .Values.channels -}}
{{- fail "channels: at least one channel is needed (--set channels[0].id=C0123ABCDEF,channels[0].namespaces={shop})." -}}
{{- end -}}
{{- end -}}
