{{/*
The parts both webhook configurations share (templates/webhooks.yaml). The
rules, settings and namespace exemptions are those of
examples/kubernetes/webhooks.yaml; deploy/helm/chart_test.go compares them.
*/}}

{{- define "signet.clientConfig" -}}
{{- $root := .root -}}
{{- if $root.Values.webhook.url -}}
url: {{ printf "%s%s" (trimSuffix "/" $root.Values.webhook.url) .path | quote }}
{{- else -}}
service:
  name: {{ include "signet.webhookName" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- end }}
{{- with .caBundle }}
caBundle: {{ . }}
{{- end }}
{{- end -}}

{{- define "signet.webhookSettings" -}}
admissionReviewVersions: [v1]
sideEffects: None
# Fail: a request the webhook cannot answer is refused, so an unverified
# image never runs. Ignore: it is admitted unchecked.
failurePolicy: {{ .Values.webhook.failurePolicy }}
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
# Never judge the control plane or the webhook itself, so a broken webhook
# can always be fixed.
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ append .Values.webhook.exemptNamespaces .Release.Namespace | uniq | toJson }}
{{- end -}}

{{- define "signet.workloadRules" -}}
- apiGroups: [""]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [pods, pods/ephemeralcontainers, replicationcontrollers, podtemplates]
- apiGroups: [apps]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [deployments, replicasets, statefulsets, daemonsets]
- apiGroups: [batch]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [jobs, cronjobs]
{{- end -}}
