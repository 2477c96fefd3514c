/**
 * The value sets the chart is tested with, in one place: test/chart/chart.test.ts renders each with
 * `helm template` and compares it with the constructs, and the e2e suite applies each to a real API
 * server. A value set added here is checked both ways.
 */
export interface ChartValueSet {
  /** `--set` pairs. */
  readonly sets: readonly string[];
  /** More helm arguments (e.g. `--set-string`). */
  readonly extra?: readonly string[];
}

/** A PEM-shaped CA for `tls.mode=provided` (the chart only carries it into `caBundle`). */
export const PROVIDED_CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

export const CHART_VALUE_SETS = {
  defaults: { sets: [] },
  certManager: { sets: ['tls.mode=cert-manager'] },
  certManagerOptInPolicy: {
    sets: [
      'tls.mode=cert-manager', 'webhook.replicas=1', 'webhook.namespaceSelection=opt-in', 'webhook.excludedNamespaces={monitoring,kube-system}',
      'policy.ratio=0.25', 'policy.minimum=256Mi', 'policy.maximum=8Gi', 'policy.podSelection=opt-in', 'webhook.failurePolicy=Fail', 'webhook.timeoutSeconds=3',
      'namespace.create=true',
    ],
  },
  certManagerClusterIssuer: { sets: ['tls.mode=cert-manager', 'tls.certManager.issuerName=letsencrypt', 'tls.certManager.issuerKind=ClusterIssuer'] },
  provided: { sets: ['tls.mode=provided', 'tls.provided.secretName=my-tls'], extra: ['--set-string', `tls.provided.caBundle=${PROVIDED_CA_PEM}`] },
  ownImageFixedSize: { sets: ['webhook.replicas=3', 'webhook.image=registry.example.com/cdk8s-shm-webhook:1.0.0', 'policy.podsWithoutLimit=fixed', 'policy.fixedSize=1Gi'] },
  agent: { sets: ['agent.enabled=true', 'agent.image=registry.example.com/agent:1.0.0', 'agent.command={/agent,--serve}', 'agent.domain.sizeMebibytes=512'] },
  agentLint: { sets: ['agent.enabled=true', 'agent.image=registry.example.com/agent:1.0.0'] },
  agentSystemV: { sets: ['agent.enabled=true', 'agent.image=a:1', 'agent.systemV=true', 'agent.placement=all-nodes'] },
  agentHostPath: { sets: ['agent.enabled=true', 'agent.image=a:1', 'agent.delivery=host-path', 'agent.domain.sizeMebibytes=512'] },
  agentTenants: { sets: ['agent.enabled=true', 'agent.image=a:1', 'agent.tenants={shop,ml/trainer}', 'agent.nodeImage=n:2', 'agent.kubeletDir=/var/lib/k0s/kubelet'] },
  policy: { sets: ['wayIn=policy'] },
  policyOptIn: {
    sets: [
      'wayIn=policy', 'policy.ratio=0.25', 'policy.minimum=256Mi', 'policy.maximum=8Gi', 'policy.podSelection=opt-in', 'policy.podsWithoutLimit=deny',
      'webhook.namespaceSelection=opt-in', 'webhook.excludedNamespaces={monitoring,kube-system}', 'webhook.labels.team=platform',
    ],
  },
  policyFixedSize: { sets: ['wayIn=policy', 'policy.podsWithoutLimit=fixed', 'policy.fixedSize=1Gi', 'policy.sizeUnboundedShm=true'] },
} satisfies Record<string, ChartValueSet>;
