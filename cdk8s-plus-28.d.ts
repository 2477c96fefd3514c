// `cdk8s-shm/cdk8s-plus-28`: SharedMemoryDeployment, the one part of cdk8s-shm that needs cdk8s-plus-28.
export * from './lib/constructs/sizing/shared-memory-deployment';
