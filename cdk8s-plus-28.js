// `cdk8s-shm/cdk8s-plus-28`: SharedMemoryDeployment, the one part of cdk8s-shm that needs cdk8s-plus-28.
// The main entry point (`cdk8s-shm`) loads and declares no cdk8s-plus; see src/index.ts.
module.exports = require('./lib/constructs/sizing/shared-memory-deployment');
