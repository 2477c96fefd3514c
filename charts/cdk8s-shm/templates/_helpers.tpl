{{/* The name of the admission policies (delivery policy): the release's. */}}
{{- define "cdk8s-shm.policyName" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The base name of the webhook's objects: webhook.name, or "<release>-webhook". */}}
{{- define "cdk8s-shm.webhookName" -}}
{{- default (printf "%s-webhook" .Release.Name) .Values.webhook.name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* tls.provided.caBundle as the webhook configuration holds it: base64 of PEM, given as PEM or as base64. */}}
{{- define "cdk8s-shm.caBundle" -}}
{{- $ca := required "tls.provided.caBundle (PEM, or base64 PEM) is required when tls.mode is provided" .Values.tls.provided.caBundle -}}
{{- if contains "-----BEGIN CERTIFICATE-----" $ca -}}
{{- $ca | b64enc -}}
{{- else if contains "-----BEGIN CERTIFICATE-----" (b64dec (nospace $ca)) -}}
{{- nospace $ca -}}
{{- else -}}
{{- fail "tls.provided.caBundle must be PEM (-----BEGIN CERTIFICATE-----) or the base64 of that PEM" -}}
{{- end -}}
{{- end -}}

{{/* A created namespace must never be one the cluster owns: its Pod Security labels would change. */}}
{{- define "cdk8s-shm.checkCreatedNamespace" -}}
{{- if has .namespace (list "kube-system" "kube-public" "kube-node-lease" "default") -}}
{{- fail (printf "%s would relabel %s, a namespace the cluster owns: use a namespace of its own, or set %s=false" .value .namespace .value) -}}
{{- end -}}
{{- end -}}
