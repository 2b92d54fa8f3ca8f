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

{{/* "true" when the hub keeps its state in PostgreSQL (database.url or database.existingSecret), else "". */}}
{{- define "uplink-hub.database" -}}
{{- if or .Values.database.url .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/* Where the database password Secret is mounted. */}}
{{- define "uplink-hub.databasePasswordDir" -}}/etc/uplink/database{{- end }}
{{- define "uplink-hub.secretsKeyDir" -}}/etc/uplink/secrets-key{{- end }}

{{/*
The pod's grace period: the preStop sleep, then the hub's drain, then a
margin for the hub to close its links and exit before the kubelet kills it.
*/}}
{{- define "uplink-hub.terminationGracePeriod" -}}
{{- add (int .Values.preStopSleepSeconds) (int .Values.hub.drainTimeout) 15 }}
{{- end }}

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
{{- include "uplink-hub.validateReplicas" . }}
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
{{- with .Values.gatewayDomain }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?([.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$" .) }}
{{- fail (printf "gatewayDomain %q must be a lowercase DNS name without a trailing dot, e.g. gw.example.com" .) }}
{{- end }}
{{- if eq . $.Values.kubeDomain }}
{{- fail (printf "gatewayDomain and kubeDomain are both %q: give each its own domain" .) }}
{{- end }}
{{- if hasSuffix (printf ".%s" .) (lower (urlParse $.Values.publicUrl).hostname) }}
{{- fail (printf "gatewayDomain %q contains publicUrl's host, which would then name an exposure instead of the hub: give the gateway a domain of its own, e.g. gw.%s" . .) }}
{{- end }}
{{- end }}
{{- if and .Values.tls.existingSecret .Values.tls.insecureHttp }}
{{- fail "tls.existingSecret and tls.insecureHttp contradict each other: the first serves that certificate, the second plain HTTP. Set one." }}
{{- end }}
{{- if and .Values.ingress.enabled .Values.ingress.tls (not .Values.tls.insecureHttp) }}
{{- fail "ingress.tls terminates TLS at the Ingress, but agents pin the hub's own CA and would see the Ingress certificate instead. Either leave ingress.tls empty and pass TLS through to the hub (e.g. ingress-nginx ssl-passthrough), or set tls.insecureHttp=true so the hub serves plain HTTP behind the Ingress and agents trust the Ingress certificate (see docs/install.md)." }}
{{- end }}
{{- end }}


{{/* replicas and database.*: several replicas only on a database, and the database values consistent. */}}
{{- define "uplink-hub.validateReplicas" -}}
{{- if hasKey .Values "replicaCount" }}
{{- fail "replicaCount: this chart's value is `replicas` (e.g. --set replicas=3, with a database)." }}
{{- end }}
{{- /* toString: a values file gives a float64, --set an int64. */}}
{{- if not (regexMatch "^[1-9][0-9]{0,2}$" (toString .Values.replicas)) }}
{{- fail (printf "replicas %v must be a whole number from 1 to 999" .Values.replicas) }}
{{- end }}
{{- $db := .Values.database }}
{{- if and (gt (int .Values.replicas) 1) (not (include "uplink-hub.database" .)) }}
{{- fail (printf "replicas=%d needs a database: without one the hub keeps its state in SQLite on one volume, which one replica alone can use. Set database.existingSecret (a Secret holding a postgres:// URL) or database.url, or keep replicas=1." (int .Values.replicas)) }}
{{- end }}
{{- if and $db.url $db.existingSecret }}
{{- fail "database.url and database.existingSecret both name the database: set one (existingSecret keeps the URL out of the Deployment)." }}
{{- end }}
{{- with $db.url }}
{{- $parsed := urlParse . }}
{{- if not (and (has $parsed.scheme (list "postgres" "postgresql")) $parsed.host) }}
{{- fail (printf "database.url must be a PostgreSQL URL with a host, postgres://USER@HOST:5432/DB; got a %q URL" ($parsed.scheme | default "schemeless")) }}
{{- end }}
{{- if contains ":" $parsed.userinfo }}
{{- fail "database.url carries a password, which would sit in the Deployment in plain text: put the password in a Secret named by database.passwordSecret, or the whole URL in database.existingSecret." }}
{{- end }}
{{- end }}
{{- if and $db.passwordSecret (not (include "uplink-hub.database" .)) }}
{{- fail "database.passwordSecret is set, but no database: set database.url or database.existingSecret too." }}
{{- end }}
{{- if and $db.secretsKeySecret (not (include "uplink-hub.database" .)) }}
{{- fail "database.secretsKeySecret is set, but no database: set database.url or database.existingSecret too (with SQLite the CA stays in the data directory)." }}
{{- end }}
{{- end }}

{{/*
The database and the peer settings of a replica on a database. The replica
is named after its pod, and announces its pod IP to the other replicas: they
relay to it directly, not through the Service, which would pick any replica.
*/}}
{{- define "uplink-hub.databaseEnv" -}}
{{- if .Values.database.existingSecret }}
- name: UPLINK_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.existingSecretKey }}
{{- else }}
- name: UPLINK_DATABASE_URL
  value: {{ .Values.database.url | quote }}
{{- end }}
{{- if .Values.database.passwordSecret }}
- name: UPLINK_DATABASE_PASSWORD_FILE
  value: {{ printf "%s/password" (include "uplink-hub.databasePasswordDir" .) | quote }}
{{- end }}
{{- if .Values.database.secretsKeySecret }}
- name: UPLINK_HUB_SECRETS_KEY_FILE
  value: {{ printf "%s/key" (include "uplink-hub.secretsKeyDir" .) | quote }}
{{- end }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: UPLINK_HUB_REPLICA_ID
  value: "$(POD_NAME)"
- name: UPLINK_HUB_PEER_LISTEN
  value: ":{{ .Values.peer.port }}"
- name: UPLINK_HUB_PEER_URL
  value: "https://$(POD_IP):{{ .Values.peer.port }}"
{{- end }}

{{/*
With several replicas: spread over nodes, so one node going away takes at
most its share. ScheduleAnyway, so a cluster with fewer nodes than replicas
still runs them all. The chart's affinity value, when set, replaces the soft
anti-affinity.
*/}}
{{- define "uplink-hub.spread" -}}
{{- $several := and (gt (int .Values.replicas) 1) .Values.spread.enabled }}
{{- if $several }}
topologySpreadConstraints:
  - maxSkew: {{ .Values.spread.maxSkew }}
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "uplink-hub.selectorLabels" . | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- if .Values.affinity }}
affinity:
  {{- toYaml .Values.affinity | nindent 2 }}
{{- else if and $several .Values.spread.softAntiAffinity }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "uplink-hub.selectorLabels" . | nindent 14 }}
{{- end }}
{{- end }}
