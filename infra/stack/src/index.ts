export { LocalPostgres, type LocalPostgresOptions } from './postgres.ts';
export { LocalRedis, type LocalRedisOptions } from './redis.ts';
export { freePort } from './ports.ts';
export { repoRoot, dataDir } from './paths.ts';
export { generateSecrets, loadOrCreateSecrets, type StackSecrets } from './secrets.ts';
export {
  seedDemo,
  DEMO_TENANTS,
  DEMO_USER_PRIVILEGES,
  type DemoSeed,
  type DemoLogin,
  type DemoCluster,
} from './seed.ts';
export { ServiceProcess, waitForHttp, formatLogLine, type ServiceName } from './services.ts';
export { startServices, serviceEnv, type ServicesOptions } from './stack.ts';
