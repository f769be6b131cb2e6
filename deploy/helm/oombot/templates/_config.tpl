{{/* oombot.config renders the bot's config.yaml from the values (the same
schema as deploy/config.example.yaml, decoded strictly by the bot). */}}
{{- define "oombot.config" -}}
{{- $v := .Values -}}
{{- $slack := dict "mode" $v.slack.mode -}}
{{- if eq $v.slack.mode "http" -}}{{- $_ := set $slack "listen" (printf ":%d" (int $v.port)) -}}{{- end -}}
{{- with $v.slack.apiURL -}}{{- $_ := set $slack "apiURL" . -}}{{- end -}}
{{- $clusters := list -}}
{{- if $v.clusters.inCluster.enabled -}}
{{- $c := dict "name" $v.clusters.inCluster.name -}}
{{- with $v.prometheus.url -}}{{- $_ := set $c "prometheus" . -}}{{- end -}}
{{- with $v.prometheus.queries -}}{{- $_ := set $c "prometheusQueries" . -}}{{- end -}}
{{- if $v.datadog.enabled -}}
{{- $_ := set $c "datadog" (dict "site" $v.datadog.site "noLogs" $v.datadog.noLogs "noEvents" $v.datadog.noEvents) -}}
{{- end -}}
{{- if $v.loki.enabled -}}
{{- $l := dict "url" $v.loki.url -}}
{{- with $v.loki.tenant -}}{{- $_ := set $l "tenant" . -}}{{- end -}}
{{- $_ := set $c "loki" $l -}}
{{- end -}}
{{- $clusters = append $clusters $c -}}
{{- end -}}
{{- range $v.clusters.remote -}}
{{- $c := omit . "kubeconfigSecret" "kubeconfigKey" -}}
{{- $_ := set $c "kubeconfig" (printf "/etc/oombot-kubeconfigs/%s/%s" .name (.kubeconfigKey | default "config")) -}}
{{- $clusters = append $clusters $c -}}
{{- end -}}
{{- $store := dict "driver" $v.store.driver "retention" $v.store.retention -}}
{{- if eq $v.store.driver "sqlite" -}}{{- $_ := set $store "path" "/var/lib/oombot/oombot.db" -}}{{- end -}}
{{- $cfg := dict "slack" $slack "channels" $v.channels "clusters" $clusters "store" $store
  "dedupWindow" $v.dedupWindow "workers" (int $v.workers) "timeouts" $v.timeouts -}}
{{- if ne $v.slack.mode "http" -}}{{- $_ := set $cfg "metricsListen" (printf ":%d" (int $v.port)) -}}{{- end -}}
{{- with $v.defaultCluster -}}{{- $_ := set $cfg "defaultCluster" . -}}{{- end -}}
{{- if $v.leaderElection.enabled -}}
{{- $_ := set $cfg "leaderElection" (dict "enabled" true "leaseDuration" $v.leaderElection.leaseDuration "renewDeadline" $v.leaderElection.renewDeadline "retryPeriod" $v.leaderElection.retryPeriod) -}}
{{- end -}}
{{- if $v.watch.enabled -}}
{{- $w := dict "enabled" true "channel" $v.watch.channel "lookback" $v.watch.lookback -}}
{{- with $v.watch.namespaces -}}{{- $_ := set $w "namespaces" . -}}{{- end -}}
{{- $_ := set $cfg "watch" $w -}}
{{- end -}}
{{- if $v.webhooks.enabled -}}{{- $_ := set $cfg "webhooks" (dict "channel" $v.webhooks.channel) -}}{{- end -}}
{{- if $v.llm.enabled -}}
{{- $l := dict "baseURL" $v.llm.baseURL "model" $v.llm.model "azure" $v.llm.azure "anonymize" $v.llm.anonymize -}}
{{- with $v.llm.timeout -}}{{- $_ := set $l "timeout" . -}}{{- end -}}
{{- if gt (int $v.llm.maxTokens) 0 -}}{{- $_ := set $l "maxTokens" (int $v.llm.maxTokens) -}}{{- end -}}
{{- $_ := set $cfg "llm" $l -}}
{{- end -}}
{{- if or $v.playbooks.files $v.playbooks.existingConfigMap -}}
{{- $_ := set $cfg "playbooks" (dict "dir" "/etc/oombot-playbooks" "reloadInterval" $v.playbooks.reloadInterval) -}}
{{- end -}}
{{- with $v.alerts -}}{{- $_ := set $cfg "alerts" . -}}{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
