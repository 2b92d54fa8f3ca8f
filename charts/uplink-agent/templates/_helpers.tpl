{{/* Names, labels, the agent's fixed Secret names and the checks every template shares. */}}

{{- define "uplink-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "uplink-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "uplink-agent.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "uplink-agent.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Prefix of cluster-scoped objects: the full name plus the namespace, so two
releases of the same name in different namespaces do not collide.
*/}}
{{- define "uplink-agent.clusterName" -}}
{{- printf "%s-%s" (include "uplink-agent.fullname" .) .Release.Namespace | trunc 200 | trimSuffix "-" }}
{{- end }}

{{- define "uplink-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "uplink-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "uplink-agent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "uplink-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: agent
app.kubernetes.io/part-of: uplink
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "uplink-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "uplink-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secrets the agent writes in its namespace. Their names are fixed in the
agent (src/agent/config.ts DEFAULT_STATE_SECRET, src/agent/addons/desired-store.ts
DESIRED_ADDONS_SECRET), so there is one agent release per namespace.
*/}}
{{- define "uplink-agent.stateSecret" -}}uplink-agent-state{{- end }}
{{- define "uplink-agent.addonsSecret" -}}uplink-agent-addons{{- end }}

{{- define "uplink-agent.tokenSecret" -}}
{{- .Values.token.existingSecret | default (printf "%s-token" (include "uplink-agent.fullname" .)) }}
{{- end }}

{{- define "uplink-agent.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
A number as the agent's settings parse it: integers without an exponent
(YAML numbers reach templates as float64, and 200000 would print as 2e+05).
*/}}
{{- define "uplink-agent.number" -}}
{{- if eq (float64 .) (floor .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/*
Misconfigurations that would install an agent that cannot link, stopped at
render time with what to do instead. Replicas without leader election are
refused always; the rest is checked on install and upgrade only, so that
`helm lint` of the chart with its defaults (no hub, no token) passes.
*/}}
{{- define "uplink-agent.validate" -}}
{{- $replicas := int (include "uplink-agent.replicas" .) }}
{{- if and (gt $replicas 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicas=%d needs leader election: without it every agent pod links to the hub and runs add-ons, and they take the link from each other. Keep leaderElection.enabled=true (the default), or set replicas=1." $replicas) }}
{{- end }}
{{- if or .Release.IsInstall .Release.IsUpgrade }}
{{- if not .Values.hub.url }}
{{- fail "hub.url is required: the hub's URL as `uplink clusters create` prints it, e.g. --set hub.url=https://hub.example.com:8443" }}
{{- end }}
{{- if and .Values.token.value .Values.token.existingSecret }}
{{- fail "token.value and token.existingSecret are both set: give the token inline, or name the Secret that holds it, not both" }}
{{- end }}
{{- if not (or .Values.token.value .Values.token.existingSecret) }}
{{- fail "a cluster token is required: --set token.value=<the token `uplink clusters create` printed>, or token.existingSecret=<Secret in this namespace> (key token.existingSecretKey, default token)" }}
{{- end }}
{{- if and .Values.hub.caHash .Values.hub.caBundle }}
{{- fail "hub.caHash and hub.caBundle are both set: pin the hub's own CA with caHash, or trust a PEM bundle with caBundle, not both" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The number of agent pods. A release made before `replicas` existed, upgraded
with --reuse-values (as a self-upgrade is), keeps its old values without the
chart's new defaults: it keeps one pod rather than none. The same releases
lack `spread` and `podDisruptionBudget`, read through `default dict` (off).
*/}}
{{- define "uplink-agent.replicas" -}}
{{- .Values.replicas | default 1 | int }}
{{- end }}

{{/*
With several replicas: spread over nodes, so losing one node leaves an agent
to take over. Only the pods of one revision count (pod-template-hash), so a
rolling update's new pods spread among themselves. A non-empty .Values.affinity
wins over the soft anti-affinity.
*/}}
{{- define "uplink-agent.spread" -}}
{{- $spread := .Values.spread | default dict }}
{{- $several := and (gt (int (include "uplink-agent.replicas" .)) 1) $spread.enabled }}
{{- if $several }}
topologySpreadConstraints:
  - maxSkew: {{ int $spread.maxSkew }}
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "uplink-agent.selectorLabels" . | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- if .Values.affinity }}
affinity:
  {{- toYaml .Values.affinity | nindent 2 }}
{{- else if and $several $spread.softAntiAffinity }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "uplink-agent.selectorLabels" . | nindent 14 }}
{{- end }}
{{- end }}
