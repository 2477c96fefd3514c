// SharedMemoryDeployment is not here: it is a cdk8s-plus-28 Deployment, in the package
// cdk8s-shm-plus-28 (packages/cdk8s-shm-plus-28), so that nothing this package loads or declares
// needs any cdk8s-plus (jsii would make it a hard requirement of the Python package).
export * from './constructs/sizing/shared-memory';
export * from './constructs/agent/shared-memory-domain';
// The pod-level types the agent and the webhook take (containers, resources, probes, tolerations,
// affinity) in a namespace of their own: their names are cdk8s-plus's too (Cpu, EnvValue, Probe,
// Toleration...), and an app imports both.
export * as podspec from './constructs/pod-spec';
export * from './constructs/agent/agent-placement';
export * from './constructs/agent/agent-delivery';
export * from './constructs/agent/shared-memory-agent';
export * from './constructs/webhook/webhook-tls';
export * from './constructs/webhook/webhook-network-policy';
export * from './constructs/webhook/shared-memory-webhook';
export * from './constructs/common/policy-props';
export * from './constructs/admission-policy/shared-memory-admission-policy';
