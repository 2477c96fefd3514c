// cdk8s-shm-plus-28: SharedMemoryDeployment, the one construct of cdk8s-shm that is a cdk8s-plus-28
// type. It is a package of its own so that cdk8s-shm declares no cdk8s-plus at all (jsii makes every
// peer dependency a hard requirement of the Python package); it uses cdk8s-shm's public API only.
export * from './shared-memory-deployment';
