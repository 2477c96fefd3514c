export * from './shared-memory';
export * from './shared-memory-deployment';
