export * from './errors';
export * from './tenants';
export * from './api-keys';
export * from './embeddings';
export * from './models';
export * from './streams';
export * from './input-rules';
export * from './webhook-secrets';
