/**
 * The application of the real node's limit and resize experiments: a Deployment of one container,
 * `app`, with a memory limit and nothing else (the test gives it its script through `forNode`).
 */
export function application(name: string, namespace: string, limit: string): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'example/trainer:1', resources: { limits: { memory: limit } } }] },
      },
    },
  };
}
