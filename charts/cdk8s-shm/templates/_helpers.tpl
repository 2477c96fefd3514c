{{/* The base name of the webhook's objects: webhook.name, or "<release>-webhook". */}}
{{- define "cdk8s-shm.webhookName" -}}
{{- default (printf "%s-webhook" .Release.Name) .Values.webhook.name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
