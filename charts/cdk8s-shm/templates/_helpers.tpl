{{/* The name of the admission policies (wayIn policy): the release's. */}}
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
{{/* The bytes of a quantity (digits, an optional fraction, an optional suffix: values.schema.json), rounded down, as decimal digits. */}}
{{- define "cdk8s-shm.bytes" -}}
{{- $quantity := toString . -}}
{{- $suffix := regexFind "[a-zA-Z]+$" $quantity -}}
{{- $parts := splitList "." (trimSuffix $suffix $quantity) -}}
{{- $fraction := "" -}}
{{- if gt (len $parts) 1 }}{{ $fraction = index $parts 1 }}{{ end -}}
{{- $digits := printf "%s%s" (index $parts 0) $fraction -}}
{{- $binary := dict "Ki" 1 "Mi" 2 "Gi" 3 "Ti" 4 "Pi" 5 "Ei" 6 -}}
{{- $decimal := dict "k" 1 "M" 2 "G" 3 "T" 4 "P" 5 "E" 6 -}}
{{- if hasKey $binary $suffix -}}
{{- range until (int (get $binary $suffix)) }}{{ $digits = include "cdk8s-shm.times1024" $digits }}{{ end -}}
{{- else if hasKey $decimal $suffix -}}
{{- $digits = printf "%s%s" $digits (repeat (int (mul 3 (get $decimal $suffix))) "0") -}}
{{- end -}}
{{- /* Dividing by ten for each digit of the fraction, rounding down, drops them. */ -}}
{{- $digits = trunc (int (sub (len $digits) (len $fraction))) $digits -}}
{{- default "0" (regexReplaceAll "^0+" $digits "") -}}
{{- end -}}

{{/* Decimal digits times 1024. */}}
{{- define "cdk8s-shm.times1024" -}}
{{- $in := . -}}
{{- $out := "" -}}
{{- $carry := 0 -}}
{{- range $i := until (len $in) -}}
{{- $at := int (sub (len $in) (add1 $i)) -}}
{{- $value := add (mul (atoi (substr $at (int (add1 $at)) $in)) 1024) $carry -}}
{{- $out = printf "%d%s" (mod $value 10) $out -}}
{{- $carry = div $value 10 -}}
{{- end -}}
{{- if gt $carry 0 }}{{ $out = printf "%d%s" $carry $out }}{{ end -}}
{{- $out -}}
{{- end -}}

{{/* "true" when the first quantity (list a b) has fewer bytes than the second. */}}
{{- define "cdk8s-shm.bytesLess" -}}
{{- $a := include "cdk8s-shm.bytes" (index . 0) -}}
{{- $b := include "cdk8s-shm.bytes" (index . 1) -}}
{{- if or (lt (len $a) (len $b)) (and (eq (len $a) (len $b)) (lt $a $b)) }}true{{ end -}}
{{- end -}}
{{/* What the webhook server refuses at start, refused here with its message (src/core/setting-rules.ts, src/contracts/webhook-flags.ts). */}}
{{- define "cdk8s-shm.checkPolicy" -}}
{{- if and (not (empty .Values.policy.minimum)) (include "cdk8s-shm.bytesLess" (list .Values.policy.minimum "1")) }}{{ fail (printf "policy.minimum (%s) must be at least one byte" (toString .Values.policy.minimum)) }}{{ end -}}
{{- if and (not (empty .Values.policy.maximum)) (include "cdk8s-shm.bytesLess" (list .Values.policy.maximum "1")) }}{{ fail (printf "policy.maximum (%s) must be at least one byte" (toString .Values.policy.maximum)) }}{{ end -}}
{{- if and (not (empty .Values.policy.fixedSize)) (include "cdk8s-shm.bytesLess" (list .Values.policy.fixedSize "1")) }}{{ fail (printf "policy.fixedSize (%s) must be at least one byte" (toString .Values.policy.fixedSize)) }}{{ end -}}
{{- if and (not (empty .Values.policy.minimum)) (not (empty .Values.policy.maximum)) (include "cdk8s-shm.bytesLess" (list .Values.policy.maximum .Values.policy.minimum)) }}{{ fail (printf "policy.minimum (%s) must not exceed policy.maximum (%s)" (toString .Values.policy.minimum) (toString .Values.policy.maximum)) }}{{ end -}}
{{- if and (not (empty .Values.policy.maximum)) (include "cdk8s-shm.bytesLess" (list .Values.policy.maximum "67108864")) (not (not (empty .Values.policy.minimum))) }}{{ fail (printf "policy.maximum (%s) is below the runtime's own 64Mi /dev/shm, so it could only give pods less than they have without cdk8s-shm: set it to 64Mi or more, or set policy.minimum too to accept less" (toString .Values.policy.maximum)) }}{{ end -}}
{{- if and (eq (toString .Values.policy.podsWithoutLimit) "fixed") (not (not (empty .Values.policy.fixedSize))) }}{{ fail (printf "policy.fixedSize is required when policy.podsWithoutLimit is 'fixed'") }}{{ end -}}
{{- if and (ne (toString .Values.policy.podsWithoutLimit) "fixed") (not (empty .Values.policy.fixedSize)) }}{{ fail (printf "policy.fixedSize (%s) is only used when policy.podsWithoutLimit is 'fixed' (it is '%s')" (toString .Values.policy.fixedSize) (toString .Values.policy.podsWithoutLimit)) }}{{ end -}}
{{- end -}}

{{- define "cdk8s-shm.checkPorts" -}}
{{- if and (ne (int .Values.webhook.metricsPort) 0) (eq (int .Values.webhook.metricsPort) (int .Values.webhook.port)) }}{{ fail (printf "webhook.metricsPort (%s) must differ from webhook.port" (toString .Values.webhook.metricsPort)) }}{{ end -}}
{{- end -}}
