/**
 * The workloads the real node's experiments run: a Deployment of one replica around a pod spec, and
 * the application of the limit and resize experiments (one container, `app`, with a memory limit
 * and nothing else; the test gives it its script through `forNode`).
 */

/** A Deployment of one replica of `podSpec`, its pods labelled `app: name`. */
export function deployment(name: string, namespace: string, podSpec: Record<string, unknown>): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, ...podSpec } },
    },
  };
}

export function application(name: string, namespace: string, limit: string): any {
  return deployment(name, namespace, { containers: [{ name: 'app', image: 'example/trainer:1', resources: { limits: { memory: limit } } }] });
}
