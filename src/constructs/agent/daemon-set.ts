/**
 * The agent DaemonSet's spec, as Kubernetes JSON. Pure: the construct hands in what it decided.
 *
 * It renders what cdk8s-plus-28 rendered for the same agent, field for field, pod defaults
 * included (`dnsPolicy`, `restartPolicy`, the pod security context, ...): a new version of this
 * package must not change the pod template of agents already running, or every node's agent pod
 * would restart on upgrade, and the selector (immutable in a DaemonSet) must stay what it was.
 */
import { INJECT_ANNOTATION } from '../../core';

/** The label cdk8s-plus selects its pods by; its value is the workload's construct address. */
export const ADDRESS_LABEL = 'cdk8s.io/metadata.addr';

export interface AgentPodSpec {
  /** `Names.toLabelValue()` of the DaemonSet construct. */
  readonly address: string;
  readonly containers: readonly Record<string, unknown>[];
  readonly initContainers: readonly Record<string, unknown>[];
  readonly volumes: readonly Record<string, unknown>[];
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken: boolean;
  readonly priorityClassName: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Record<string, unknown>[];
  readonly hostIPC: boolean;
}

export function agentDaemonSetSpec(spec: AgentPodSpec): Record<string, unknown> {
  const labels = { [ADDRESS_LABEL]: spec.address };
  return {
    minReadySeconds: 0,
    selector: { matchLabels: labels },
    template: {
      // The agent's shared memory is its domain: the webhook and the CLI leave its pods alone.
      metadata: { labels, annotations: { [INJECT_ANNOTATION]: 'false' } },
      spec: {
        automountServiceAccountToken: spec.automountServiceAccountToken,
        containers: spec.containers,
        ...(spec.initContainers.length > 0 ? { initContainers: spec.initContainers } : {}),
        dnsPolicy: 'ClusterFirst',
        hostNetwork: false,
        ...(spec.hostIPC ? { hostIPC: true } : {}),
        nodeSelector: { ...spec.nodeSelector },
        priorityClassName: spec.priorityClassName,
        restartPolicy: 'Always',
        securityContext: { fsGroupChangePolicy: 'Always', runAsNonRoot: true },
        ...(spec.serviceAccountName !== undefined ? { serviceAccountName: spec.serviceAccountName } : {}),
        setHostnameAsFQDN: false,
        terminationGracePeriodSeconds: 30,
        ...(spec.tolerations.length > 0 ? { tolerations: spec.tolerations } : {}),
        volumes: spec.volumes,
      },
    },
    // One node at a time; no surge, so two agents never run side by side on one domain.
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
  };
}
