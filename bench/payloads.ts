/**
 * The AdmissionReviews the load generator posts: a pod as a ReplicaSet controller creates it
 * (about 5 KB on the wire, the common case) and a large one (many containers, long env lists, the
 * kind of pod an ML training job or a mesh-injected monolith produces).
 *
 * Both pods have memory limits on every container, so the webhook takes its full path: plan, patch,
 * base64, a log line. A pod it skips early would flatter it.
 */

/** A payload ready to post, with what it is. */
export interface Payload {
  readonly name: string;
  readonly description: string;
  /** The exact body posted. */
  readonly body: string;
  readonly bytes: number;
}

interface ContainerShape {
  readonly name: string;
  readonly image: string;
  readonly envCount: number;
  readonly memoryLimit: string;
  readonly cpu: string;
  readonly ports?: number[];
  readonly probes?: boolean;
  readonly restartPolicy?: 'Always';
}

const APP = 'checkout-api';
const HASH = '7d9f8b6c5d';
const NAMESPACE = 'shop-prod';

/** An env list as real charts write them: plain values, ConfigMap and Secret references, the downward API. */
function envList(count: number, prefix: string): unknown[] {
  const env: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}_SETTING_${String(i).padStart(3, '0')}`;
    switch (i % 5) {
      case 0:
        env.push({ name, valueFrom: { configMapKeyRef: { name: `${APP}-config`, key: name.toLowerCase().replace(/_/g, '-') } } });
        break;
      case 1:
        env.push({ name, valueFrom: { secretKeyRef: { name: `${APP}-secrets`, key: name.toLowerCase().replace(/_/g, '-'), optional: false } } });
        break;
      case 2:
        env.push({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } });
        break;
      default:
        env.push({ name, value: `https://svc-${i}.${NAMESPACE}.svc.cluster.local:8443/api/v${i % 3 + 1}` });
    }
  }
  return env;
}

function container(shape: ContainerShape): Record<string, unknown> {
  const ports = shape.ports ?? [];
  return {
    name: shape.name,
    image: shape.image,
    imagePullPolicy: 'IfNotPresent',
    ...(shape.restartPolicy ? { restartPolicy: shape.restartPolicy } : {}),
    args: ['--config=/etc/app/config.yaml', '--log-format=json', `--metrics-port=${ports[1] ?? 9090}`],
    ports: ports.map((port, i) => ({ name: i === 0 ? 'http' : `port-${i}`, containerPort: port, protocol: 'TCP' })),
    env: envList(shape.envCount, shape.name.toUpperCase().replace(/-/g, '_')),
    resources: {
      limits: { cpu: shape.cpu, memory: shape.memoryLimit },
      requests: { cpu: shape.cpu, memory: shape.memoryLimit },
    },
    ...(shape.probes ? {
      livenessProbe: { httpGet: { path: '/healthz', port: ports[0], scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/readyz', port: ports[0], scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
    } : {}),
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
  };
}

function pod(containers: ContainerShape[], initContainers: ContainerShape[]): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${APP}-${HASH}-`,
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/instance': `${APP}-prod`, 'app.kubernetes.io/version': '4.12.0', 'pod-template-hash': HASH },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'kubectl.kubernetes.io/restartedAt': '2025-10-02T09:14:55Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${APP}-${HASH}`, uid: '5f0c7b8e-3c1a-4b7e-9a43-0d6f2e1c9b77', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      ...(initContainers.length > 0 ? { initContainers: initContainers.map(container) } : {}),
      containers: containers.map(container),
      volumes: [
        { name: 'config', configMap: { name: `${APP}-config`, defaultMode: 420 } },
        { name: 'tmp', emptyDir: {} },
        {
          name: 'kube-api-access-x7k2p',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: APP,
      serviceAccount: APP,
      securityContext: { fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
}

function review(object: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0df28fbd-5f5f-11e8-bc74-36e6bb280816',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: NAMESPACE,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'a7e3f6d2-11c4-4f0e-8a2b-6c9d0e1f2a3b',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

function payload(name: string, description: string, object: Record<string, unknown>): Payload {
  const body = JSON.stringify(review(object));
  return { name, description, body, bytes: Buffer.byteLength(body) };
}

/** A web service pod with a proxy sidecar: about 5 KB. */
export function typicalPayload(): Payload {
  return payload('typical', 'app + proxy sidecar, 8 env vars, probes, 3 volumes', pod([
    { name: 'api', image: 'registry.example.com/shop/checkout-api:4.12.0', envCount: 6, memoryLimit: '1Gi', cpu: '500m', ports: [8080, 9090], probes: true },
    { name: 'proxy', image: 'registry.example.com/mesh/proxy:1.22.3', envCount: 2, memoryLimit: '256Mi', cpu: '100m', ports: [15001, 15090] },
  ], []));
}

/** Twelve app containers, two init containers and a sidecar, 120 env vars each. */
export function largePayload(): Payload {
  const containers: ContainerShape[] = [];
  for (let i = 0; i < 12; i++) {
    containers.push({ name: `worker-${i}`, image: `registry.example.com/ml/trainer:2.4.${i}`, envCount: 120, memoryLimit: '8Gi', cpu: '2', ports: [8000 + i, 9000 + i], probes: true });
  }
  const init: ContainerShape[] = [
    { name: 'fetch-model', image: 'registry.example.com/ml/fetch:1.0.0', envCount: 120, memoryLimit: '512Mi', cpu: '250m' },
    { name: 'migrate', image: 'registry.example.com/ml/migrate:1.0.0', envCount: 120, memoryLimit: '512Mi', cpu: '250m' },
    { name: 'log-shipper', image: 'registry.example.com/obs/shipper:3.1.0', envCount: 120, memoryLimit: '256Mi', cpu: '100m', restartPolicy: 'Always' },
  ];
  return payload('large', '12 containers + 2 init + 1 sidecar, 120 env vars each', pod(containers, init));
}
