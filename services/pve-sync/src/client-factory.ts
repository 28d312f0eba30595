import { PveClient } from '@tenantgate/pve-client';
import type { Logger } from '@tenantgate/shared';
import type { OpenConnection } from './connections.ts';
import type { PveApi } from './pve-api.ts';

/** A client of one connection, kept across polls; closed when the connection changes or the service stops. */
export type PveSession = PveApi & { close(): Promise<void> };
export type PveClientFactory = (connection: OpenConnection) => PveSession;

export interface ClientSettings {
  timeoutMs: number;
  retries: number;
  concurrency: number;
  /** Refuse larger response bodies (the client's default is 64 MiB). */
  maxResponseBytes?: number;
  logger?: Logger;
}

export function pveClientFactory(settings: ClientSettings): PveClientFactory {
  return (c) =>
    new PveClient({
      connectionName: c.name,
      baseUrl: c.baseUrl,
      auth: { kind: 'token', tokenId: c.tokenId, secret: c.secret },
      ...(c.fingerprint ? { fingerprint: c.fingerprint } : {}),
      timeoutMs: settings.timeoutMs,
      retries: settings.retries,
      concurrency: settings.concurrency,
      ...(settings.maxResponseBytes ? { maxResponseBytes: settings.maxResponseBytes } : {}),
      ...(settings.logger ? { logger: settings.logger } : {}),
    });
}
