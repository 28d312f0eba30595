// Zod schemas per endpoint, following shared/pve/api-shapes.md and the official API schema.
export * from './common.ts';
export * from './version.ts';
export * from './cluster.ts';
export * from './tasks.ts';
export * from './access.ts';
export * from './pools.ts';
export * from './guests.ts';
