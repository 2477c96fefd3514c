/**
 * Generates the Helm chart charts/cdk8s-shm from the SharedMemoryWebhook and SharedMemoryAgent
 * constructs, so that chart and constructs never drift:
 *
 *   npx ts-node --project scripts/tsconfig.json scripts/helm-chart.ts [OUT_DIR]
 *
 * (after `node scripts/bundle.mjs`: the webhook construct embeds lib/bundle/webhook.js).
 *
 * How: every value the user may set is synthesized as a sentinel (`helmxname`, `1111Mi`, ...) and
 * each sentinel is then replaced by its Helm expression; a choice that changes the shape of the
 * objects (TLS mode, one replica or several, namespace selection, own image, ...) is synthesized
 * once per option. Objects are compared across those variants: an object that does not depend on
 * a choice is written once, an object that does is written once per distinct form, under an `if`
 * on the values that decide it. The admission policy's switches (resizeVolumes, denyUnsafeShrink,
 * hardenMount) are no such choices: each is a literal in the CEL, replaced where it stands, and an
 * object that exists only with one is written whole under an `if` on it (POLICY_ONLY_WITH). Every replacement must match, or generation fails, so a construct
 * change that a rule no longer fits is caught by the drift test instead of shipping.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Duration, Size } from 'cdk8s';
import { stringify } from 'yaml';
import {
  AgentDelivery, AgentPlacement, NamespaceSelection, PodSelection, podspec, PodsWithoutLimit, SharedMemoryAdmissionPolicy,
  SharedMemoryAgent, SharedMemoryDomain, SharedMemoryWebhook, WebhookFailurePolicy, WebhookNetworkPolicy, WebhookTls,
} from '../src';
import { shareVariables } from './helm-policy-variables';
import { QUANTITY_HELPERS, settingChecks } from './helm-setting-rules';
import { RESIZE_SUFFIX } from '../src/constructs/admission-policy/objects';
import { NAMESPACE_OPT_IN_VALUE } from '../src/constructs/admission-policy/settings';
import { DEFAULT_KUBELET_DIR } from '../src/constructs/agent/csi-node-plugin';
import { DEFAULT_NODE_IMAGE } from '../src/constructs/common/bundled-program';
import { IMAGE_REFERENCE_PATTERN } from '../src/constructs/common/image-reference';
import { SYSTEM_NAMESPACES, SYSTEM_PRIORITY_CLASSES } from '../src/constructs/common/system-names';
import { DEFAULT_METRICS_PORT, DEFAULT_PORT } from '../src/contracts/webhook-flags';
import { DEFAULT_RATIO, INJECT_ANNOTATION, POLICY_RATIO_DIGITS, SELECTIONS, WITHOUT_LIMIT_MODES } from '../src/core';
import { createCertificateAuthority } from '../src/programs/webhook/x509';

const REPO = path.join(__dirname, '..');
const BUNDLE = path.join(REPO, 'lib', 'bundle', 'webhook.js');
const PLUGIN_BUNDLE = path.join(REPO, 'lib', 'bundle', 'csi-plugin.js');
/** The chart carries the webhook server here; the build copies it from lib/bundle (not in git). */
export const BUNDLE_IN_CHART = 'files/webhook.js';
/** And the agent's CSI node plugin here. */
export const PLUGIN_IN_CHART = 'files/csi-plugin.js';

/** One choice that changes the shape of the objects. */
interface Dimension<T> {
  readonly name: string;
  readonly options: readonly { readonly value: T; readonly when: string }[];
}

type Combination = Record<string, unknown>;

interface RenderedObject {
  readonly key: string;
  readonly text: string;
}

/** A sentinel and what replaces it. `line` rules replace the whole line, keeping its indentation. */
interface Rule {
  readonly find: string | RegExp;
  readonly replace: string | ((indent: string) => string);
  readonly line?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The webhook

const W = {
  name: 'helmxname',
  namespace: 'helmxns',
  image: 'helmximage',
  nodeImage: 'helmxnodeimage',
  priority: 'helmxpriority',
  excluded: 'helmxexcluded',
  certManagerNamespace: 'helmxcertmanagerns',
  issuer: 'helmxissuer',
  issuerKind: 'HelmxKind',
  secret: 'helmxsecret',
  // A real certificate: the construct parses the caBundle it is given.
  caBundle: createCertificateAuthority({ commonName: 'helmxca', validityMs: 3600_000 }).certPem,
  labelKey: 'helmxlabelkey',
  labelValue: 'helmxlabelvalue',
  podAnnotationKey: 'helmxpodannotation',
  podAnnotationValue: 'helmxpodannotationvalue',
  // Ports the construct accepts and no other text holds.
  port: 48111,
  metricsPort: 49111,
  ratio: 0.123,
  minimum: 1111,
  maximum: 2222,
  fixedSize: 3333,
  timeout: 29,
  replicas: 7,
};
/** The chart's test for a created namespace the cluster owns, and for a priority class that needs its quota. */
const SYSTEM_NAMESPACE_LIST = `(list ${SYSTEM_NAMESPACES.map(n => `"${n}"`).join(' ')})`;
const SYSTEM_PRIORITY_LIST = `(list ${SYSTEM_PRIORITY_CLASSES.map(n => `"${n}"`).join(' ')})`;

const WEBHOOK_DIMENSIONS: Dimension<unknown>[] = [
  {
    name: 'tls',
    options: (['self-managed', 'cert-manager', 'provided'] as const).map(mode => ({ value: mode, when: `eq .Values.tls.mode "${mode}"` })),
  },
  { name: 'issuer', options: [{ value: false, when: 'not .Values.tls.certManager.issuerName' }, { value: true, when: '.Values.tls.certManager.issuerName' }] },
  { name: 'ha', options: [{ value: true, when: 'gt (int .Values.webhook.replicas) 1' }, { value: false, when: 'le (int .Values.webhook.replicas) 1' }] },
  { name: 'namespaces', options: [{ value: 'all', when: 'eq .Values.webhook.namespaceSelection "all"' }, { value: 'opt-in', when: 'eq .Values.webhook.namespaceSelection "opt-in"' }] },
  { name: 'image', options: [{ value: false, when: 'not .Values.webhook.image' }, { value: true, when: '.Values.webhook.image' }] },
  { name: 'createNamespace', options: [{ value: false, when: 'not .Values.namespace.create' }, { value: true, when: '.Values.namespace.create' }] },
  { name: 'networkPolicy', options: [{ value: false, when: 'not .Values.networkPolicy.enabled' }, { value: true, when: '.Values.networkPolicy.enabled' }] },
  { name: 'admissionPolicies', options: [{ value: true, when: '.Values.webhook.admissionPolicies' }, { value: false, when: 'not .Values.webhook.admissionPolicies' }] },
  {
    name: 'criticalPriority',
    options: [
      { value: true, when: `and (has .Values.webhook.priorityClassName ${SYSTEM_PRIORITY_LIST}) (ne .Release.Namespace "kube-system")` },
      { value: false, when: `not (and (has .Values.webhook.priorityClassName ${SYSTEM_PRIORITY_LIST}) (ne .Release.Namespace "kube-system"))` },
    ],
  },
];

function synthWebhook(c: Combination, bundle: string): unknown[] {
  const app = new App();
  const chart = new Chart(app, 'chart');
  const tls = c.tls === 'self-managed' ? WebhookTls.selfManaged()
    : c.tls === 'cert-manager' ? WebhookTls.certManager({ namespace: W.certManagerNamespace, ...(c.issuer ? { issuerName: W.issuer, issuerKind: W.issuerKind } : {}) })
      : WebhookTls.provided({ secretName: W.secret, caBundle: W.caBundle });
  new SharedMemoryWebhook(chart, 'webhook', {
    namespace: W.namespace,
    createNamespace: c.createNamespace as boolean,
    name: W.name,
    replicas: c.ha ? W.replicas : 1,
    image: c.image ? W.image : undefined,
    nodeImage: W.nodeImage,
    tls,
    failurePolicy: WebhookFailurePolicy.FAIL,
    timeout: Duration.seconds(W.timeout),
    namespaceSelection: c.namespaces === 'opt-in' ? NamespaceSelection.OPT_IN : NamespaceSelection.ALL,
    excludedNamespaces: [W.excluded],
    podSelection: PodSelection.OPT_IN,
    ratio: W.ratio,
    minimum: Size.mebibytes(W.minimum),
    maximum: Size.mebibytes(W.maximum),
    podsWithoutLimit: PodsWithoutLimit.fixedSize(Size.mebibytes(W.fixedSize)),
    sizeUnboundedShm: true,
    limitFollows: true,
    resizeVolumes: true,
    denyUnsafeShrink: true,
    hardenMount: true,
    priorityClassName: c.criticalPriority ? SYSTEM_PRIORITY_CLASSES[0] : W.priority,
    port: W.port,
    metricsPort: W.metricsPort,
    labels: { [W.labelKey]: W.labelValue },
    podAnnotations: { [W.podAnnotationKey]: W.podAnnotationValue },
    networkPolicy: c.networkPolicy ? WebhookNetworkPolicy.restrict({ apiServerCidrs: ['10.0.0.0/8'], metricsNamespaces: ['monitoring'] }) : undefined,
    admissionPolicies: c.admissionPolicies as boolean,
  });
  const objects = chart.toJson() as any[];
  for (const o of objects) {
    // Numbers and enums are replaced where they sit, not by value: a bare 7 or Fail could be anything.
    if (o.kind === 'Deployment') {
      o.spec.replicas = 'helmxreplicas';
      // Maps and lists the user gives whole are written whole by the chart.
      const pod = o.spec.template.spec;
      pod.nodeSelector = 'helmxnodeselector';
      pod.tolerations = 'helmxtolerations';
      pod.affinity = 'helmxaffinity';
      pod.containers[0].resources = 'helmxresources';
    }
    if (o.kind === 'NetworkPolicy') {
      o.spec.ingress = 'helmxingress';
      if (o.spec.egress.length > 0) o.spec.egress = 'helmxegress';
    }
    if (o.kind === 'MutatingWebhookConfiguration') {
      for (const w of o.webhooks) {
        w.timeoutSeconds = 'helmxtimeout';
        w.failurePolicy = 'helmxfailurepolicy';
      }
    }
    if (o.kind === 'ConfigMap' && o.data?.['webhook.js'] === bundle) o.data['webhook.js'] = 'helmxbundle';
  }
  return objects;
}

function webhookRules(bundle: string): Rule[] {
  const arg = (flag: string, value: string) => ({ find: `- --${flag}=${value}`, line: true });
  const optionalArg = (flag: string, value: string, key: string): Rule => ({
    ...arg(flag, value),
    replace: indent => `{{- with .Values.policy.${key} }}\n${indent}- {{ printf "--${flag}=%v" . | quote }}\n{{- end }}`,
  });
  return [
    // Only what differs from the defaults becomes a flag: the webhook writes its explicit settings onto
    // the pods it sizes, and a chart's defaults are nobody's choice.
    optionalArg('ratio', String(W.ratio), 'ratio'),
    optionalArg('minimum', `${W.minimum}Mi`, 'minimum'),
    optionalArg('maximum', `${W.maximum}Mi`, 'maximum'),
    { ...arg('pod-selection', 'opt-in'), replace: indent => `${indent}- {{ printf "--pod-selection=%s" .Values.policy.podSelection | quote }}` },
    {
      ...arg('pods-without-limit', 'fixed'),
      replace: indent => `{{- if ne .Values.policy.podsWithoutLimit "skip" }}\n${indent}- {{ printf "--pods-without-limit=%s" .Values.policy.podsWithoutLimit | quote }}\n{{- end }}`,
    },
    { ...arg('size-unbounded-shm', 'true'), replace: indent => `{{- if .Values.policy.sizeUnboundedShm }}\n${indent}- "--size-unbounded-shm=true"\n{{- end }}` },
    { ...arg('limit-follows', 'true'), replace: indent => `{{- if .Values.policy.limitFollows }}\n${indent}- "--limit-follows=true"\n{{- end }}` },
    { ...arg('resize-volumes', 'true'), replace: indent => `{{- if .Values.policy.resizeVolumes }}\n${indent}- "--resize-volumes=true"\n{{- end }}` },
    { ...arg('deny-unsafe-shrink', 'true'), replace: indent => `{{- if .Values.policy.denyUnsafeShrink }}\n${indent}- "--deny-unsafe-shrink=true"\n{{- end }}` },
    { ...arg('harden-mount', 'true'), replace: indent => `{{- if .Values.policy.hardenMount }}\n${indent}- "--harden-mount=true"\n{{- end }}` },
    {
      ...arg('fixed-size', `${W.fixedSize}Mi`),
      // checkPolicy has refused a fixed podsWithoutLimit without a fixedSize.
      replace: indent => `{{- if eq .Values.policy.podsWithoutLimit "fixed" }}\n${indent}- {{ printf "--fixed-size=%v" .Values.policy.fixedSize | quote }}\n{{- end }}`,
    },
    {
      find: `- ${W.excluded}`,
      line: true,
      replace: indent => '{{- $certManager := ternary .Values.tls.certManager.namespace "" (eq .Values.tls.mode "cert-manager") }}\n'
        + `{{- range without .Values.webhook.excludedNamespaces "kube-system" .Release.Namespace $certManager }}\n${indent}- {{ . | quote }}\n{{- end }}`,
    },
    { find: `- ${W.certManagerNamespace}`, line: true, replace: indent => `${indent}- {{ .Values.tls.certManager.namespace | quote }}` },
    { find: `${W.labelKey}: ${W.labelValue}`, line: true, replace: indent => `{{- with .Values.webhook.labels }}\n{{ toYaml . | indent ${indent.length} }}\n{{- end }}` },
    {
      find: `${W.podAnnotationKey}: ${W.podAnnotationValue}`,
      line: true,
      replace: indent => `{{- with .Values.webhook.podAnnotations }}\n{{ toYaml . | indent ${indent.length} }}\n{{- end }}`,
    },
    { find: 'nodeSelector: helmxnodeselector', line: true, replace: indent => `${indent}nodeSelector: {{- toYaml .Values.webhook.nodeSelector | nindent ${indent.length + 2} }}` },
    {
      find: 'tolerations: helmxtolerations',
      line: true,
      replace: indent => `{{- with .Values.webhook.tolerations }}\n${indent}tolerations: {{- toYaml . | nindent ${indent.length + 2} }}\n{{- end }}`,
    },
    { find: 'affinity: helmxaffinity', line: true, replace: indent => `{{- with .Values.webhook.affinity }}\n${indent}affinity: {{- toYaml . | nindent ${indent.length + 2} }}\n{{- end }}` },
    { find: 'resources: helmxresources', line: true, replace: indent => `${indent}resources: {{- toYaml .Values.webhook.resources | nindent ${indent.length + 2} }}` },
    { find: 'ingress: helmxingress', line: true, replace: networkPolicyIngress },
    { find: 'egress: helmxegress', line: true, replace: networkPolicyEgress },
    { find: 'helmxbundle', replace: `{{ required "${BUNDLE_IN_CHART} is missing from the chart: run the build (npx projen compile), or set webhook.image" (.Files.Get "${BUNDLE_IN_CHART}") | quote }}` },
    { find: sha256(bundle), replace: `{{ .Files.Get "${BUNDLE_IN_CHART}" | sha256sum }}` },
    { find: 'helmxreplicas', replace: '{{ .Values.webhook.replicas }}' },
    { find: 'helmxtimeout', replace: '{{ .Values.webhook.timeoutSeconds }}' },
    { find: 'helmxfailurepolicy', replace: '{{ .Values.webhook.failurePolicy }}' },
    { find: Buffer.from(W.caBundle).toString('base64'), replace: '{{ include "cdk8s-shm.caBundle" . }}' },
    { find: String(W.port), replace: '{{ .Values.webhook.port }}' },
    { find: String(W.metricsPort), replace: '{{ .Values.webhook.metricsPort }}' },
    { find: SYSTEM_PRIORITY_CLASSES[0], replace: '{{ .Values.webhook.priorityClassName | quote }}' },
    { find: W.nodeImage, replace: '{{ .Values.webhook.nodeImage | quote }}' },
    { find: W.image, replace: '{{ .Values.webhook.image | quote }}' },
    { find: W.priority, replace: '{{ .Values.webhook.priorityClassName | quote }}' },
    { find: W.issuer, replace: '{{ .Values.tls.certManager.issuerName }}' },
    { find: W.issuerKind, replace: '{{ .Values.tls.certManager.issuerKind }}' },
    { find: W.secret, replace: '{{ required "tls.provided.secretName is required when tls.mode is provided" .Values.tls.provided.secretName }}' },
    { find: W.name, replace: '{{ include "cdk8s-shm.webhookName" . }}' },
    { find: W.namespace, replace: '{{ .Release.Namespace }}' },
  ];
}

/** The NetworkPolicy's ingress, written out: its lists come from values. */
function networkPolicyIngress(indent: string): string {
  const i = indent;
  return [
    `${i}ingress:`,
    `${i}- ports:`,
    `${i}  - port: {{ .Values.webhook.port }}`,
    `${i}    protocol: TCP`,
    '{{- with .Values.networkPolicy.apiServerCidrs }}',
    `${i}  from:`,
    '{{- range . }}',
    `${i}  - ipBlock:`,
    `${i}      cidr: {{ . | quote }}`,
    '{{- end }}',
    '{{- end }}',
    '{{- with .Values.networkPolicy.metricsNamespaces }}',
    `${i}- ports:`,
    `${i}  - port: {{ $.Values.webhook.metricsPort }}`,
    `${i}    protocol: TCP`,
    `${i}  from:`,
    `${i}  - namespaceSelector:`,
    `${i}      matchExpressions:`,
    `${i}      - key: kubernetes.io/metadata.name`,
    `${i}        operator: In`,
    `${i}        values:`,
    '{{- range . }}',
    `${i}        - {{ . | quote }}`,
    '{{- end }}',
    '{{- end }}',
  ].join('\n');
}

/** The NetworkPolicy's egress (to the API server), written out. */
function networkPolicyEgress(indent: string): string {
  const i = indent;
  return [
    `${i}egress:`,
    `${i}- ports:`,
    '{{- range .Values.networkPolicy.apiServerPorts }}',
    `${i}  - port: {{ . }}`,
    `${i}    protocol: TCP`,
    '{{- end }}',
    '{{- with .Values.networkPolicy.apiServerCidrs }}',
    `${i}  to:`,
    '{{- range . }}',
    `${i}  - ipBlock:`,
    `${i}      cidr: {{ . | quote }}`,
    '{{- end }}',
    '{{- end }}',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The admission policy (wayIn: policy)

const P = {
  name: 'helmxpolicyname',
};

/** Boolean settings of the policy, each the Helm value of the same name. */
type PolicySwitch = 'resizeVolumes' | 'denyUnsafeShrink' | 'hardenMount';
const POLICY_SWITCHES: readonly PolicySwitch[] = ['resizeVolumes', 'denyUnsafeShrink', 'hardenMount'];
const allSwitches = (on: boolean) => Object.fromEntries(POLICY_SWITCHES.map(s => [s, on])) as Record<PolicySwitch, boolean>;

/**
 * Objects that exist only with a setting: the chart writes each whole under an `if` on its value.
 * Everything else a setting changes is a literal in the CEL, replaced where it stands (policyRules).
 */
const POLICY_ONLY_WITH: Record<string, PolicySwitch> = {
  [`MutatingAdmissionPolicy/${P.name}${RESIZE_SUFFIX}`]: 'resizeVolumes',
  [`MutatingAdmissionPolicyBinding/${P.name}${RESIZE_SUFFIX}`]: 'resizeVolumes',
};

/**
 * The admission policies with every policy value set to a sentinel, and every switch on. Their CEL
 * holds the policy's settings as texts in one map (and the selection in one match condition), so
 * each value is replaced where it stands; the namespace selection becomes an `if` around its one
 * expression, and the objects of a switch an `if` around each (POLICY_ONLY_WITH).
 */
function synthPolicy(switches = allSwitches(true)): any[] {
  const app = new App();
  const chart = new Chart(app, 'chart');
  new SharedMemoryAdmissionPolicy(chart, 'policy', {
    name: P.name,
    labels: { [W.labelKey]: W.labelValue },
    ratio: W.ratio,
    minimum: Size.mebibytes(W.minimum),
    maximum: Size.mebibytes(W.maximum),
    podSelection: PodSelection.OPT_IN,
    podsWithoutLimit: PodsWithoutLimit.fixedSize(Size.mebibytes(W.fixedSize)),
    sizeUnboundedShm: true,
    ...switches,
    namespaceSelection: NamespaceSelection.OPT_IN,
    excludedNamespaces: [W.excluded],
  });
  // Its warning at synthesis (hardenMount needs 1.37+) is for the chart's users: values.yaml and the README say it.
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    return chart.toJson();
  } finally {
    console.warn = warn;
  }
}

/** Refuses a construct whose objects, with every switch off, are not those left once POLICY_ONLY_WITH is taken out. */
function checkPolicyOnlyWith(): void {
  const key = (o: any) => `${o.kind}/${o.metadata?.name}`;
  const off = synthPolicy(allSwitches(false)).map(key);
  const on = synthPolicy().map(key).filter(k => POLICY_ONLY_WITH[k] === undefined);
  if (JSON.stringify(off) !== JSON.stringify(on)) {
    throw new Error(`the admission policy's objects with every switch off are not those of POLICY_ONLY_WITH taken out (did the construct change?):\n${off.join('\n')}\n--\n${on.join('\n')}`);
  }
}

/** A text only where a switch is on. */
const onlyWith = (key: PolicySwitch, text: string) => `{{ if .Values.policy.${key} }}${text}{{ end }}`;
/** A switch as a CEL boolean. */
const celBoolean = (key: PolicySwitch) => `{{ if .Values.policy.${key} }}true{{ else }}false{{ end }}`;

function policyRules(): Rule[] {
  // A setting in the CEL map of the policy's own settings: '' when the value leaves the default.
  const setting = (key: string, sentinel: string, template: string): Rule => ({ find: `'${key}': '${sentinel}'`, replace: `'${key}': '${template}'` });
  return [
    setting('ratio', String(W.ratio), '{{ .Values.policy.ratio }}'),
    setting('minimum', `${W.minimum}Mi`, '{{ .Values.policy.minimum }}'),
    setting('maximum', `${W.maximum}Mi`, '{{ .Values.policy.maximum }}'),
    setting('podsWithoutLimit', 'fixed', '{{ if ne .Values.policy.podsWithoutLimit "skip" }}{{ .Values.policy.podsWithoutLimit }}{{ end }}'),
    setting('fixedSize', `${W.fixedSize}Mi`,
      '{{ if eq .Values.policy.podsWithoutLimit "fixed" }}{{ .Values.policy.fixedSize }}{{ end }}'),
    setting('sizeUnboundedShm', 'true', '{{ if .Values.policy.sizeUnboundedShm }}true{{ end }}'),
    setting('denyUnsafeShrink', 'true', onlyWith('denyUnsafeShrink', 'true')),
    setting('hardenMount', 'true', onlyWith('hardenMount', 'true')),
    // The policy's denyUnsafeShrink where the pod's annotations cannot be read (resize-cel.ts, deniesShrink).
    { find: "(variables.invalidSettings ? 'true' :", replace: `(variables.invalidSettings ? '${onlyWith('denyUnsafeShrink', 'true')}' :` },
    // resizeVolumes as a CEL boolean in the resize policies (resize-cel.ts: followed, keptBytes, unsafe, resizeOutcome).
    { find: 'true && variables.askedBytes ', replace: `${celBoolean('resizeVolumes')} && variables.askedBytes ` },
    { find: "variables.resizeAction == 'follow' && true", replace: `variables.resizeAction == 'follow' && ${celBoolean('resizeVolumes')}` },
    // With hardenMount the warnings policy matches every selected pod (warnings-cel.ts, annotations-read).
    { find: '(true || object.metadata.?annotations.orValue({}).exists(', replace: `${onlyWith('hardenMount', '(true || ')}object.metadata.?annotations.orValue({}).exists(` },
    { find: `))) && object.metadata.?annotations[?'${INJECT_ANNOTATION}']`, replace: `))${onlyWith('hardenMount', ')')} && object.metadata.?annotations[?'${INJECT_ANNOTATION}']` },
    // With hardenMount the hardening policy matches every selected pod (cel.ts, may-be-hardened).
    { find: "true || 'cdk8s-shm.io/harden-mount' in object", replace: `${celBoolean('hardenMount')} || 'cdk8s-shm.io/harden-mount' in object` },
    { find: "'opt-in' == 'opt-in'", replace: "'{{ .Values.policy.podSelection }}' == 'opt-in'" },
    { find: "'fixed' == 'deny'", replace: "'{{ .Values.policy.podsWithoutLimit }}' == 'deny'" },
    { find: "'fixed' != 'skip'", replace: "'{{ .Values.policy.podsWithoutLimit }}' != 'skip'" },
    {
      find: `- key: ${INJECT_ANNOTATION}`,
      line: true,
      replace: indent => `{{- if eq .Values.webhook.namespaceSelection "opt-in" }}\n${indent}- key: ${INJECT_ANNOTATION}`,
    },
    { find: `- ${NAMESPACE_OPT_IN_VALUE}`, line: true, replace: indent => `${indent}- ${NAMESPACE_OPT_IN_VALUE}\n{{- end }}` },
    {
      find: `- ${W.excluded}`,
      line: true,
      replace: indent => `{{- range without .Values.webhook.excludedNamespaces "kube-system" }}\n${indent}- {{ . | quote }}\n{{- end }}`,
    },
    { find: `${W.labelKey}: ${W.labelValue}`, line: true, replace: indent => `{{- with .Values.webhook.labels }}\n{{ toYaml . | indent ${indent.length} }}\n{{- end }}` },
    { find: P.name, replace: '{{ include "cdk8s-shm.policyName" . }}' },
  ];
}

// ---------------------------------------------------------------------------------------------
// The agent

const A = {
  name: 'helmxagent',
  namespace: 'helmxagentns',
  image: 'helmxagentimage',
  mounterImage: 'helmxmounterimage',
  nodeImage: 'helmxnodeimage',
  kubeletDir: '/helmxkubelet',
  tenant: 'helmxtenant',
  priority: 'helmxagentpriority',
  labelKey: 'helmx.io/helmxlabelkey',
  labelValue: 'helmxlabelvalue',
  sizeMebibytes: 4321,
  command: 'helmxcommand',
  args: 'helmxargs',
  cpuRequest: 111,
  cpuLimit: 222,
  memoryRequest: 333,
  memoryLimit: 444,
};

const AGENT_DIMENSIONS: Dimension<unknown>[] = [
  { name: 'delivery', options: [{ value: 'csi', when: 'eq .Values.agent.delivery "csi"' }, { value: 'host-path', when: 'eq .Values.agent.delivery "host-path"' }] },
  { name: 'placement', options: [{ value: 'labeled', when: 'eq .Values.agent.placement "labeled-nodes"' }, { value: 'all', when: 'eq .Values.agent.placement "all-nodes"' }] },
  { name: 'systemV', options: [{ value: false, when: 'not .Values.agent.systemV' }, { value: true, when: '.Values.agent.systemV' }] },
  { name: 'createNamespace', options: [{ value: true, when: '.Values.agent.createNamespace' }, { value: false, when: 'not .Values.agent.createNamespace' }] },
  {
    name: 'criticalPriority',
    options: [
      { value: true, when: `and (has .Values.agent.priorityClassName ${SYSTEM_PRIORITY_LIST}) (ne .Values.agent.namespace "kube-system")` },
      { value: false, when: `not (and (has .Values.agent.priorityClassName ${SYSTEM_PRIORITY_LIST}) (ne .Values.agent.namespace "kube-system"))` },
    ],
  },
];

function synthAgent(c: Combination, plugin: string): unknown[] {
  const app = new App();
  const chart = new Chart(app, 'chart');
  const warn = console.warn;
  console.warn = () => undefined; // the agent prints its security warnings at synthesis
  try {
    new SharedMemoryAgent(chart, 'agent', {
      name: A.name,
      namespace: A.namespace,
      createNamespace: c.createNamespace as boolean,
      systemV: c.systemV as boolean,
      placement: c.placement === 'all' ? AgentPlacement.allNodes() : AgentPlacement.labeledNodes({ key: A.labelKey, value: A.labelValue }),
      delivery: c.delivery === 'csi'
        ? AgentDelivery.csi({
          tenants: [{ namespace: A.tenant }], nodeImage: A.nodeImage, kubeletDir: A.kubeletDir,
        })
        : AgentDelivery.hostPath(),
      domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(A.sizeMebibytes) }),
      mounterImage: A.mounterImage,
      priorityClassName: c.criticalPriority ? SYSTEM_PRIORITY_CLASSES[1] : A.priority,
      containers: [{
        name: 'agent',
        image: A.image,
        command: [A.command],
        args: [A.args],
        resources: {
          cpu: { request: podspec.Cpu.millis(A.cpuRequest), limit: podspec.Cpu.millis(A.cpuLimit) },
          memory: { request: Size.mebibytes(A.memoryRequest), limit: Size.mebibytes(A.memoryLimit) },
        },
      }],
    });
    const objects = chart.toJson() as any[];
    for (const o of objects) if (o.kind === 'ConfigMap' && o.data?.['csi-plugin.js'] === plugin) o.data['csi-plugin.js'] = 'helmxplugin';
    return objects;
  } finally {
    console.warn = warn;
  }
}

function agentRules(plugin: string): Rule[] {
  const list = (sentinel: string, key: string): Rule => ({
    find: `- ${sentinel}`,
    line: true,
    replace: indent => `{{- range .Values.agent.${key} }}\n${indent}- {{ . | quote }}\n{{- end }}`,
  });
  return [
    list(A.command, 'command'),
    list(A.args, 'args'),
    { find: `- --tenant=${A.tenant}`, line: true, replace: indent => `{{- range .Values.agent.tenants }}\n${indent}- {{ printf "--tenant=%s" . | quote }}\n{{- end }}` },
    { find: 'helmxplugin', replace: `{{ required "${PLUGIN_IN_CHART} is missing from the chart: run the build (npx projen compile)" (.Files.Get "${PLUGIN_IN_CHART}") | quote }}` },
    { find: sha256(plugin), replace: `{{ .Files.Get "${PLUGIN_IN_CHART}" | sha256sum }}` },
    { find: A.kubeletDir, replace: '{{ .Values.agent.kubeletDir }}' },
    { find: A.nodeImage, replace: '{{ .Values.agent.nodeImage | quote }}' },
    { find: `size=${BigInt(A.sizeMebibytes) * 2n ** 20n}`, replace: 'size={{ mul (int64 .Values.agent.domain.sizeMebibytes) 1048576 }}' },
    { find: `${A.cpuRequest}m`, replace: '{{ .Values.agent.resources.requests.cpu | quote }}' },
    { find: `${A.cpuLimit}m`, replace: '{{ .Values.agent.resources.limits.cpu | quote }}' },
    { find: `${A.memoryRequest}Mi`, replace: '{{ .Values.agent.resources.requests.memory | quote }}' },
    { find: `${A.memoryLimit}Mi`, replace: '{{ .Values.agent.resources.limits.memory | quote }}' },
    { find: A.mounterImage, replace: '{{ .Values.agent.mounterImage | quote }}' },
    { find: A.image, replace: '{{ .Values.agent.image | quote }}' },
    { find: A.priority, replace: '{{ .Values.agent.priorityClassName | quote }}' },
    { find: SYSTEM_PRIORITY_CLASSES[1], replace: '{{ .Values.agent.priorityClassName | quote }}' },
    { find: A.labelKey, replace: '{{ .Values.agent.nodeLabel.key }}' },
    { find: A.labelValue, replace: '{{ .Values.agent.nodeLabel.value | quote }}' },
    { find: A.namespace, replace: '{{ .Values.agent.namespace }}' },
    { find: A.name, replace: '{{ .Values.agent.name }}' },
  ];
}

// ---------------------------------------------------------------------------------------------
// Variants → templates

function combinations(dimensions: readonly Dimension<unknown>[]): Combination[] {
  return dimensions.reduce<Combination[]>((all, d) => all.flatMap(c => d.options.map(o => ({ ...c, [d.name]: o.value }))), [{}]);
}

function comboKey(c: Combination, dimensions: readonly Dimension<unknown>[]): string {
  return dimensions.map(d => JSON.stringify(c[d.name])).join('|');
}

/** Renders one object, applies the rules and records which rules matched. */
function renderObject(object: any, rules: readonly Rule[], used: Set<Rule>): RenderedObject {
  let text = stringify(object, { lineWidth: 0, indentSeq: false });
  for (const rule of rules) {
    if (rule.line) {
      const pattern = new RegExp(`^( *)${escapeRegExp(rule.find as string)}$`, 'gm');
      text = text.replace(pattern, (_m, indent: string) => {
        used.add(rule);
        return typeof rule.replace === 'function' ? rule.replace(indent) : rule.replace;
      });
    } else {
      const pattern = typeof rule.find === 'string' ? new RegExp(escapeRegExp(rule.find), 'g') : rule.find;
      text = text.replace(pattern, () => {
        used.add(rule);
        return rule.replace as string;
      });
    }
  }
  if (/helmx/i.test(text)) throw new Error(`a sentinel was not replaced in ${object.kind} ${object.metadata?.name}:\n${text}`);
  return { key: `${object.kind}/${object.metadata?.name}`, text };
}

/**
 * Merges the variants into one template: each object once, under the conditions of the choices it
 * depends on. `onlyWhen` gives the condition of an object that exists only with a value (it is
 * written whole under an `if` on it).
 */
function mergeVariants(
  dimensions: readonly Dimension<unknown>[],
  synth: (c: Combination) => unknown[],
  rules: readonly Rule[],
  onlyWhen: (key: string) => string | undefined = () => undefined,
): string {
  const used = new Set<Rule>();
  const combos = combinations(dimensions);
  const byCombo = new Map<string, Map<string, string>>();
  const order: string[] = [];
  for (const combo of combos) {
    const objects = synth(combo).map(o => renderObject(o, rules, used));
    byCombo.set(comboKey(combo, dimensions), new Map(objects.map(o => [o.key, o.text])));
    let at = -1;
    for (const o of objects) {
      const found = order.indexOf(o.key);
      if (found >= 0) at = found;
      else order.splice(++at, 0, o.key);
    }
  }
  const unused = rules.filter(r => !used.has(r));
  if (unused.length > 0) throw new Error(`rules that matched nothing (did the construct change?): ${unused.map(r => String(r.find)).join(', ')}`);

  const textOf = (key: string, c: Combination) => byCombo.get(comboKey(c, dimensions))!.get(key) ?? '';
  const parts: string[] = [];
  for (const key of order) {
    const relevant = dimensions.filter(d => combos.some(c => d.options.some(o => textOf(key, { ...c, [d.name]: o.value }) !== textOf(key, c))));
    if (relevant.length === 0) {
      const when = onlyWhen(key);
      parts.push(when === undefined ? `---\n${textOf(key, combos[0])}` : `{{- if ${when} }}\n---\n${textOf(key, combos[0])}{{- end }}`);
      continue;
    }
    // One block per distinct form, under the choices (of the relevant dimensions) that give it.
    const groups = new Map<string, string[]>();
    for (const c of combinations(relevant)) {
      const full = { ...combos[0], ...c };
      const text = textOf(key, full);
      if (text === '') continue;
      const condition = relevant.length === 1
        ? relevant[0].options.find(o => o.value === c[relevant[0].name])!.when
        : `and ${relevant.map(d => `(${d.options.find(o => o.value === c[d.name])!.when})`).join(' ')}`;
      groups.set(text, [...(groups.get(text) ?? []), condition]);
    }
    for (const [text, conditions] of groups) {
      const when = conditions.length === 1 ? conditions[0] : `or ${conditions.map(x => `(${x})`).join(' ')}`;
      parts.push(`{{- if ${when} }}\n---\n${text}{{- end }}`);
    }
  }
  return parts.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// The chart's other files

function chartYaml(version: string): string {
  return [
    'apiVersion: v2',
    'name: cdk8s-shm',
    'description: Right-sized /dev/shm for every pod - the cdk8s-shm mutating admission webhook or admission policy (and an optional node agent), generated from the cdk8s-shm constructs',
    'type: application',
    `version: ${version}`,
    `appVersion: "${version}"`,
    // The ValidatingAdmissionPolicies the webhook ships by default are admissionregistration.k8s.io/v1, GA in 1.30.
    'kubeVersion: ">=1.30.0-0"',
    'home: https://github.com/cdk8s-shm/cdk8s-shm',
    'keywords: [shm, dev-shm, shared-memory, emptydir, admission-webhook]',
    '',
  ].join('\n');
}

function valuesYaml(): string {
  return `# Values of the cdk8s-shm chart. The chart is generated from the cdk8s-shm constructs
# (scripts/helm-chart.ts); every value below maps to a SharedMemoryWebhook, SharedMemoryAdmissionPolicy
# or SharedMemoryAgent prop.

# How pods get their /dev/shm: webhook, the admission webhook (any Kubernetes from 1.25); or policy,
# a MutatingAdmissionPolicy run by the API server itself (Kubernetes 1.36+): no server, no TLS, no
# network hop. Both take policy.* and webhook.namespaceSelection, webhook.excludedNamespaces and
# webhook.labels; the policy leaves alone the few pods its CEL cannot size exactly (cdk8s-shm plan
# --way-in policy names them).
wayIn: webhook

# The webhook runs in the release namespace (helm install -n cdk8s-shm --create-namespace).
namespace:
  # Create the release namespace as a Namespace object labelled for the "restricted" Pod Security
  # Standard. Leave false with --create-namespace (Helm would refuse to adopt it).
  create: false

# How pods are sized (the same policy as the webhook's flags and the cdk8s-shm CLI).
policy:
  # Share of the basis (the largest memory limit among the containers that write /dev/shm) given to
  # /dev/shm, greater than 0 and at most 1 (at most ${POLICY_RATIO_DIGITS} decimal places with wayIn policy). The
  # kubelet's pod memory limit caps the result.
  # Empty for the default, ${DEFAULT_RATIO}. Only settings that differ from their defaults reach the webhook: it writes
  # the settings it is given onto the pods it sizes (cdk8s-shm.io/ annotations), so later tools agree with it.
  ratio: ""
  # Smallest and largest ratio-derived size (quantities such as 256Mi); empty for none. The maximum
  # is at least the runtime's own 64Mi (64Mi, not 64M) unless a minimum is set too.
  minimum: ""
  maximum: ""
  # ${SELECTIONS.join(' or ')}: every pod unless annotated cdk8s-shm.io/inject: "false", or only pods annotated "true".
  podSelection: opt-out
  # Pods without a memory limit: ${WITHOUT_LIMIT_MODES.join(', ')} (fixed gives them policy.fixedSize).
  podsWithoutLimit: skip
  fixedSize: ""
  # Size a pod's own memory-backed /dev/shm that has no sizeLimit (as large as the node) by the same rule,
  # instead of leaving it alone.
  sizeUnboundedShm: false
  # Shared memory on top of the application's memory: grow the limits of the containers that write
  # /dev/shm by its size (wayIn webhook only: the admission policy never grows limits).
  limitFollows: false
  # After an in-place resize of a pod's memory (kubectl patch pod --subresource resize): the cluster
  # resizes memory-backed volumes in place (Kubernetes 1.37+, alpha gate
  # InPlacePodVerticalScalingMemoryBackedVolumes on the API server and every kubelet, cgroup v2), so
  # the resize carries the /dev/shm the rule gives under the new limits (wayIn policy: one more
  # MutatingAdmissionPolicy, "<release>-resize"). Off: the resize passes with a warning.
  resizeVolumes: false
  # Refuse a resize /dev/shm cannot follow that lowers the writer's limit to or below the /dev/shm the
  # pod keeps (shared memory alone could OOM-kill it); off: it passes with a warning.
  denyUnsafeShrink: false
  # Mount /dev/shm nosuid,nodev,noexec as the runtime mounts its own (volumeMounts[].bindMountOptions:
  # Kubernetes 1.37+, alpha gate VolumeBindMountOptions; without it the API server drops them, and the
  # way in warns so on every pod it hardens). With wayIn policy on 1.36, whose API has no such field,
  # the pods are sized without them, with the same warning.
  hardenMount: false

webhook:
  # Base name of every object; empty for "<release name>-webhook".
  name: ""
  # Server replicas, spread across nodes (a PodDisruptionBudget keeps one up).
  replicas: 2
  # An image whose entrypoint is the webhook server; empty runs the server bundled in this chart
  # (${BUNDLE_IN_CHART}, in a ConfigMap) with nodeImage.
  # Pin either image by digest: registry/name:tag@sha256:<64 hex digits>.
  image: ""
  nodeImage: ${DEFAULT_NODE_IMAGE}
  # The HTTPS port in the pods (the Service offers 443), and a plain-HTTP port for GET /metrics only.
  port: ${DEFAULT_PORT}
  metricsPort: ${DEFAULT_METRICS_PORT}
  # Where the server pods run. Helm merges maps with these defaults (set a key to null to drop it);
  # kubernetes.io/os: linux must stay, the Node.js image is Linux-only.
  nodeSelector:
    kubernetes.io/os: linux
  tolerations: []
  affinity: {}
  # CPU and memory of the server container.
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {memory: 256Mi}
  # More labels on every object and on the pods (never in selectors), and more pod annotations.
  labels: {}
  podAnnotations: {}
  # ValidatingAdmissionPolicies (Kubernetes 1.30+): the webhook's ServiceAccount may change only
  # caBundle in its own MutatingWebhookConfiguration, and only who may update that configuration
  # may change the server code ConfigMap. false only on older clusters.
  admissionPolicies: true
  # What the API server does when the webhook is down: Ignore (the pod keeps the runtime's
  # 64Mi /dev/shm) or Fail.
  failurePolicy: Ignore
  # How long the API server waits for the webhook, 1 to 30 seconds.
  timeoutSeconds: 5
  # all, or opt-in: only namespaces labelled cdk8s-shm.io/inject=enabled.
  namespaceSelection: all
  # More namespaces never sent to the webhook (kube-system and the release namespace never are).
  excludedNamespaces: []
  # A system- class outside kube-system comes with a ResourceQuota for it in the release namespace
  # (some clusters, GKE among them, admit such pods only where one exists).
  priorityClassName: system-cluster-critical

# A NetworkPolicy for the webhook pods: ingress on the serving port (from apiServerCidrs, or any
# address) and on the metrics port (from pods in metricsNamespaces); egress only to the API
# server (limitFollows reads LimitRanges and ResourceQuotas; self-managed TLS its Secret and
# webhook configuration). The server resolves no names.
networkPolicy:
  enabled: false
  apiServerCidrs: []
  apiServerPorts: [443, 6443]
  metricsNamespaces: []

tls:
  # self-managed: the server makes, stores and rotates its own CA and certificate;
  # cert-manager: a Certificate (and, unless issuerName is set, a self-signed Issuer);
  # provided: your own kubernetes.io/tls Secret and the CA that signed it.
  mode: self-managed
  certManager:
    # Empty: a CA of the chart's own (a self-signed Issuer, a CA Certificate and a CA Issuer).
    issuerName: ""
    issuerKind: Issuer
    # Never sent to the webhook, so that cert-manager can always start.
    namespace: cert-manager
  # caBundle: PEM, or the base64 of that PEM.
  provided:
    secretName: ""
    caBundle: ""

# The node agent (SharedMemoryAgent): a DaemonSet around your agent container that shares a
# node-level shared-memory domain with business pods. Disabled by default.
agent:
  enabled: false
  name: shm-agent
  # The agent's namespace runs Pod Security "privileged" (the CSI node plugin, or the hostPath
  # mounter); it is not the release namespace.
  namespace: shm-agent
  createNamespace: true
  image: ""
  command: []
  args: []
  resources:
    requests: {cpu: 100m, memory: 128Mi}
    limits: {cpu: 500m, memory: 256Mi}
  # The tmpfs the agent mounts on each node and shares, in MiB.
  domain:
    sizeMebibytes: 1024
  # labeled-nodes (nodes labelled nodeLabel.key=nodeLabel.value, tolerating the matching
  # NoSchedule taint) or all-nodes.
  placement: labeled-nodes
  nodeLabel:
    key: cdk8s-shm.io/shm-agent
    value: "true"
  # Also share System V shared memory (hostIPC: the node's IPC namespace).
  systemV: false
  # csi: the chart's CSI node plugin publishes the domain as an inline csi volume, only into pods of
  # the agent and its tenants (business namespaces keep Pod Security baseline or restricted);
  # host-path: hostPath volumes, for clusters without CSI (less safe: shared namespaces must run
  # "privileged").
  delivery: csi
  # csi: namespaces ("shop") or ServiceAccounts in them ("shop/web") whose pods may mount the domain.
  tenants: []
  # csi: the Node.js image that runs the plugin (${PLUGIN_IN_CHART}, in a ConfigMap; the plugin
  # registers itself with the kubelet), and the kubelet's --root-dir.
  nodeImage: ${DEFAULT_NODE_IMAGE}
  kubeletDir: ${DEFAULT_KUBELET_DIR}
  # host-path: the image of the init container that mounts the tmpfs.
  mounterImage: busybox:1.36.1
  priorityClassName: system-node-critical
`;
}

function valuesSchema(): unknown {
  const quantity = { type: 'string', pattern: '^$|^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$' };
  const dns = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
  const image = { type: 'string', pattern: `^${IMAGE_REFERENCE_PATTERN}$` };
  const port = { type: 'integer', minimum: 1, maximum: 65535 };
  const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
  return {
    $schema: 'https://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      wayIn: { enum: ['webhook', 'policy'] },
      namespace: { type: 'object', properties: { create: { type: 'boolean' } } },
      policy: {
        type: 'object',
        additionalProperties: false,
        properties: {
          // `--set policy.ratio=0.25` gives a string: Helm parses only integers.
          ratio: { anyOf: [{ type: 'number', exclusiveMinimum: 0, maximum: 1 }, { type: 'string', pattern: '^(0?\\.[0-9]*[1-9][0-9]*|1(\\.0*)?)?$' }] },
          minimum: quantity,
          maximum: quantity,
          podSelection: { enum: [...SELECTIONS] },
          podsWithoutLimit: { enum: [...WITHOUT_LIMIT_MODES] },
          fixedSize: quantity,
          sizeUnboundedShm: { type: 'boolean' },
          limitFollows: { type: 'boolean' },
          resizeVolumes: { type: 'boolean' },
          denyUnsafeShrink: { type: 'boolean' },
          hardenMount: { type: 'boolean' },
        },
      },
      webhook: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { anyOf: [{ const: '' }, { ...dns, maxLength: 52 }] },
          replicas: { type: 'integer', minimum: 1 },
          image: { anyOf: [{ const: '' }, image] },
          nodeImage: image,
          port,
          metricsPort: port,
          nodeSelector: stringMap,
          tolerations: { type: 'array', items: { type: 'object' } },
          affinity: { type: 'object' },
          resources: { type: 'object' },
          labels: stringMap,
          podAnnotations: stringMap,
          admissionPolicies: { type: 'boolean' },
          failurePolicy: { enum: ['Ignore', 'Fail'] },
          timeoutSeconds: { type: 'integer', minimum: 1, maximum: 30 },
          namespaceSelection: { enum: ['all', 'opt-in'] },
          excludedNamespaces: { type: 'array', items: dns },
          priorityClassName: { type: 'string' },
        },
      },
      tls: {
        type: 'object',
        additionalProperties: false,
        properties: {
          mode: { enum: ['self-managed', 'cert-manager', 'provided'] },
          certManager: { type: 'object', properties: { issuerName: { type: 'string' }, issuerKind: { enum: ['Issuer', 'ClusterIssuer'] }, namespace: dns } },
          provided: { type: 'object', properties: { secretName: { type: 'string' }, caBundle: { type: 'string' } } },
        },
      },
      networkPolicy: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean' },
          apiServerCidrs: { type: 'array', items: { type: 'string', pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$' } },
          apiServerPorts: { type: 'array', items: port },
          metricsNamespaces: { type: 'array', items: dns },
        },
      },
      agent: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean' },
          name: { ...dns, maxLength: 52 },
          namespace: dns,
          createNamespace: { type: 'boolean' },
          image: { anyOf: [{ const: '' }, image] },
          command: { type: 'array', items: { type: 'string' } },
          args: { type: 'array', items: { type: 'string' } },
          resources: { type: 'object' },
          domain: { type: 'object', properties: { sizeMebibytes: { type: 'integer', minimum: 1 } } },
          placement: { enum: ['labeled-nodes', 'all-nodes'] },
          nodeLabel: { type: 'object', properties: { key: { type: 'string', minLength: 1 }, value: { type: 'string' } } },
          systemV: { type: 'boolean' },
          delivery: { enum: ['csi', 'host-path'] },
          tenants: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$' } },
          nodeImage: image,
          kubeletDir: { type: 'string', pattern: '^/' },
          mounterImage: image,
          priorityClassName: { type: 'string' },
        },
        if: { properties: { enabled: { const: true } } },
        then: { properties: { image: { minLength: 1 } } },
      },
    },
  };
}

const HELPERS = `{{/* The name of the admission policies (wayIn policy): the release's. */}}
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
{{- if has .namespace ${SYSTEM_NAMESPACE_LIST} -}}
{{- fail (printf "%s would relabel %s, a namespace the cluster owns: use a namespace of its own, or set %s=false" .value .namespace .value) -}}
{{- end -}}
{{- end -}}
`;

const README = `# cdk8s-shm Helm chart

The cdk8s-shm mutating admission webhook, or (\`wayIn=policy\`, Kubernetes 1.36+) the same rule as
a MutatingAdmissionPolicy, and, disabled by default, the node agent; generated from the
\`SharedMemoryWebhook\`, \`SharedMemoryAdmissionPolicy\` and \`SharedMemoryAgent\` constructs by
\`scripts/helm-chart.ts\`. Do not edit the templates: change the constructs and regenerate.

\`\`\`sh
helm install cdk8s-shm ./charts/cdk8s-shm -n cdk8s-shm --create-namespace
helm install cdk8s-shm ./charts/cdk8s-shm -n cdk8s-shm --create-namespace \\
  --set tls.mode=cert-manager --set policy.ratio=0.25 --set policy.maximum=8Gi
helm install cdk8s-shm ./charts/cdk8s-shm -n cdk8s-shm --set wayIn=policy --set policy.ratio=0.25
\`\`\`

## What the webhook gives a pod

A memory-backed \`emptyDir\` at \`/dev/shm\` in every container, sized as the cdk8s-shm constructs
and CLI size it: \`policy.ratio\` (default 0.5) of the **largest memory limit among the app
containers and sidecars that mount it** (pages written to \`/dev/shm\` are charged to the container
that writes them, so a share of the pod's total would let one container OOM itself), within
\`policy.minimum\` and \`policy.maximum\`, capped at the pod's memory limit. A share below the
runtime's own 64Mi is not injected (the pod keeps what it had). Pods with \`cdk8s-shm.io/\`
annotations keep what they say; pods sized before (by a construct or \`cdk8s-shm inject\`) are
left unchanged. The project's README has the whole rule and the annotations.

Every value is described in \`values.yaml\` and checked by \`values.schema.json\`. The server the
Deployment runs is \`${BUNDLE_IN_CHART}\`, copied from the package build (\`lib/bundle/webhook.js\`);
set \`webhook.image\` to run your own image instead. The node agent's CSI plugin is
\`${PLUGIN_IN_CHART}\` (\`lib/bundle/csi-plugin.js\`).

With \`wayIn=policy\`, \`policy.resizeVolumes\` adds a MutatingAdmissionPolicy \`<release>-resize\` that
follows in-place resizes. The MutatingAdmissionPolicy \`<release>-harden\` adds \`bindMountOptions\`
to the pods that ask for them (all of them with \`policy.hardenMount\`, else those annotated
\`cdk8s-shm.io/harden-mount\`); they need **Kubernetes 1.37+** with the gate \`VolumeBindMountOptions\`:
elsewhere that policy alone fails, the pods are sized without them, and each creation warns. \`policy.limitFollows\` is for the webhook alone.
`;

const HELMIGNORE = '.gitignore\n.npmignore\n*.orig\n*.swp\n';

/** Writes the whole chart into `outDir`. */
export function generateChart(outDir: string): void {
  for (const file of [BUNDLE, PLUGIN_BUNDLE]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run 'node scripts/bundle.mjs' first`);
  const bundle = fs.readFileSync(BUNDLE, 'utf8');
  const plugin = fs.readFileSync(PLUGIN_BUNDLE, 'utf8');
  const version = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
  const webhook = mergeVariants(WEBHOOK_DIMENSIONS, c => synthWebhook(c, bundle), webhookRules(bundle));
  checkPolicyOnlyWith();
  const onlyWithSwitch = (key: string) => (POLICY_ONLY_WITH[key] ? `.Values.policy.${POLICY_ONLY_WITH[key]}` : undefined);
  const policy = shareVariables(mergeVariants([], () => synthPolicy(), policyRules(), onlyWithSwitch), 'cdk8s-shm.policy.');
  const agent = mergeVariants(AGENT_DIMENSIONS, c => synthAgent(c, plugin), agentRules(plugin));
  const header = '# Generated by scripts/helm-chart.ts from the cdk8s-shm constructs. Do not edit.\n';
  const files: Record<string, string> = {
    'Chart.yaml': chartYaml(version),
    'values.yaml': valuesYaml(),
    'values.schema.json': JSON.stringify(valuesSchema(), null, 2) + '\n',
    'README.md': README,
    '.helmignore': HELMIGNORE,
    'templates/_helpers.tpl': HELPERS + QUANTITY_HELPERS + settingChecks(),
    'templates/webhook.yaml': `${header}{{- if eq .Values.wayIn "webhook" }}\n`
      + '{{- include "cdk8s-shm.checkPolicy" . }}{{- include "cdk8s-shm.checkPorts" . }}\n'
      + '{{- if .Values.namespace.create }}{{ include "cdk8s-shm.checkCreatedNamespace" (dict "namespace" .Release.Namespace "value" "namespace.create") }}{{- end }}\n'
      + `${webhook}{{- end }}\n`,
    'templates/admission-policy.yaml': `${header}${policy.defines}{{- if eq .Values.wayIn "policy" }}\n`
      + '{{- include "cdk8s-shm.checkPolicy" . }}\n'
      + `{{- if regexMatch "\\\\.[0-9]{${POLICY_RATIO_DIGITS + 1},}" (toString .Values.policy.ratio) }}`
      + `{{ fail "policy.ratio may have at most ${POLICY_RATIO_DIGITS} decimal places with wayIn policy" }}{{- end }}\n`
      + '{{- if .Values.policy.limitFollows }}{{ fail "policy.limitFollows needs wayIn webhook: the admission policy never grows limits" }}{{- end }}\n'
      + `${policy.template}{{- end }}\n`,
    'templates/agent.yaml': `${header}{{- if .Values.agent.enabled }}\n`
      + '{{- if .Values.agent.createNamespace }}{{ include "cdk8s-shm.checkCreatedNamespace" (dict "namespace" .Values.agent.namespace "value" "agent.createNamespace") }}{{- end }}\n'
      + `${agent}{{- end }}\n`,
    'files/.gitignore': '# Copied from lib/bundle by the build (scripts/helm-chart.ts); never committed.\nwebhook.js\ncsi-plugin.js\n',
    // npm pack reads a folder's .gitignore when it has no .npmignore: without this one, the bundles
    // the chart installs would be left out of the package, and the chart in it could not render.
    'files/.npmignore': '# The bundled programs are part of the npm package (see .gitignore beside this file).\n',
    [BUNDLE_IN_CHART]: bundle,
    [PLUGIN_IN_CHART]: plugin,
  };
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(outDir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? path.join(REPO, 'charts', 'cdk8s-shm'));
  generateChart(out);
  console.log(`wrote the Helm chart to ${path.relative(process.cwd(), out) || '.'}`);
}
