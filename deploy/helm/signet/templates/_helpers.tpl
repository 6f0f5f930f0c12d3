{{/*
signet.fullname: the prefix of every object's name. With release "signet"
the names are those of examples/kubernetes (signet-webhook, signet-policy).
*/}}
{{- define "signet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "signet" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-signet" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* signet.webhookName: the Deployment, Service and ServiceAccount. */}}
{{- define "signet.webhookName" -}}
{{- printf "%s-webhook" (include "signet.fullname" .) -}}
{{- end -}}

{{/* signet.tlsSecret: the serving certificate, mounted by the pods. */}}
{{- define "signet.tlsSecret" -}}
{{- printf "%s-webhook-tls" (include "signet.fullname" .) -}}
{{- end -}}

{{/* signet.caSecret: the CA that signs it (never mounted). */}}
{{- define "signet.caSecret" -}}
{{- printf "%s-webhook-ca" (include "signet.fullname" .) -}}
{{- end -}}

{{/* signet.host: the Service's DNS name, in the serving certificate. */}}
{{- define "signet.host" -}}
{{- printf "%s.%s.svc" (include "signet.webhookName" .) .Release.Namespace -}}
{{- end -}}

{{- define "signet.policyConfigMap" -}}
{{- .Values.policy.existingConfigMap | default (printf "%s-policy" (include "signet.fullname" .)) -}}
{{- end -}}

{{- define "signet.labels" -}}
app.kubernetes.io/name: signet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "signet.selectorLabels" -}}
app.kubernetes.io/name: signet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: admission-webhook
{{- end -}}

{{/* signet.inCluster: the chart runs the webhook (webhook.url is unset). */}}
{{- define "signet.inCluster" -}}
{{- if not .Values.webhook.url }}true{{ end -}}
{{- end -}}

{{/* signet.usesAPI: the webhook reads the Kubernetes API, so its pods get a token. */}}
{{- define "signet.usesAPI" -}}
{{- if or (eq .Values.policySource "kubernetes") .Values.backgroundAudit.enabled }}true{{ end -}}
{{- end -}}

{{- define "signet.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
signet.millis: a Go duration of hours, minutes, seconds and milliseconds
("8s", "1m30s", "1500ms"; values.schema.json admits only those units) in
milliseconds.
*/}}
{{- define "signet.millis" -}}
{{- $total := 0.0 -}}
{{- $unit := dict "h" 3600000.0 "m" 60000.0 "s" 1000.0 "ms" 1.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|h|m|s)" . -1 -}}
{{- $n := regexFind "^[0-9.]+" . -}}
{{- $total = addf $total (mulf (float64 $n) (get $unit (trimPrefix $n .))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
signet.validate: the combinations of values the schema cannot refuse.
webhooks.yaml, which is always rendered, includes it: a bad combination
fails the whole render, with the reason.
*/}}
{{- define "signet.validate" -}}
{{- if eq .Release.Namespace "default" -}}
{{- fail "the release namespace is default: the webhook never judges its own namespace (so a broken webhook can be fixed), so every Pod in default would run unchecked. Install the chart into a namespace of its own: helm install signet deploy/helm/signet -n signet-system --create-namespace" -}}
{{- end -}}
{{- $budget := float64 (include "signet.millis" .Values.admission.budget) -}}
{{- $timeout := mulf (float64 .Values.webhook.timeoutSeconds) 1000.0 -}}
{{- if le $budget 0.0 -}}
{{- fail (printf "admission.budget is %q: it must be longer than zero." .Values.admission.budget) -}}
{{- end -}}
{{- if ge $budget $timeout -}}
{{- $suggest := ternary (sub (int .Values.webhook.timeoutSeconds) 2) 1 (gt (int .Values.webhook.timeoutSeconds) 3) -}}
{{- fail (printf "admission.budget (%s) must be shorter than webhook.timeoutSeconds (%ds): the API server stops waiting at timeoutSeconds, so Signet's failure mode (%s) would never answer and failurePolicy (%s) would decide instead. Lower admission.budget (to %ds, say, leaving time for the network) or raise webhook.timeoutSeconds (at most 30)." .Values.admission.budget (int .Values.webhook.timeoutSeconds) .Values.admission.failureMode .Values.webhook.failurePolicy (int $suggest)) -}}
{{- end -}}
{{- if and .Values.webhook.url .Values.certManager.enabled -}}
{{- fail "webhook.url is set, so the chart runs no webhook and issues no certificate: unset certManager.enabled, or unset webhook.url to run the webhook in the cluster." -}}
{{- end -}}
{{- if and .Values.policy.existingConfigMap (ne .Values.policySource "file") -}}
{{- fail "policy.existingConfigMap is read only with policySource file: with policySource kubernetes the policies are SignetClusterPolicy and SignetPolicy resources. Unset one of the two." -}}
{{- end -}}
{{- $gen := .Values.generatedCertificates -}}
{{- if or (ge (int $gen.renewBeforeDays) (int $gen.validityDays)) (ge (int $gen.renewBeforeDays) (int $gen.caValidityDays)) -}}
{{- fail (printf "generatedCertificates.renewBeforeDays (%d) must be less than validityDays (%d) and caValidityDays (%d): otherwise every upgrade would issue a new certificate." (int $gen.renewBeforeDays) (int $gen.validityDays) (int $gen.caValidityDays)) -}}
{{- end -}}
{{- if hasKey .Values.policy.files "policy.yaml" -}}
{{- fail "policy.files cannot hold policy.yaml: that is policy.document. Give the files the document names (keys, locks) other names." -}}
{{- end -}}
{{- end -}}
