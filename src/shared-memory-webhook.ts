import * as path from 'path';
import { ApiObject, Duration, Size } from 'cdk8s';
import { Construct } from 'constructs';
import { BUNDLE_MOUNT, DEFAULT_NODE_IMAGE, readBundledProgram, sha256 } from './bundled-program';
import { INJECT_ANNOTATION, PolicyInput, resolvePolicy } from './core';
import { DEFAULT_PORT, DEFAULT_TLS_CERT, WEBHOOK_NODE_FLAGS, WebhookArgsInput, webhookArgs } from './webhook/options';
import { WebhookTls } from './webhook-tls';

/**
 * Which pods the webhook gives a `/dev/shm`.
 */
export enum PodSelection {
  /** Every pod, unless annotated `cdk8s-shm.io/inject: "false"`. */
  OPT_OUT = 'opt-out',
  /** Only pods annotated `cdk8s-shm.io/inject: "true"`. */
  OPT_IN = 'opt-in',
}

/**
 * Which namespaces the API server sends to the webhook (`kube-system` and the webhook's own never).
 */
export enum NamespaceSelection {
  /** Every namespace. */
  ALL = 'all',
  /** Only namespaces labelled `cdk8s-shm.io/inject: enabled`. */
  OPT_IN = 'opt-in',
}

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
 * What the webhook does with a pod that has no memory limit and asks for no explicit size.
 */
export class PodsWithoutLimit {
  /** Leave the pod as it is and send a warning back to the client. */
  public static skip(): PodsWithoutLimit {
    return new PodsWithoutLimit('skip');
  }

  /** Refuse the pod with a message asking for a memory limit. */
  public static deny(): PodsWithoutLimit {
    return new PodsWithoutLimit('deny');
  }

  /** Give the pod a fixed `/dev/shm` size. */
  public static fixedSize(size: Size): PodsWithoutLimit {
    return new PodsWithoutLimit('fixed', size);
  }

  private constructor(
    /** @internal */ public readonly _mode: 'skip' | 'deny' | 'fixed',
    /** @internal */ public readonly _size?: Size,
  ) {}
}

/**
 * Properties for `SharedMemoryWebhook`.
 */
export interface SharedMemoryWebhookProps {
  /**
   * Namespace the webhook runs in.
   *
   * @default "cdk8s-shm"
   */
  readonly namespace?: string;

  /**
   * Whether to create the namespace (labelled for the `restricted` Pod Security Standard).
   *
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * Base name of every object.
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
   * server's flags as arguments.
   *
   * @default - the pinned official Node.js image runs the server bundled in this package, from a ConfigMap
   */
  readonly image?: string;

  /**
   * The Node.js image that runs the bundled server when `image` is not given.
   *
   * @default "docker.io/library/node:22.12.0-alpine3.21"
   */
  readonly nodeImage?: string;

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
   * Which namespaces are sent to the webhook.
   *
   * @default NamespaceSelection.ALL
   */
  readonly namespaceSelection?: NamespaceSelection;

  /**
   * More namespaces never sent to the webhook (beyond `kube-system` and the webhook's own).
   *
   * @default - none
   */
  readonly excludedNamespaces?: string[];

  /**
   * Which pods get a `/dev/shm`.
   *
   * @default PodSelection.OPT_OUT
   */
  readonly podSelection?: PodSelection;

  /**
   * Share of the basis (the largest memory limit among the containers that write `/dev/shm`)
   * given to `/dev/shm`, greater than 0 and at most 1.
   *
   * @default 0.5
   */
  readonly ratio?: number;

  /**
   * Smallest size a ratio-derived `/dev/shm` may have (never above the pod memory limit).
   *
   * @default - no minimum
   */
  readonly minimum?: Size;

  /**
   * Largest size a ratio-derived `/dev/shm` may have.
   *
   * @default - no maximum
   */
  readonly maximum?: Size;

  /**
   * What to do with pods without a memory limit.
   *
   * @default PodsWithoutLimit.skip()
   */
  readonly podsWithoutLimit?: PodsWithoutLimit;

  /**
   * Whether a pod's own `/dev/shm`, a memory-backed emptyDir without `sizeLimit` (as large as the
   * node, kubernetes#125852), is sized by the same rule from the containers that mount it.
   *
   * @default false - such pods are admitted unchanged, with a warning
   */
  readonly sizeUnboundedShm?: boolean;

  /**
   * Priority class of the server pods.
   *
   * @default "system-cluster-critical"
   */
  readonly priorityClassName?: string;
}

const TLS_MOUNT = path.posix.dirname(DEFAULT_TLS_CERT);
/** The `node` user of the official image. */
const NODE_UID = 1000;

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

  constructor(scope: Construct, id: string, props: SharedMemoryWebhookProps = {}) {
    super(scope, id);
    this.namespace = props.namespace ?? 'cdk8s-shm';
    this.name = props.name ?? 'cdk8s-shm-webhook';
    const tls = props.tls ?? WebhookTls.selfManaged();
    const replicas = props.replicas ?? 2;
    const timeout = props.timeout ?? Duration.seconds(5);
    const subject = `SharedMemoryWebhook '${id}'`;

    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`'replicas' (${replicas}) of ${subject} must be a whole number of at least 1`);
    const timeoutSeconds = timeout.toSeconds();
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) {
      throw new Error(`'timeout' (${timeoutSeconds}s) of ${subject} must be a whole number of seconds from 1 to 30 (the API server's range)`);
    }
    if (tls._mode === 'provided' && !tls._provided!.caBundle.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error(`'caBundle' of ${subject} must be a PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }

    const policy: PolicyInput = {
      ratio: props.ratio,
      minimum: props.minimum?.asString(),
      maximum: props.maximum?.asString(),
      selection: props.podSelection,
      withoutLimit: props.podsWithoutLimit?._mode,
      fixedSize: props.podsWithoutLimit?._size?.asString(),
      sizeUnboundedShm: props.sizeUnboundedShm,
    };
    try {
      resolvePolicy(policy);
    } catch (error) {
      throw new Error(`${(error as Error).message} in ${subject}`);
    }

    const names = this.names();
    const argsInput: WebhookArgsInput = {
      port: DEFAULT_PORT,
      ratio: props.ratio,
      minimum: policy.minimum as string | undefined,
      maximum: policy.maximum as string | undefined,
      selection: props.podSelection as WebhookArgsInput['selection'],
      withoutLimit: props.podsWithoutLimit?._mode,
      fixedSize: policy.fixedSize as string | undefined,
      sizeUnboundedShm: props.sizeUnboundedShm,
      ...(tls._mode === 'self-managed'
        ? {
          tlsMode: 'self-managed' as const,
          tlsSecret: `${this.namespace}/${names.tlsSecret}`,
          webhookConfiguration: this.name,
          service: `${this.name}.${this.namespace}`,
        }
        : { tlsMode: 'files' as const }),
    };
    const args = webhookArgs(argsInput);

    if (props.createNamespace ?? true) this.addNamespace();
    this.addServiceAccount(tls._mode === 'self-managed');
    if (tls._mode === 'self-managed') this.addSelfManagedTls(names.tlsSecret);
    if (tls._mode === 'cert-manager') this.addCertManagerTls(names, tls);

    const bundle = props.image ? undefined : readBundledProgram('webhook.js', 'webhook server', "pass 'image'");
    if (bundle) {
      new ApiObject(this, 'bundle', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: names.bundle, namespace: this.namespace, labels: this.labels() },
        data: { 'webhook.js': bundle },
      });
    }
    const tlsSecretToMount = tls._mode === 'provided' ? tls._provided!.secretName : tls._mode === 'cert-manager' ? names.tlsSecret : undefined;
    this.addDeployment({
      replicas,
      args,
      image: props.image ?? props.nodeImage ?? DEFAULT_NODE_IMAGE,
      bundle,
      bundleConfigMap: names.bundle,
      tlsSecret: tlsSecretToMount,
      priorityClassName: props.priorityClassName ?? 'system-cluster-critical',
    });
    this.addService();
    this.addPodDisruptionBudget(replicas);
    this.addWebhookConfiguration({
      tls,
      timeoutSeconds,
      failurePolicy: props.failurePolicy ?? WebhookFailurePolicy.IGNORE,
      namespaceSelection: props.namespaceSelection ?? NamespaceSelection.ALL,
      excluded: [...new Set(['kube-system', this.namespace, ...(props.excludedNamespaces ?? [])])],
      certificate: names.certificate,
    });
  }

  private names() {
    return {
      tlsSecret: `${this.name}-tls`,
      bundle: `${this.name}-server`,
      certificate: this.name,
      issuer: `${this.name}-selfsigned`,
    };
  }

  private labels(): Record<string, string> {
    return { 'app.kubernetes.io/name': 'cdk8s-shm-webhook', 'app.kubernetes.io/instance': this.name };
  }

  private metadata(name: string, namespaced = true) {
    return { name, ...(namespaced ? { namespace: this.namespace } : {}), labels: this.labels() };
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

  private addServiceAccount(needsApiAccess: boolean): void {
    new ApiObject(this, 'service-account', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: this.metadata(this.name),
      // Only the self-managed TLS mode talks to the API server.
      automountServiceAccountToken: needsApiAccess,
    });
  }

  /**
   * The Secret is created empty here because RBAC cannot limit `create` to a name; the server only
   * needs `get` and `update` on this one Secret, and `get`/`patch` on its own webhook configuration.
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
    new ApiObject(this, 'cluster-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: this.metadata(this.name, false),
      rules: [{
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: [this.name],
        verbs: ['get', 'patch'],
      }],
    });
    new ApiObject(this, 'cluster-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: this.metadata(this.name, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }],
    });
  }

  private addCertManagerTls(names: ReturnType<SharedMemoryWebhook['names']>, tls: WebhookTls): void {
    const options = tls._certManager ?? {};
    let issuerRef = { name: options.issuerName ?? names.issuer, kind: options.issuerKind ?? 'Issuer' };
    if (!options.issuerName) {
      new ApiObject(this, 'issuer', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Issuer',
        metadata: this.metadata(names.issuer),
        spec: { selfSigned: {} },
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
    const selector = this.labels();
    const volumes: unknown[] = [];
    const mounts: unknown[] = [];
    let command: string[] | undefined;
    if (spec.bundle !== undefined) {
      volumes.push({ name: 'server', configMap: { name: spec.bundleConfigMap } });
      mounts.push({ name: 'server', mountPath: BUNDLE_MOUNT, readOnly: true });
      command = ['node', `${BUNDLE_MOUNT}/webhook.js`];
    }
    if (spec.tlsSecret !== undefined) {
      volumes.push({ name: 'tls', secret: { secretName: spec.tlsSecret } });
      mounts.push({ name: 'tls', mountPath: TLS_MOUNT, readOnly: true });
    }
    const probe = (probePath: string, period: number) => ({
      httpGet: { path: probePath, port: 'https', scheme: 'HTTPS' },
      periodSeconds: period,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
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
            labels: selector,
            annotations: {
              // A new server bundle must roll the pods; the ConfigMap alone would not.
              ...(spec.bundle !== undefined ? { 'cdk8s-shm.io/server-checksum': sha256(spec.bundle) } : {}),
              // The webhook must never inject into itself (its namespace is excluded too).
              [INJECT_ANNOTATION]: 'false',
            },
          },
          spec: {
            serviceAccountName: this.name,
            priorityClassName: spec.priorityClassName,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: NODE_UID,
              runAsGroup: NODE_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            topologySpreadConstraints: [{
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            }],
            // Longer than the server's drain, so in-flight reviews finish before SIGKILL.
            terminationGracePeriodSeconds: 30,
            containers: [{
              name: 'webhook',
              image: spec.image,
              ...(command ? { command } : {}),
              args: spec.args,
              ports: [{ name: 'https', containerPort: DEFAULT_PORT, protocol: 'TCP' }],
              readinessProbe: probe('/readyz', 5),
              // Endpoint removal takes a moment to reach every API server; keep serving meanwhile,
              // then SIGTERM makes the server drain what is in flight.
              lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
              livenessProbe: probe('/healthz', 10),
              resources: {
                requests: { cpu: '50m', memory: '64Mi' },
                // Normal traffic needs far less, but a burst of hostile bodies at the body limit pinned
                // up to 180 MiB in the fuzz runs (test/reliability): the limit must not kill the server then.
                limits: { memory: '256Mi' },
              },
              env: [{ name: 'NODE_OPTIONS', value: WEBHOOK_NODE_FLAGS.join(' ') }],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: mounts,
            }],
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
        selector: this.labels(),
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
        selector: { matchLabels: this.labels() },
      },
    });
  }

  private addWebhookConfiguration(spec: WebhookConfigurationSpec): void {
    const annotations: Record<string, string> = spec.tls._mode === 'cert-manager'
      ? { 'cert-manager.io/inject-ca-from': `${this.namespace}/${spec.certificate}` }
      : {};
    const namespaceSelector = {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: spec.excluded },
        ...(spec.namespaceSelection === NamespaceSelection.OPT_IN
          ? [{ key: INJECT_ANNOTATION, operator: 'In', values: ['enabled'] }]
          : []),
      ],
    };
    new ApiObject(this, 'webhook-configuration', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: this.name, labels: this.labels(), ...(Object.keys(annotations).length ? { annotations } : {}) },
      webhooks: [{
        name: 'pods.cdk8s-shm.io',
        admissionReviewVersions: ['v1'],
        clientConfig: {
          service: { name: this.name, namespace: this.namespace, path: '/mutate', port: 443 },
          ...(spec.tls._mode === 'provided' ? { caBundle: Buffer.from(spec.tls._provided!.caBundle).toString('base64') } : {}),
        },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
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
  readonly image: string;
  readonly bundle?: string;
  readonly bundleConfigMap: string;
  readonly tlsSecret?: string;
  readonly priorityClassName: string;
}

interface WebhookConfigurationSpec {
  readonly tls: WebhookTls;
  readonly timeoutSeconds: number;
  readonly failurePolicy: WebhookFailurePolicy;
  readonly namespaceSelection: NamespaceSelection;
  readonly excluded: string[];
  readonly certificate: string;
}

