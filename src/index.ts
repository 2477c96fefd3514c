export * from './shared-memory';
export * from './shared-memory-deployment';
export * from './shared-memory-domain';
export * from './agent-placement';
export * from './shared-memory-agent';
export * from './webhook-tls';
export * from './webhook-network-policy';
export * from './shared-memory-webhook';
