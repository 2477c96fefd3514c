// SharedMemoryDeployment is not here: it is a cdk8s-plus-28 Deployment, exported from
// `cdk8s-shm/cdk8s-plus-28` (cdk8s-plus-28.js at the package root), so that nothing this entry
// point loads or declares needs any cdk8s-plus.
export * from './shared-memory';
export * from './shared-memory-domain';
// The pod-level types the agent and the webhook take (containers, resources, probes, tolerations,
// affinity) in a namespace of their own: their names are cdk8s-plus's too (Cpu, EnvValue, Probe,
// Toleration...), and an app imports both.
export * as podspec from './pod-spec';
export * from './agent-placement';
export * from './agent-delivery';
export * from './shared-memory-agent';
export * from './webhook-tls';
export * from './webhook-network-policy';
export * from './shared-memory-webhook';
export * from './shared-memory-policy';
export * from './shared-memory-admission-policy';
