export * from './shared-memory';
export * from './shared-memory-deployment';
export * from './shared-memory-domain';
export * from './agent-placement';
export * from './agent-delivery';
export * from './shared-memory-agent';
export * from './webhook-tls';
export * from './shared-memory-webhook';
