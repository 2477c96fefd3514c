/**
 * The pod-level types the constructs take from users (containers, resources, tolerations,
 * affinity), shared by all of them and independent of any cdk8s-plus version.
 */
export * from './resources';
export * from './tolerations';
export * from './affinity';
export * from './env';
export * from './probe';
export * from './volume';
export * from './container';
