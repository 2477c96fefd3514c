import * as path from 'path';
import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { AdmissionPolicyNames, PolicyAndBinding, caBundleOnlyPolicy, serverCodePolicy } from './webhook-admission-policies';
import { WebhookNetworkPolicy, WebhookNetworkPolicyOptions } from './webhook-network-policy';
import { WebhookTls } from './webhook-tls';
import {
  DEFAULT_METRICS_PORT, DEFAULT_PORT, DEFAULT_TLS_CERT, SELF_MANAGED_BOOTSTRAP_TIMEOUT_MS, WEBHOOK_NODE_FLAGS, WebhookArgsInput, webhookArgs,
} from '../../contracts/webhook-flags';
import { INJECT_ANNOTATION, SERVER_CHECKSUM_ANNOTATION, isDns1123Label } from '../../core';
import { excludedNamespacesOf, namespaceSelectorOf, resolvePolicyProps } from '../admission-policy/settings';
import { BUNDLE_MOUNT, DEFAULT_NODE_IMAGE, readBundledProgram, sha256 } from '../common/bundled-program';
import { checkLabel, extraLabels } from '../common/checks';
import { checkImageReference } from '../common/image-reference';
import { propLabel } from '../common/language-names';
import { NamespaceSelection, SharedMemoryPolicyProps } from '../common/policy-props';
import { checkCreatedNamespace, priorityClassQuota } from '../common/system-names';
import { Affinity, renderAffinity } from '../pod-spec/affinity';
import { ContainerResources, renderResources } from '../pod-spec/resources';
import { Toleration, renderTolerations } from '../pod-spec/tolerations';

/**
 * What the API server does when the webhook cannot be reached or fails.
 */
export enum WebhookFailurePolicy {
  /** Admit the pod unchanged: it gets the runtime's 64 MiB `/dev/shm`. The right choice for a convenience. */
  IGNORE = 'Ignore',
  /** Refuse the pod. Only if pods must never run without a sized `/dev/shm`; an outage then blocks pod creation. */
  FAIL = 'Fail',
}

/**
 * Properties for `SharedMemoryWebhook`.
 */
export interface SharedMemoryWebhookProps extends SharedMemoryPolicyProps {
  /**
   * Namespace the webhook runs in.
   *
   * @default "cdk8s-shm"
   */
  readonly namespace?: string;

  /**
   * Whether to create the namespace (labelled for the `restricted` Pod Security Standard). A
   * namespace the cluster owns (`kube-system`, `kube-public`, `kube-node-lease`, `default`) is
   * never created: set this to false to deploy into one unchanged.
   *
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * Base name of every object: a DNS-1123 label of at most 52 characters.
   *
   * @default "cdk8s-shm-webhook"
   */
  readonly name?: string;

  /**
   * Number of server replicas, spread across nodes.
   *
   * @default 2
   */
  readonly replicas?: number;

  /**
   * An image whose entrypoint is the webhook server (see `Dockerfile.webhook`); it is run with the
   * server's flags as arguments. Pin it by digest (`registry/name:tag@sha256:<64 hex digits>`)
   * to run exactly the image you reviewed.
   *
   * @default - the pinned official Node.js image runs the server bundled in this package, from a ConfigMap
   */
  readonly image?: string;

  /**
   * The Node.js image that runs the bundled server when `image` is not given; a digest
   * (`docker.io/library/node:24.19.0-alpine3.24@sha256:<64 hex digits>`) pins it.
   *
   * @default "docker.io/library/node:24.19.0-alpine3.24"
   */
  readonly nodeImage?: string;

  /**
   * The HTTPS port the server listens on in its pods (the Service always offers 443).
   *
   * @default 8443
   */
  readonly port?: number;

  /**
   * A plain-HTTP port that serves only `GET /metrics`, so that scraping can be allowed apart from
   * the admission port (see `networkPolicy`). `/metrics` stays on the HTTPS port too.
   *
   * @default 9090
   */
  readonly metricsPort?: number;

  /**
   * Node labels the server pods require, besides `kubernetes.io/os: linux` (the Node.js image is
   * Linux-only), which is always there.
   *
   * @default - only { "kubernetes.io/os": "linux" }
   */
  readonly nodeSelector?: { [key: string]: string };

  /**
   * Taints the server pods tolerate.
   *
   * @default - none
   */
  readonly tolerations?: Toleration[];

  /**
   * Node and pod affinity of the server pods (the replicas are spread over nodes and zones in any case).
   *
   * @default - none
   */
  readonly affinity?: Affinity;

  /**
   * CPU and memory of the server container. Given, it replaces the default entirely.
   *
   * @default - requests 50m CPU and 64Mi memory, a 256Mi memory limit
   */
  readonly resources?: ContainerResources;

  /**
   * More labels on every object and on the server pods (never in selectors).
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * More annotations on the server pods.
   *
   * @default - none
   */
  readonly podAnnotations?: { [key: string]: string };

  /**
   * A NetworkPolicy for the server pods.
   *
   * @default WebhookNetworkPolicy.none()
   */
  readonly networkPolicy?: WebhookNetworkPolicy;

  /**
   * Whether to ship the ValidatingAdmissionPolicies (Kubernetes 1.30+) that limit the webhook's
   * ServiceAccount to changing `caBundle` in its own MutatingWebhookConfiguration, and that let
   * only those who may update that configuration create or change the server code ConfigMap.
   * Set false only on clusters older than 1.30.
   *
   * @default true
   */
  readonly admissionPolicies?: boolean;

  /**
   * Where the serving certificate comes from.
   *
   * @default WebhookTls.selfManaged()
   */
  readonly tls?: WebhookTls;

  /**
   * What the API server does when the webhook is down.
   *
   * @default WebhookFailurePolicy.IGNORE
   */
  readonly failurePolicy?: WebhookFailurePolicy;

  /**
   * How long the API server waits for an answer.
   *
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;

  /**
   * Priority class of the server pods. With a `system-` class outside `kube-system`, a
   * ResourceQuota for that class is created in the namespace: some clusters (GKE among them)
   * admit pods of those classes only where such a quota exists.
   *
   * @default "system-cluster-critical"
   */
  readonly priorityClassName?: string;
}

const TLS_MOUNT = path.posix.dirname(DEFAULT_TLS_CERT);
/** The `node` user of the official image. */
const NODE_UID = 1000;
const DEFAULT_PRIORITY_CLASS = 'system-cluster-critical';
/** What Gatekeeper ships for its own critical pods: far above the replicas and a rollout's surge. */
const CRITICAL_POD_QUOTA = 100;
const PROBE_PERIOD_SECONDS = 5;
/**
 * Liveness must not restart a server that is still starting: self-managed TLS retries for up to
 * SELF_MANAGED_BOOTSTRAP_TIMEOUT_MS before it listens. The startup probe allows that and 30 s more.
 */
const STARTUP_FAILURE_THRESHOLD = Math.ceil((SELF_MANAGED_BOOTSTRAP_TIMEOUT_MS / 1000 + 30) / PROBE_PERIOD_SECONDS);
/** Ports a NetworkPolicy lets the server reach the API server on unless told otherwise. */
const DEFAULT_API_SERVER_PORTS = [443, 6443];

/** The props with their defaults, checked. */
interface CheckedProps {
  readonly tls: WebhookTls;
  readonly replicas: number;
  readonly timeoutSeconds: number;
  readonly port: number;
  readonly metricsPort: number;
  readonly priorityClassName: string;
  readonly createNamespace: boolean;
  readonly podAnnotations: Record<string, string>;
  readonly tolerations?: unknown[];
  readonly affinity?: unknown;
  readonly resources: unknown;
}

/**
 * The cdk8s-shm mutating admission webhook: every pod the API server admits gets a right-sized
 * `/dev/shm`, decided by the same core as `SharedMemory`.
 *
 * Creates the Namespace, ServiceAccount, least-privilege RBAC, the server Deployment (with a
 * PodDisruptionBudget), its Service, the ConfigMap holding the bundled server, the TLS objects and
 * the `MutatingWebhookConfiguration` (Pod CREATE only, `sideEffects: None`,
 * `reinvocationPolicy: IfNeeded`, `failurePolicy: Ignore` by default).
 */
export class SharedMemoryWebhook extends Construct {
  /** Namespace the webhook runs in. */
  public readonly namespace: string;

  /** Name of the Service, Deployment and MutatingWebhookConfiguration. */
  public readonly name: string;

  private readonly extraLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: SharedMemoryWebhookProps = {}) {
    super(scope, id);
    props = props ?? {};
    const subject = `SharedMemoryWebhook '${id}'`;
    // Validate: every prop is checked here, so that no message quotes a server flag the user never wrote.
    this.namespace = props.namespace ?? 'cdk8s-shm';
    this.name = props.name ?? 'cdk8s-shm-webhook';
    const checked = this.checkProps(props, subject);
    this.extraLabels = extraLabels(props.labels, subject, "the webhook's selectors use it");
    const names = this.names();
    const args = this.serverArgs(props, checked, subject);

    // Build.
    const { tls } = checked;
    if (checked.createNamespace) this.addNamespace();
    this.addServiceAccount();
    this.addApiAccess(tls._mode === 'self-managed');
    if (tls._mode === 'self-managed') this.addSelfManagedTls(names.tlsSecret);
    if (tls._mode === 'cert-manager') this.addCertManagerTls(names, tls);
    const quota = priorityClassQuota(this.name, this.namespace, checked.priorityClassName, CRITICAL_POD_QUOTA, this.labels());
    if (quota) new ApiObject(this, 'priority-class-quota', quota);
    const bundle = props.image ? undefined : this.addBundle(names.bundle);
    this.addDeployment({
      ...checked,
      args,
      image: props.image ?? props.nodeImage ?? DEFAULT_NODE_IMAGE,
      bundle,
      bundleConfigMap: names.bundle,
      tlsSecret: tls._mode === 'provided' ? tls._provided!.secretName : tls._mode === 'cert-manager' ? names.tlsSecret : undefined,
      nodeSelector: { 'kubernetes.io/os': 'linux', ...props.nodeSelector },
    });
    this.addService();
    this.addPodDisruptionBudget(checked.replicas);
    const networkPolicy = (props.networkPolicy ?? WebhookNetworkPolicy.none())._options;
    if (networkPolicy) this.addNetworkPolicy(networkPolicy, checked.port, checked.metricsPort, subject);
    const excluded = excludedNamespacesOf(props, subject, [this.namespace, ...(tls._mode === 'cert-manager' ? [tls._certManager?.namespace ?? 'cert-manager'] : [])]);
    this.addWebhookConfiguration({
      tls,
      timeoutSeconds: checked.timeoutSeconds,
      failurePolicy: props.failurePolicy ?? WebhookFailurePolicy.IGNORE,
      namespaceSelection: props.namespaceSelection ?? NamespaceSelection.ALL,
      excluded,
      certificate: names.certificate,
    });
    if (props.admissionPolicies ?? true) {
      const policyNames: AdmissionPolicyNames = { name: this.name, namespace: this.namespace, labels: this.labels() };
      if (tls._mode === 'self-managed') this.addPolicy('ca-bundle-only', caBundleOnlyPolicy(policyNames));
      if (bundle) this.addPolicy('server-code', serverCodePolicy({ ...policyNames, bundleConfigMap: names.bundle }));
    }
  }

  /** The props with their defaults, each checked, with a message naming the prop. */
  private checkProps(props: SharedMemoryWebhookProps, subject: string): CheckedProps {
    const replicas = props.replicas ?? 2;
    const port = props.port ?? DEFAULT_PORT;
    const metricsPort = props.metricsPort ?? DEFAULT_METRICS_PORT;
    const priorityClassName = props.priorityClassName ?? DEFAULT_PRIORITY_CLASS;
    const createNamespace = props.createNamespace ?? true;
    if (!isDns1123Label(this.name) || this.name.length > 52) {
      throw new Error(`'name' (${JSON.stringify(this.name)}) of ${subject} must be a DNS-1123 label of at most 52 characters (lower-case letters, digits, '-')`);
    }
    if (!isDns1123Label(this.namespace)) {
      throw new Error(`'namespace' (${JSON.stringify(this.namespace)}) of ${subject} must be a DNS-1123 label (lower-case letters, digits, '-')`);
    }
    if (createNamespace) checkCreatedNamespace(this.namespace, 'namespace', 'createNamespace', subject);
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`'replicas' (${replicas}) of ${subject} must be a whole number of at least 1`);
    const timeoutSeconds = (props.timeout ?? Duration.seconds(5)).toSeconds();
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) {
      throw new Error(`'timeout' (${timeoutSeconds}s) of ${subject} must be a whole number of seconds from 1 to 30 (the API server's range)`);
    }
    for (const [prop, value] of [['port', port], ['metricsPort', metricsPort]] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${propLabel(prop)} (${value}) of ${subject} must be a port from 1 to 65535`);
    }
    if (port === metricsPort) throw new Error(`'port' and ${propLabel('metricsPort')} of ${subject} are both ${port}: give the metrics port another number`);
    if (props.image !== undefined) checkImageReference(props.image, 'image', subject);
    if (props.nodeImage !== undefined) checkImageReference(props.nodeImage, 'nodeImage', subject);
    if (typeof priorityClassName !== 'string' || (priorityClassName !== '' && !isDns1123Label(priorityClassName.replace(/\./g, '-')))) {
      throw new Error(`${propLabel('priorityClassName')} (${JSON.stringify(priorityClassName)}) of ${subject} must be the name of a PriorityClass`);
    }
    const podAnnotations = { ...props.podAnnotations };
    for (const key of Object.keys(podAnnotations)) {
      if (key === INJECT_ANNOTATION || key === SERVER_CHECKSUM_ANNOTATION) throw new Error(`${propLabel('podAnnotations')} of ${subject} may not set ${key}: the webhook sets it`);
    }
    for (const [key, value] of Object.entries(props.nodeSelector ?? {})) checkLabel(key, value, subject, propLabel('nodeSelector'));
    return {
      tls: props.tls ?? WebhookTls.selfManaged(),
      replicas,
      timeoutSeconds,
      port,
      metricsPort,
      priorityClassName,
      createNamespace,
      podAnnotations,
      tolerations: props.tolerations === undefined ? undefined : renderTolerations(props.tolerations, 'tolerations', subject),
      affinity: props.affinity === undefined ? undefined : renderAffinity(props.affinity, 'affinity', subject),
      resources: props.resources === undefined ? DEFAULT_RESOURCES : renderResources(props.resources, 'resources', subject),
    };
  }

  /** The server's flags, from the contract's table: the policy props, validated as the admission policy validates them. */
  private serverArgs(props: SharedMemoryWebhookProps, checked: CheckedProps, subject: string): string[] {
    const policy = resolvePolicyProps(props, subject).input;
    const { tls, port, metricsPort } = checked;
    const argsInput: WebhookArgsInput = {
      port,
      metricsPort,
      ratio: props.ratio,
      minimum: policy.minimum as string | undefined,
      maximum: policy.maximum as string | undefined,
      podSelection: props.podSelection as WebhookArgsInput['podSelection'],
      podsWithoutLimit: props.podsWithoutLimit?._mode,
      fixedSize: policy.fixedSize as string | undefined,
      sizeUnboundedShm: props.sizeUnboundedShm,
      limitFollows: props.limitFollows,
      resizeVolumes: props.resizeVolumes,
      denyUnsafeShrink: props.denyUnsafeShrink,
      hardenMount: props.hardenMount,
      ...(tls._mode === 'self-managed'
        ? {
          tlsMode: 'self-managed' as const,
          tlsSecret: `${this.namespace}/${this.names().tlsSecret}`,
          webhookConfiguration: this.name,
          service: `${this.name}.${this.namespace}`,
        }
        : { tlsMode: 'files' as const }),
    };
    try {
      return webhookArgs(argsInput);
    } catch (error) {
      // Only a bug of ours gets here (every prop was checked above); say what it was about.
      throw new Error(`${subject}: the server would refuse its arguments (${(error as Error).message})`);
    }
  }

  /** The ConfigMap that holds the bundled server, run by the stock Node image; returns the bundle. */
  private addBundle(name: string): string {
    const bundle = readBundledProgram('webhook.js', 'webhook server', "pass 'image'");
    new ApiObject(this, 'bundle', { apiVersion: 'v1', kind: 'ConfigMap', metadata: this.metadata(name), data: { 'webhook.js': bundle } });
    return bundle;
  }

  private names() {
    return {
      tlsSecret: `${this.name}-tls`,
      bundle: `${this.name}-server`,
      certificate: this.name,
      issuer: `${this.name}-selfsigned`,
      caCertificate: `${this.name}-ca`,
      caIssuer: `${this.name}-ca`,
    };
  }

  /** What selects the server pods. */
  private selector(): Record<string, string> {
    return { 'app.kubernetes.io/name': 'cdk8s-shm-webhook', 'app.kubernetes.io/instance': this.name };
  }

  /** The labels of every object: the selector's and the user's. */
  private labels(): Record<string, string> {
    return { ...this.selector(), ...this.extraLabels };
  }

  private metadata(name: string, namespaced = true) {
    return { name, ...(namespaced ? { namespace: this.namespace } : {}), labels: this.labels() };
  }

  private addPolicy(id: string, objects: PolicyAndBinding): void {
    new ApiObject(this, `${id}-policy`, objects.policy);
    new ApiObject(this, `${id}-policy-binding`, objects.binding);
  }

  private addNetworkPolicy(
    options: WebhookNetworkPolicyOptions, port: number, metricsPort: number, subject: string,
  ): void {
    const cidrs = options.apiServerCidrs ?? [];
    for (const cidr of cidrs) {
      if (typeof cidr !== 'string' || !/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(cidr)) throw new Error(`${propLabel('apiServerCidrs')} of ${subject} holds ${JSON.stringify(cidr)}, which is not a CIDR such as 10.0.0.0/16`);
    }
    const apiServerPorts = options.apiServerPorts ?? DEFAULT_API_SERVER_PORTS;
    for (const p of apiServerPorts) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`${propLabel('apiServerPorts')} of ${subject} holds ${p}, which is not a port from 1 to 65535`);
    }
    const metricsNamespaces = options.metricsNamespaces ?? [];
    for (const namespace of metricsNamespaces) {
      if (!isDns1123Label(namespace)) throw new Error(`${propLabel('metricsNamespaces')} of ${subject} holds ${JSON.stringify(namespace)}, which is not a namespace name`);
    }
    const from = cidrs.length > 0 ? { from: cidrs.map(cidr => ({ ipBlock: { cidr } })) } : {};
    const ingress: unknown[] = [{ ...from, ports: [{ port, protocol: 'TCP' }] }];
    if (metricsNamespaces.length > 0) {
      ingress.push({
        from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: metricsNamespaces }] } }],
        ports: [{ port: metricsPort, protocol: 'TCP' }],
      });
    }
    const to = cidrs.length > 0 ? { to: cidrs.map(cidr => ({ ipBlock: { cidr } })) } : {};
    new ApiObject(this, 'network-policy', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: this.metadata(this.name),
      spec: {
        podSelector: { matchLabels: this.selector() },
        policyTypes: ['Ingress', 'Egress'],
        ingress,
        // The server talks to the API server alone (limitFollows' lists, self-managed TLS), by address (no DNS).
        egress: [{ ...to, ports: apiServerPorts.map(p => ({ port: p, protocol: 'TCP' })) }],
      },
    });
  }

  private addNamespace(): void {
    new ApiObject(this, 'namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: this.namespace,
        labels: {
          ...this.labels(),
          // The server needs nothing beyond `restricted`; enforce it.
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    });
  }

  private addServiceAccount(): void {
    new ApiObject(this, 'service-account', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: this.metadata(this.name),
      // Every server reads LimitRanges and ResourceQuotas for limitFollows (any pod may ask for it by annotation).
      automountServiceAccountToken: true,
    });
  }

  /**
   * What the server may read and write cluster-wide: the LimitRanges and ResourceQuotas of a pod's
   * namespace before it grows a limit (limitFollows; `get` and `list`, nothing secret), and in
   * self-managed TLS mode its own webhook configuration's caBundle.
   */
  private addApiAccess(selfManaged: boolean): void {
    new ApiObject(this, 'cluster-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: this.metadata(this.name, false),
      rules: [
        { apiGroups: [''], resources: ['limitranges', 'resourcequotas'], verbs: ['get', 'list'] },
        ...(selfManaged ? [{
          apiGroups: ['admissionregistration.k8s.io'],
          resources: ['mutatingwebhookconfigurations'],
          resourceNames: [this.name],
          verbs: ['get', 'patch'],
        }] : []),
      ],
    });
    new ApiObject(this, 'cluster-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: this.metadata(this.name, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }],
    });
  }

  /**
   * The Secret is created empty here because RBAC cannot limit `create` to a name; the server only
   * needs `get` and `update` on this one Secret (and `get`/`patch` on its own webhook configuration, `addApiAccess`).
   */
  private addSelfManagedTls(secretName: string): void {
    new ApiObject(this, 'tls-secret', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: this.metadata(secretName),
      type: 'Opaque',
    });
    new ApiObject(this, 'role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: this.metadata(this.name),
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get', 'update'] }],
    });
    new ApiObject(this, 'role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: this.metadata(this.name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }],
    });
  }

  /**
   * cert-manager issues the serving certificate from a CA of our own (or from the user's issuer),
   * as cert-manager documents for webhooks: a self-signed Issuer makes the CA Certificate, a CA
   * Issuer signs the serving one. `caBundle` is the CA, which outlives many serving certificates,
   * so a rotation of the serving certificate never changes `caBundle` at the same moment. The CA
   * keeps its key when it renews, so certificates it signed before stay trusted.
   */
  private addCertManagerTls(names: ReturnType<SharedMemoryWebhook['names']>, tls: WebhookTls): void {
    const options = tls._certManager ?? {};
    let issuerRef = { name: options.issuerName ?? names.caIssuer, kind: options.issuerKind ?? 'Issuer' };
    if (!options.issuerName) {
      new ApiObject(this, 'issuer', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Issuer',
        metadata: this.metadata(names.issuer),
        spec: { selfSigned: {} },
      });
      new ApiObject(this, 'ca-certificate', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: this.metadata(names.caCertificate),
        spec: {
          isCA: true,
          commonName: names.caCertificate,
          secretName: names.caCertificate,
          issuerRef: { name: names.issuer, kind: 'Issuer' },
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
          duration: '87600h',
          renewBefore: '720h',
        },
      });
      new ApiObject(this, 'ca-issuer', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Issuer',
        metadata: this.metadata(names.caIssuer),
        spec: { ca: { secretName: names.caCertificate } },
      });
    }
    new ApiObject(this, 'certificate', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: this.metadata(names.certificate),
      spec: {
        secretName: names.tlsSecret,
        dnsNames: [`${this.name}.${this.namespace}.svc`, `${this.name}.${this.namespace}.svc.cluster.local`],
        issuerRef,
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        duration: '2160h',
        renewBefore: '360h',
      },
    });
  }

  private addDeployment(spec: DeploymentSpec): void {
    const selector = this.selector();
    const volumes: unknown[] = [];
    const mounts: unknown[] = [];
    if (spec.bundle !== undefined) {
      volumes.push({ name: 'server', configMap: { name: spec.bundleConfigMap } });
      mounts.push({ name: 'server', mountPath: BUNDLE_MOUNT, readOnly: true });
    }
    if (spec.tlsSecret !== undefined) {
      volumes.push({ name: 'tls', secret: { secretName: spec.tlsSecret } });
      mounts.push({ name: 'tls', mountPath: TLS_MOUNT, readOnly: true });
    }
    new ApiObject(this, 'deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: this.metadata(this.name),
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels: this.labels(),
            annotations: {
              ...spec.podAnnotations,
              // A new server bundle must roll the pods; the ConfigMap alone would not.
              ...(spec.bundle !== undefined ? { [SERVER_CHECKSUM_ANNOTATION]: sha256(spec.bundle) } : {}),
              // The webhook must never inject into itself (its namespace is excluded too).
              [INJECT_ANNOTATION]: 'false',
            },
          },
          spec: {
            serviceAccountName: this.name,
            priorityClassName: spec.priorityClassName,
            nodeSelector: spec.nodeSelector,
            ...(spec.tolerations && spec.tolerations.length > 0 ? { tolerations: spec.tolerations } : {}),
            ...(spec.affinity ? { affinity: spec.affinity } : {}),
            securityContext: {
              runAsNonRoot: true,
              runAsUser: NODE_UID,
              runAsGroup: NODE_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            topologySpreadConstraints: spreadConstraints(selector),
            // Longer than the server's drain, so in-flight reviews finish before SIGKILL.
            terminationGracePeriodSeconds: 30,
            containers: [serverContainer(spec, mounts)],
            volumes,
          },
        },
      },
    });
  }

  private addService(): void {
    new ApiObject(this, 'service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: this.metadata(this.name),
      spec: {
        selector: this.selector(),
        ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }],
      },
    });
  }

  private addPodDisruptionBudget(replicas: number): void {
    new ApiObject(this, 'pdb', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: this.metadata(this.name),
      spec: {
        // With one replica a drain must still be possible; with more, keep one serving.
        ...(replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
        selector: { matchLabels: this.selector() },
        // A crash-looping replica must not block node drains: it serves nothing anyway.
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    });
  }

  private addWebhookConfiguration(spec: WebhookConfigurationSpec): void {
    const annotations: Record<string, string> = spec.tls._mode === 'cert-manager'
      ? { 'cert-manager.io/inject-ca-from': `${this.namespace}/${spec.certificate}` }
      : {};
    const namespaceSelector = namespaceSelectorOf(spec.excluded, spec.namespaceSelection === NamespaceSelection.OPT_IN);
    new ApiObject(this, 'webhook-configuration', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: this.name, labels: this.labels(), ...(Object.keys(annotations).length ? { annotations } : {}) },
      webhooks: [{
        name: 'pods.cdk8s-shm.io',
        admissionReviewVersions: ['v1'],
        clientConfig: {
          service: { name: this.name, namespace: this.namespace, path: '/mutate', port: 443 },
          ...(spec.tls._mode === 'provided' ? { caBundle: spec.tls._caBundleBase64 } : {}),
        },
        // pods/resize: a running pod's new limits, whose /dev/shm the server follows, warns about or refuses (review-resize.ts).
        rules: [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
          { operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/resize'], scope: 'Namespaced' },
        ],
        namespaceSelector,
        // Mirror pods (static pods) carry this label only through their annotation; the server skips them too.
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        reinvocationPolicy: 'IfNeeded',
        failurePolicy: spec.failurePolicy,
        timeoutSeconds: spec.timeoutSeconds,
      }],
    });
  }
}

interface DeploymentSpec {
  readonly replicas: number;
  readonly args: string[];
  readonly port: number;
  readonly metricsPort: number;
  readonly image: string;
  readonly bundle?: string;
  readonly bundleConfigMap: string;
  readonly tlsSecret?: string;
  readonly priorityClassName: string;
  readonly nodeSelector: Record<string, string>;
  readonly tolerations?: unknown[];
  readonly affinity?: unknown;
  readonly resources: unknown;
  readonly podAnnotations: Record<string, string>;
}

/**
 * Normal traffic needs far less, but a burst of hostile bodies at the body limit pinned up to
 * 180 MiB in the fuzz runs, and 1,000 open connections (the server's cap) take about 40 MiB more
 * (test/reliability): the limit must not kill the server then.
 */
const DEFAULT_RESOURCES = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } };

interface WebhookConfigurationSpec {
  readonly tls: WebhookTls;
  readonly timeoutSeconds: number;
  readonly failurePolicy: WebhookFailurePolicy;
  readonly namespaceSelection: NamespaceSelection;
  readonly excluded: string[];
  readonly certificate: string;
}

/**
 * Replicas on different nodes while another schedulable node could take one (nodes whose taints
 * the pods do not tolerate are not counted), and in different zones where there are any.
 */
function spreadConstraints(selector: Record<string, string>): unknown[] {
  const spread = (topologyKey: string, whenUnsatisfiable: string, extra: Record<string, unknown> = {}) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
    labelSelector: { matchLabels: selector },
    // Spread each revision on its own: during a rollout the old pods must not count.
    matchLabelKeys: ['pod-template-hash'],
    ...extra,
  });
  return [
    spread('kubernetes.io/hostname', 'DoNotSchedule', { nodeTaintsPolicy: 'Honor' }),
    // A cluster without zone labels schedules anyway.
    spread('topology.kubernetes.io/zone', 'ScheduleAnyway'),
  ];
}

/** The server's container: the bundle run by node (or the user's image), its probes, its locked-down context. */
function serverContainer(spec: DeploymentSpec, mounts: unknown[]): Record<string, unknown> {
  const probe = (probePath: string, period: number, failureThreshold = 3) => ({
    httpGet: { path: probePath, port: 'https', scheme: 'HTTPS' },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold,
  });
  return {
    name: 'webhook',
    image: spec.image,
    ...(spec.bundle !== undefined ? { command: ['node', `${BUNDLE_MOUNT}/webhook.js`] } : {}),
    args: spec.args,
    ports: [
      { name: 'https', containerPort: spec.port, protocol: 'TCP' },
      { name: 'metrics', containerPort: spec.metricsPort, protocol: 'TCP' },
    ],
    // Self-managed TLS may retry for two minutes before the server listens.
    startupProbe: probe('/healthz', PROBE_PERIOD_SECONDS, STARTUP_FAILURE_THRESHOLD),
    readinessProbe: probe('/readyz', PROBE_PERIOD_SECONDS),
    // Endpoint removal takes a moment to reach every API server; keep serving meanwhile,
    // then SIGTERM makes the server drain what is in flight.
    lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
    livenessProbe: probe('/healthz', 10),
    resources: spec.resources,
    env: [{ name: 'NODE_OPTIONS', value: WEBHOOK_NODE_FLAGS.join(' ') }],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: mounts,
  };
}
