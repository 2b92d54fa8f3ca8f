{{/* Names, labels and the checks every template shares. */}}

{{- define "uplink-hub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "uplink-hub.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "uplink-hub.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "uplink-hub.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "uplink-hub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "uplink-hub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "uplink-hub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "uplink-hub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: hub
app.kubernetes.io/part-of: uplink
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "uplink-hub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "uplink-hub.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "uplink-hub.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{- define "uplink-hub.claimName" -}}
{{- default (printf "%s-data" (include "uplink-hub.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* The hub's data directory in the container: database, generated TLS, admin-token. */}}
{{- define "uplink-hub.dataDir" -}}/var/lib/uplink{{- end }}

{{/* The container port and its name follow whether the hub serves TLS itself. */}}
{{- define "uplink-hub.containerPort" -}}8443{{- end }}
{{- define "uplink-hub.portName" -}}{{ .Values.tls.insecureHttp | ternary "http" "https" }}{{- end }}
{{- define "uplink-hub.scheme" -}}{{ .Values.tls.insecureHttp | ternary "HTTP" "HTTPS" }}{{- end }}

{{/*
Names the generated certificate must carry besides the publicUrl host (the
hub adds that itself): the Service's in-cluster names, so agents in the hub's
own cluster can dial it directly, and tls.extraSans.
*/}}
{{- define "uplink-hub.tlsSans" -}}
{{- $svc := include "uplink-hub.fullname" . -}}
{{- $names := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) -}}
{{- join "," (concat $names .Values.tls.extraSans) -}}
{{- end }}

{{/*
Misconfigurations that would install a hub nobody can use, stopped at render
time with what to do instead. Included once, by the Deployment.
*/}}
{{- define "uplink-hub.validate" -}}
{{- if hasKey .Values "database" }}
{{- fail "database.*: PostgreSQL is not supported by this hub version yet; the hub keeps its state in SQLite on its PersistentVolumeClaim (persistence.*) and runs as one replica. Remove the database values." }}
{{- end }}
{{- if and (hasKey .Values "replicaCount") (ne (int .Values.replicaCount) 1) }}
{{- fail "replicaCount: the hub runs as exactly one replica (its SQLite state is on one volume); several replicas need PostgreSQL, which this hub version does not support yet." }}
{{- end }}
{{- $url := required "publicUrl is required: the URL agents and users reach the hub at, e.g. --set publicUrl=https://hub.example.com:8443" .Values.publicUrl }}
{{- if $url }}
{{- $parsed := urlParse $url }}
{{- if not (and (has $parsed.scheme (list "https" "http")) $parsed.hostname) }}
{{- fail (printf "publicUrl %q must be an absolute http(s) URL with a host, e.g. https://hub.example.com:8443" $url) }}
{{- end }}
{{- if and (eq $parsed.scheme "http") (not .Values.tls.insecureHttp) }}
{{- fail (printf "publicUrl %q is plain http, but the hub serves HTTPS: use an https:// URL, or set tls.insecureHttp=true for a hub behind a proxy" $url) }}
{{- end }}
{{- end }}
{{- with .Values.kubeDomain }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?([.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$" .) }}
{{- fail (printf "kubeDomain %q must be a lowercase DNS name without a trailing dot, e.g. kube.example.com" .) }}
{{- end }}
{{- if hasSuffix (printf ".%s" .) (lower (urlParse $.Values.publicUrl).hostname) }}
{{- fail (printf "kubeDomain %q contains publicUrl's host, which would then select a cluster instead of the hub: give the kube domain a name of its own, e.g. kube.%s" . .) }}
{{- end }}
{{- end }}
{{- if and .Values.tls.existingSecret .Values.tls.insecureHttp }}
{{- fail "tls.existingSecret and tls.insecureHttp contradict each other: the first serves that certificate, the second plain HTTP. Set one." }}
{{- end }}
{{- if and .Values.ingress.enabled .Values.ingress.tls (not .Values.tls.insecureHttp) }}
{{- fail "ingress.tls terminates TLS at the Ingress, but agents pin the hub's own CA and would see the Ingress certificate instead. Either leave ingress.tls empty and pass TLS through to the hub (e.g. ingress-nginx ssl-passthrough), or set tls.insecureHttp=true so the hub serves plain HTTP behind the Ingress and agents trust the Ingress certificate (see docs/install.md)." }}
{{- end }}
{{- end }}
