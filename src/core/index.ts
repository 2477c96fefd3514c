/**
 * The sizing core: pure, synchronous, no I/O and no cdk8s. The constructs, the admission webhook
 * and the CLI all decide through it.
 */
export * from './names';
export * from './decimal';
export * from './quantity';
export * from './pod-limit';
export * from './policy';
export * from './plan';
export * from './patch';
export * from './workload';
export * from './json';
export * from './mount-path';
export * from './kube-names';
export * from './settings';
export * from './setting-rules';
export * from './pod-policy';
export * from './pod-view';
export * from './basis';
export * from './windows';
export * from './admission-policy-limits';
export * from './limit-growth';
export * from './namespace-limits';
export * from './resize';
export * from './live-pod';
