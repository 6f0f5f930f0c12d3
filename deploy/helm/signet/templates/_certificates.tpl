{{/*
signet.generatedCertificates: the CA and serving certificate Helm makes when
certManager is off, as YAML (base64 PEM: caCrt, caKey, tlsCrt, tlsKey; the expiry times in
Unix seconds: caExpires, expires; host). templates/webhooks.yaml renders the
Secrets and the caBundle from one call, so the caBundle is the CA in the
Secret.

Helm re-renders every template on upgrade, and genCA makes a new CA each
time: without care every upgrade would replace the CA and certificate, and
until the kubelet updated the mounted Secret (up to a minute) the API server
would refuse the old certificate, so every judged request would fail
(failurePolicy Fail: denied). So the Secrets in the cluster are read back
with lookup and kept while they are valid for more than renewBeforeDays and
name the same Service; the serving certificate is re-issued by the same CA
(caBundle unchanged) when it is due. lookup finds nothing under helm
template or --dry-run=client: those always show new certificates.

The CA key lives in its own Secret, never mounted into the pods.
*/}}
{{- define "signet.generatedCertificates" -}}
{{- $gen := .Values.generatedCertificates -}}
{{- $host := include "signet.host" . -}}
{{- $now := now | unixEpoch | atoi -}}
{{- $renewBy := add $now (mul $gen.renewBeforeDays 86400) -}}

{{- $ca := dict -}}
{{- $caExpires := 0 -}}
{{- $keepCA := false -}}
{{- $old := lookup "v1" "Secret" .Release.Namespace (include "signet.caSecret" .) -}}
{{- if and $old $old.data (index $old.data "tls.crt") (index $old.data "tls.key") -}}
{{- $caExpires = index ($old.metadata.annotations | default dict) "signet.dev/expires" | default "0" | atoi -}}
{{- if gt $caExpires $renewBy -}}
{{- $ca = buildCustomCert (index $old.data "tls.crt") (index $old.data "tls.key") -}}
{{- $keepCA = true -}}
{{- end -}}
{{- end -}}
{{- if not $keepCA -}}
{{- $ca = genCAWithKey (printf "%s-ca" (include "signet.webhookName" .)) (int $gen.caValidityDays) (genPrivateKey "ecdsa") -}}
{{- $caExpires = add $now (mul $gen.caValidityDays 86400) -}}
{{- end -}}

{{- $cert := dict -}}
{{- $expires := 0 -}}
{{- $keep := false -}}
{{- $old = lookup "v1" "Secret" .Release.Namespace (include "signet.tlsSecret" .) -}}
{{- if and $keepCA $old $old.data (index $old.data "tls.crt") (index $old.data "tls.key") -}}
{{- $ann := $old.metadata.annotations | default dict -}}
{{- $expires = index $ann "signet.dev/expires" | default "0" | atoi -}}
{{- $sameCA := eq (index $old.data "ca.crt" | default "") (b64enc $ca.Cert) -}}
{{- $sameHost := eq (index $ann "signet.dev/dns-name" | default "") $host -}}
{{- if and (gt $expires $renewBy) $sameCA $sameHost -}}
{{- $cert = dict "Cert" (index $old.data "tls.crt" | b64dec) "Key" (index $old.data "tls.key" | b64dec) -}}
{{- $keep = true -}}
{{- end -}}
{{- end -}}
{{- if not $keep -}}
{{- $cert = genSignedCertWithKey $host nil (list $host (printf "%s.cluster.local" $host)) (int $gen.validityDays) $ca (genPrivateKey "ecdsa") -}}
{{- $expires = add $now (mul $gen.validityDays 86400) -}}
{{- end -}}

{{- $out := dict "caCrt" (b64enc $ca.Cert) "caKey" (b64enc $ca.Key) "caExpires" (toString $caExpires) -}}
{{- $_ := merge $out (dict "tlsCrt" (b64enc $cert.Cert) "tlsKey" (b64enc $cert.Key) "expires" (toString $expires) "host" $host) -}}
{{- toYaml $out -}}
{{- end -}}
