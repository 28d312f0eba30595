export { LocalPostgres, type LocalPostgresOptions } from './postgres.ts';
export { LocalRedis, type LocalRedisOptions } from './redis.ts';
export { freePort } from './ports.ts';
export { repoRoot, dataDir } from './paths.ts';
