import { AppError, encryptSecret } from '@tenantgate/shared';
import { normaliseFingerprint } from '@tenantgate/pve-client';
import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { actorOf } from './mutations.ts';
import { keyOf } from './resolvers.ts';
import { toGlobalId } from './relay.ts';
import { toConnection } from './mappers.ts';

// Provider and tenant administration: PVE connections (Portal Admin), resource assignments
// (Portal Admin), memberships (Tenant Admin of the active tenant, or Portal Admin). Each write and
// its portal audit event commit in one transaction.

const TOKEN_ID = /^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]*$/;
const PRIVILEGE = /^[A-Z][A-Za-z]+\.[A-Za-z.]+$/;

interface ConnectionInput {
  name: string;
  baseUrl: string;
  fingerprint: string;
  tokenId: string;
  secret: string;
  pollIntervalMs?: number | null;
}

function validateConnection(input: Partial<ConnectionInput>): void {
  if (input.name !== undefined && (input.name.length < 1 || input.name.length > 100))
    throw AppError.badInput('name must be 1..100 characters');
  if (input.baseUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(input.baseUrl);
    } catch {
      throw AppError.badInput('baseUrl must be a URL');
    }
    if (url.protocol !== 'https:') throw AppError.badInput('baseUrl must use https');
  }
  if (input.tokenId !== undefined && !TOKEN_ID.test(input.tokenId))
    throw AppError.badInput('tokenId must look like user@realm!name');
  if (input.secret !== undefined && (input.secret.length < 8 || input.secret.length > 200))
    throw AppError.badInput('secret has an implausible length');
  if (input.pollIntervalMs != null && input.pollIntervalMs < 1000)
    throw AppError.badInput('pollIntervalMs must be at least 1000');
}

async function write<T>(ctx: GatewayContext, fn: (tx: GatewayContext['em']) => Promise<T>): Promise<T> {
  const res = await ctx.em.fork().transactional(fn);
  await ctx.services.audit.wake(ctx.requestId);
  return res;
}

export const AdminMutations = {
  async addConnection(_: unknown, { input }: { input: ConnectionInput }, ctx: GatewayContext) {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    validateConnection(input);
    const fingerprint = normaliseFingerprint(input.fingerprint);
    const id = await write(ctx, async (tx) => {
      const rows = await tx.execute<Array<{ id: string }>>(
        `INSERT INTO pve_connection (name, base_url, fingerprint, token_id, secret_enc, poll_interval_ms)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id`,
        [
          input.name,
          input.baseUrl,
          fingerprint,
          input.tokenId,
          encryptSecret(ctx.services.credentialsKey, input.secret),
          input.pollIntervalMs ?? 10_000,
        ],
      );
      if (!rows[0]) throw AppError.conflict('A connection with this name exists');
      await ctx.services.audit.record(tx, ctx, {
        action: 'connection.added',
        outcome: 'success',
        actor: actorOf(ctx),
        tenantIds: [],
        connectionId: rows[0].id,
        target: { type: 'pve-connection', id: rows[0].id, name: input.name },
        payload: { baseUrl: input.baseUrl, fingerprint, tokenId: input.tokenId },
      });
      return rows[0].id;
    });
    return await connectionById(ctx, id);
  },

  async updateConnection(
    _: unknown,
    args: {
      id: string;
      input: { [K in keyof ConnectionInput]?: ConnectionInput[K] | null } & { enabled?: boolean | null };
    },
    ctx: GatewayContext,
  ) {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    const id = keyOf(args.id, 'Connection');
    const i = args.input;
    validateConnection({
      ...i,
      fingerprint: i.fingerprint ?? undefined,
      name: i.name ?? undefined,
      baseUrl: i.baseUrl ?? undefined,
      tokenId: i.tokenId ?? undefined,
      secret: i.secret ?? undefined,
    });
    const fingerprint = i.fingerprint ? normaliseFingerprint(i.fingerprint) : null;
    const ok =
      id &&
      (await write(ctx, async (tx) => {
        const rows = await tx.execute<Array<{ id: string; name: string }>>(
          `UPDATE pve_connection SET name = COALESCE(?, name), base_url = COALESCE(?, base_url), fingerprint = COALESCE(?, fingerprint),
                  token_id = COALESCE(?, token_id), secret_enc = COALESCE(?, secret_enc), poll_interval_ms = COALESCE(?, poll_interval_ms),
                  enabled = COALESCE(?, enabled), updated_at = now()
            WHERE id = ? RETURNING id, name`,
          [
            i.name ?? null,
            i.baseUrl ?? null,
            fingerprint,
            i.tokenId ?? null,
            i.secret ? encryptSecret(ctx.services.credentialsKey, i.secret) : null,
            i.pollIntervalMs ?? null,
            i.enabled ?? null,
            id,
          ],
        );
        if (!rows[0]) return false;
        await ctx.services.audit.record(tx, ctx, {
          action: 'connection.updated',
          outcome: 'success',
          actor: actorOf(ctx),
          tenantIds: [],
          connectionId: id,
          target: { type: 'pve-connection', id, name: rows[0].name },
          // never the secret: only whether it changed
          payload: {
            name: i.name ?? null,
            baseUrl: i.baseUrl ?? null,
            fingerprint,
            tokenId: i.tokenId ?? null,
            secretChanged: Boolean(i.secret),
            enabled: i.enabled ?? null,
          },
        });
        return true;
      }));
    if (!ok) throw await notFound(ctx, 'Connection', args.id);
    return await connectionById(ctx, id);
  },

  async removeConnection(_: unknown, args: { id: string }, ctx: GatewayContext): Promise<boolean> {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    const id = keyOf(args.id, 'Connection');
    const ok =
      id &&
      (await write(ctx, async (tx) => {
        const tenants = await tx.execute<Array<{ tenant_id: string }>>(
          `SELECT DISTINCT tenant_id FROM assignment WHERE connection_id = ? AND valid_to IS NULL`,
          [id],
        );
        const rows = await tx.execute<Array<{ name: string }>>(
          `DELETE FROM pve_connection WHERE id = ? RETURNING name`,
          [id],
        );
        if (!rows[0]) return false;
        await ctx.services.audit.record(tx, ctx, {
          action: 'connection.removed',
          outcome: 'success',
          actor: actorOf(ctx),
          tenantIds: tenants.map((t) => t.tenant_id),
          target: { type: 'pve-connection', id, name: rows[0].name },
        });
        return true;
      }));
    if (!ok) throw await notFound(ctx, 'Connection', args.id);
    return true;
  },

  /** Assigns a guest (vmid), a PVE pool, or a whole connection to a tenant; replaces the previous assignment of that object. */
  async assign(
    _: unknown,
    args: { tenantId: string; connectionId: string; vmid?: number | null; pool?: string | null },
    ctx: GatewayContext,
  ) {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    const tenantId = keyOf(args.tenantId, 'Tenant');
    const connectionId = keyOf(args.connectionId, 'Connection');
    if (args.vmid != null && args.pool != null)
      throw AppError.badInput('Give a vmid, a pool, or neither (whole connection)');
    const kind = args.vmid != null ? 'guest' : args.pool != null ? 'pool' : 'connection';
    if (!tenantId) throw await notFound(ctx, 'Tenant', args.tenantId);
    if (!connectionId) throw await notFound(ctx, 'Connection', args.connectionId);
    const id = await write(ctx, async (tx) => {
      const [t] = await tx.execute(`SELECT 1 FROM tenant WHERE id = ? AND deleted_at IS NULL`, [tenantId]);
      const [c] = await tx.execute(`SELECT 1 FROM pve_connection WHERE id = ?`, [connectionId]);
      if (!t || !c) return null;
      const level = kind === 'guest' ? 'vmid = ?' : kind === 'pool' ? 'pool = ?' : 'TRUE';
      const levelParams = kind === 'guest' ? [args.vmid] : kind === 'pool' ? [args.pool] : [];
      // Current owners of the affected guests (whatever level assigned them): a move concerns them too.
      const guestLevel = kind === 'guest' ? 'vmid = ?' : kind === 'pool' ? 'pool = ?' : 'TRUE';
      const owners = await tx.execute<Array<{ tenant_id: string }>>(
        `SELECT DISTINCT tenant_id FROM guest WHERE connection_id = ? AND ${guestLevel} AND tenant_id IS NOT NULL AND deleted_at IS NULL`,
        [connectionId, ...levelParams],
      );
      const previous = await tx.execute<Array<{ tenant_id: string }>>(
        `UPDATE assignment SET valid_to = now() WHERE connection_id = ? AND kind = ? AND ${level} AND valid_to IS NULL RETURNING tenant_id`,
        [connectionId, kind, ...levelParams],
      );
      const [row] = await tx.execute<Array<{ id: string }>>(
        `INSERT INTO assignment (tenant_id, connection_id, kind, vmid, pool, created_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
        [tenantId, connectionId, kind, args.vmid ?? null, args.pool ?? null, ctx.auth.principal!.userId],
      );
      const fromTenants = [...new Set([...owners, ...previous].map((r) => r.tenant_id))].filter((t) => t !== tenantId);
      // A move is written to both tenants' chains (TEN-001 sees it).
      await ctx.services.audit.record(tx, ctx, {
        action: fromTenants.length ? 'assignment.moved' : 'assignment.created',
        outcome: 'success',
        actor: actorOf(ctx),
        tenantIds: [tenantId, ...fromTenants],
        connectionId,
        target: {
          type: kind === 'guest' ? 'guest' : kind,
          id: kind === 'guest' ? String(args.vmid) : kind === 'pool' ? args.pool! : connectionId,
          path: kind === 'guest' ? `/vms/${args.vmid}` : kind === 'pool' ? `/pool/${args.pool}` : '/',
        },
        payload: { kind, fromTenants, toTenant: tenantId },
      });
      return row!.id;
    });
    if (!id) throw await notFound(ctx, 'Tenant', args.tenantId);
    return toGlobalId('Assignment', id);
  },

  async unassign(_: unknown, args: { id: string }, ctx: GatewayContext): Promise<boolean> {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    const id = keyOf(args.id, 'Assignment');
    const ok =
      id &&
      (await write(ctx, async (tx) => {
        const [row] = await tx.execute<Array<{ tenant_id: string; connection_id: string; kind: string }>>(
          `UPDATE assignment SET valid_to = now() WHERE id = ? AND valid_to IS NULL RETURNING tenant_id, connection_id, kind`,
          [id],
        );
        if (!row) return false;
        await ctx.services.audit.record(tx, ctx, {
          action: 'assignment.removed',
          outcome: 'success',
          actor: actorOf(ctx),
          tenantIds: [row.tenant_id],
          connectionId: row.connection_id,
          target: { type: 'assignment', id },
          payload: { kind: row.kind },
        });
        return true;
      }));
    if (!ok) throw await notFound(ctx, 'Assignment', args.id);
    return true;
  },

  /** Adds or updates a member of the active tenant (Tenant Admin) with a role and PVE privilege names. */
  async setMembership(_: unknown, args: { username: string; role: string; privileges: string[] }, ctx: GatewayContext) {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'tenant.manage');
    if (!['tenant_admin', 'tenant_user'].includes(args.role))
      throw AppError.badInput('role must be tenant_admin or tenant_user');
    for (const p of args.privileges) if (!PRIVILEGE.test(p)) throw AppError.badInput(`not a PVE privilege name: ${p}`);
    // Usernames are global: a Tenant Admin changes members of the active tenant only, so an
    // unknown account and another tenant's account answer alike (audited NOT_FOUND) and account
    // existence is not observable. Adding an account from outside the tenant is a Portal Admin's.
    const provider = ctx.services.authz.can(ctx.auth, 'provider.manage', null);
    const res = await write(ctx, async (tx) => {
      const [user] = await tx.execute<Array<{ id: string }>>(
        provider
          ? `SELECT id FROM portal_user WHERE lower(username) = lower(?)`
          : `SELECT u.id FROM portal_user u JOIN membership m ON m.user_id = u.id AND m.tenant_id = ?
              WHERE lower(u.username) = lower(?)`,
        provider ? [args.username] : [scope.tenantId, args.username],
      );
      if (!user) return null;
      const [row] = await tx.execute<Array<{ id: string; inserted: boolean }>>(
        `INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, ?, ?::text[])
         ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = EXCLUDED.role, privileges = EXCLUDED.privileges
         RETURNING id, (xmax = 0) AS inserted`,
        [user.id, scope.tenantId, args.role, `{${args.privileges.join(',')}}`],
      );
      await ctx.services.audit.record(tx, ctx, {
        action: row!.inserted ? 'membership.added' : 'membership.changed',
        outcome: 'success',
        actor: actorOf(ctx),
        tenantIds: [scope.tenantId],
        target: { type: 'portal-user', id: user.id, name: args.username },
        payload: { role: args.role, privileges: args.privileges },
      });
      return { tenantId: scope.tenantId, role: args.role, privileges: args.privileges };
    });
    // Unknown and foreign usernames answer alike: no hint whether an account exists.
    if (!res) throw await notFound(ctx, 'User', args.username);
    return res;
  },

  async removeMembership(_: unknown, args: { username: string }, ctx: GatewayContext): Promise<boolean> {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'tenant.manage');
    const ok = await write(ctx, async (tx) => {
      const [row] = await tx.execute<Array<{ user_id: string }>>(
        `DELETE FROM membership m USING portal_user u WHERE m.user_id = u.id AND lower(u.username) = lower(?) AND m.tenant_id = ? RETURNING m.user_id`,
        [args.username, scope.tenantId],
      );
      if (!row) return false;
      await ctx.services.audit.record(tx, ctx, {
        action: 'membership.removed',
        outcome: 'success',
        actor: actorOf(ctx),
        tenantIds: [scope.tenantId],
        target: { type: 'portal-user', id: row.user_id, name: args.username },
      });
      return true;
    });
    if (!ok) throw await notFound(ctx, 'User', args.username);
    return true;
  },
};

async function connectionById(ctx: GatewayContext, id: string) {
  const rows = await ctx.services.tenants.connections(ctx.em.fork(), null);
  const row = rows.find((r) => r.id === id);
  if (!row) throw AppError.notFound('Connection');
  return toConnection(row, true);
}
