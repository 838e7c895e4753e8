{{/* Chart name. */}}
{{- define "ingressx.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name unless the release name has it. */}}
{{- define "ingressx.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ingressx.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ingressx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ingressx.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "ingressx.labels" -}}
helm.sh/chart: {{ include "ingressx.chart" . }}
{{ include "ingressx.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ingressx
{{- end }}

{{- define "ingressx.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ingressx.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image: repository@digest, else repository:tag (tag default appVersion). */}}
{{- define "ingressx.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "ingressx.hookImage" -}}
{{- default (include "ingressx.image" .) .Values.hookImage }}
{{- end }}

{{/* Rules of the operator's (Cluster)Role, but Secrets and Leases (rbac.yaml).
PodDisruptionBudgets: one per fleet, applied (server-side apply: create, patch) and
deleted with the fleet. HTTPRoutes: the gateway-api cutover provider reads and patches
the route's backendRef weights (rbac.gatewayAPI.enabled). */}}
{{- define "ingressx.rules" -}}
- apiGroups: [ingressx.io]
  resources: [proxyfleets]
  verbs: [get, list, watch, update, patch]
- apiGroups: [ingressx.io]
  resources: [proxyfleets/status]
  verbs: [get, update, patch]
- apiGroups: [ingressx.io]
  resources: [fleetrollouts]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [ingressx.io]
  resources: [fleetrollouts/status]
  verbs: [get, update, patch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [create, patch, delete]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- if .Values.rbac.gatewayAPI.enabled }}
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes, tcproutes]
  verbs: [get, patch]
{{- end }}
{{- end }}

{{- define "ingressx.secretRule" -}}
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
{{- end }}
