{{/* Names and labels shared by the chart's objects. */}}
{{- define "wattline.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "wattline.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "wattline.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The ledger URL: the chart's PostgreSQL, or the one given. */}}
{{- define "wattline.ledgerUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "postgres://%s:%s@%s-postgresql:5432/%s" .Values.postgresql.username (required "postgresql.password is required when postgresql.enabled" .Values.postgresql.password) (include "wattline.fullname" .) .Values.postgresql.database -}}
{{- else -}}
{{- required "postgresql.url is required when postgresql.enabled is false (several replicas need one shared ledger)" .Values.postgresql.url -}}
{{- end -}}
{{- end -}}

{{- define "wattline.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s-redis:6379/0" (include "wattline.fullname" .) -}}
{{- else -}}
{{- .Values.redis.url -}}
{{- end -}}
{{- end -}}

{{/* The replicas' wattline.yaml: config: with the ledger and cluster filled in. */}}
{{- define "wattline.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $gateway := default (dict) (get $config "gateway") -}}
{{- $_ := set $gateway "host" "0.0.0.0" -}}
{{- $_ := set $gateway "port" (int .Values.service.port) -}}
{{- if .Values.auth.existingSecret -}}
{{- $_ := set $gateway "admin_token_env" "WATTLINE_ADMIN_TOKEN" -}}
{{- $_ := set $gateway "metrics_token_env" "WATTLINE_METRICS_TOKEN" -}}
{{- end -}}
{{- $_ := set $config "gateway" $gateway -}}
{{- $ledger := default (dict) (get $config "ledger") -}}
{{- $_ := set $ledger "url" (include "wattline.ledgerUrl" .) -}}
{{- $_ := set $ledger "signing_key_path" "/var/lib/wattline/ledger.key" -}}
{{- $_ := set $config "ledger" $ledger -}}
{{- if or .Values.redis.enabled .Values.redis.url -}}
{{- $_ := set $config "cluster" (dict "redis_url_env" "WATTLINE_REDIS_URL") -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
