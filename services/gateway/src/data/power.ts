import { AppError, decryptSecret, type Logger, type Orm } from '@tenantgate/shared';
import { PveClient, parseUpid, type PvePowerAction } from '@tenantgate/pve-client';
import type { TenantScope } from '../auth/authorization.ts';
import type { PortalAudit, PortalEventInput, RequestFacts } from './portal-audit.ts';
import type { GuestRow } from './resources.ts';

export const POWER_ACTIONS = ['start', 'stop', 'shutdown', 'reboot', 'suspend', 'resume'] as const;

interface ConnectionSecretRow {
  id: string;
  name: string;
  base_url: string;
  fingerprint: string | null;
  token_id: string;
  secret_enc: Buffer;
  enabled: boolean;
}

/** Builds a PVE client for one connection; replaced in nothing but the composition root. */
export type PveClientFactory = (conn: {
  name: string;
  baseUrl: string;
  fingerprint: string | null;
  tokenId: string;
  secret: string;
}) => PveClient;

export const defaultPveClientFactory: PveClientFactory = (c) =>
  new PveClient({
    connectionName: c.name,
    baseUrl: c.baseUrl,
    auth: { kind: 'token', tokenId: c.tokenId, secret: c.secret },
    ...(c.fingerprint ? { fingerprint: c.fingerprint } : {}),
  });

export interface PowerActor {
  userId: string;
  principal: string;
  actorType: 'portal-user' | 'portal-token';
}

/**
 * Power actions on a tenant's guest: records the intent (portal_action) first, calls PVE, then
 * records the returned UPID with the portal user and tenant (portal_action.upid and a pve_task row
 * carrying portal_user_id/portal_tenant_id), so the task pve-sync later sees is attributed to the
 * real person. Every outcome is a portal audit event. A pve-sync poll that lists the task between
 * PVE's answer and the UPID write sees the open intent and holds the task back until the UPID is
 * recorded (services/pve-sync/src/sources/portal-correlation.ts), so the intent row must be
 * committed before PVE is called.
 */
export class PowerActions {
  constructor(
    private readonly orm: Orm,
    private readonly audit: PortalAudit,
    private readonly credentialsKey: Buffer,
    private readonly clientFactory: PveClientFactory,
    private readonly logger: Logger,
  ) {}

  async run(
    scope: TenantScope,
    guest: GuestRow,
    action: PvePowerAction,
    actor: PowerActor,
    req: RequestFacts,
  ): Promise<string> {
    const em = this.orm.em.fork();
    const [conn] = await em.execute<ConnectionSecretRow[]>(
      `SELECT id, name, base_url, fingerprint, token_id, secret_enc, enabled FROM pve_connection WHERE id = ?`,
      [guest.connection_id],
    );
    if (!conn) throw AppError.notFound('Resource');
    if (!conn.enabled) throw AppError.conflict('The connection of this guest is disabled');
    const target = {
      type: guest.type === 'lxc' ? 'lxc' : 'qemu',
      id: String(guest.vmid),
      name: guest.name,
      path: `/vms/${guest.vmid}`,
    };
    const event = (outcome: PortalEventInput['outcome'], extra: Partial<PortalEventInput>): PortalEventInput => ({
      action: `guest.${action}`,
      outcome,
      actor: { type: actor.actorType, id: actor.userId, principal: actor.principal },
      tenantIds: [scope.tenantId],
      target,
      connectionId: conn.id,
      ...extra,
    });
    const recorded = await em.execute<Array<{ request_id: string }>>(
      `INSERT INTO portal_action (request_id, user_id, tenant_id, connection_id, vmid, action) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (request_id) DO NOTHING RETURNING request_id`,
      [req.requestId, actor.userId, scope.tenantId, conn.id, guest.vmid, action],
    );
    if (recorded.length === 0) throw AppError.conflict('One power action per request');
    let upid: string;
    const client = this.clientFactory({
      name: conn.name,
      baseUrl: conn.base_url,
      fingerprint: conn.fingerprint,
      tokenId: conn.token_id,
      secret: decryptSecret(this.credentialsKey, Buffer.from(conn.secret_enc)),
    });
    try {
      upid = await client.powerAction(guest.node, guest.type, guest.vmid, action);
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'INTERNAL';
      await em.transactional(async (tx) => {
        await tx.execute(`UPDATE portal_action SET error = ? WHERE request_id = ?`, [code, req.requestId]);
        await this.audit.record(tx, req, event('failure', { payload: { error: code, node: guest.node } }));
      });
      await this.audit.wake(req.requestId);
      if (err instanceof AppError) throw err;
      this.logger.error({ err, requestId: req.requestId }, 'power action failed');
      throw new AppError('PVE_UNREACHABLE', 'The power action could not be sent to PVE');
    } finally {
      await client.close();
    }
    const parsed = parseUpid(upid);
    await em.transactional(async (tx) => {
      await tx.execute(`UPDATE portal_action SET upid = ? WHERE request_id = ?`, [upid, req.requestId]);
      await tx.execute(
        `INSERT INTO pve_task (upid, connection_id, node, type, task_id, vmid, pve_user, token_id, starttime, outcome, portal_user_id, portal_tenant_id, request_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, to_timestamp(?), 'running', ?, ?, ?)
         ON CONFLICT (upid) DO UPDATE SET portal_user_id = EXCLUDED.portal_user_id, portal_tenant_id = EXCLUDED.portal_tenant_id,
           request_id = EXCLUDED.request_id, updated_at = now()`,
        [
          upid,
          conn.id,
          parsed.node,
          parsed.type,
          parsed.id,
          guest.vmid,
          parsed.user,
          parsed.tokenid ? `${parsed.user}!${parsed.tokenid}` : null,
          parsed.starttime,
          actor.userId,
          scope.tenantId,
          req.requestId,
        ],
      );
      await this.audit.record(tx, req, event('success', { upid, payload: { node: guest.node } }));
    });
    await this.audit.wake(req.requestId);
    return upid;
  }
}
