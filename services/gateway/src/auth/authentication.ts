import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, hashPassword, sha256, verifyPassword, type Em, type Orm } from '@tenantgate/shared';
import type { PortalAudit, RequestFacts } from '../data/portal-audit.ts';
import { pgArray } from '../data/sql.ts';
import type { MembershipGrant, Principal, RequestAuth } from './principal.ts';
import type { Authorization } from './authorization.ts';
import { redisLost, serviceUnavailable, unavailableDependency } from '../http/unavailable.ts';

export interface AuthenticationOptions {
  sessionTtlS: number;
  maxFailures: number;
  lockoutS: number;
  ipLimit: number;
  ipWindowS: number;
  /** Redis key namespace for login throttling. */
  prefix: string;
}

export interface LoginResult {
  token: string;
  expiresAt: Date;
  userId: string;
}

/** Session tokens are `tgs_<43 chars>`; API tokens are `tgt_<user>!<name>_<secret>` (PVE-like ids). */
const SESSION_PREFIX = 'tgs_';
const TOKEN_PREFIX = 'tgt_';

interface PrincipalRow {
  user_id: string;
  username: string;
  is_portal_admin: boolean;
  is_compliance_auditor: boolean;
  disabled: boolean;
  expires_at: Date | null;
  cred_id: string;
  cred_name: string | null;
  cred_privileges: string[] | null;
  memberships: Array<{ tenant_id: string; role: 'tenant_admin' | 'tenant_user'; privileges: string[] }> | null;
}

// A precomputed hash so unknown usernames cost the same scrypt work as known ones.
const DUMMY_HASH = hashPassword(randomBytes(16).toString('hex'));

/**
 * Portal authentication: local users (scrypt), throttled and locked-out logins (audited), opaque
 * session tokens stored as SHA-256, and portal API tokens with a privilege subset of their owner.
 */
export class Authentication {
  constructor(
    private readonly orm: Orm,
    private readonly redis: Redis,
    private readonly audit: PortalAudit,
    private readonly authz: Authorization,
    private readonly options: AuthenticationOptions,
  ) {}

  async login(username: string, password: string, req: RequestFacts): Promise<LoginResult> {
    await this.#throttleIp(req);
    const em = this.orm.em.fork();
    const user = await em.execute<
      Array<{
        id: string;
        username: string;
        password_hash: string | null;
        disabled: boolean;
        expires_at: Date | null;
        locked_until: Date | null;
        failed_logins: number;
      }>
    >(
      `SELECT id, username, password_hash, disabled, expires_at, locked_until, failed_logins
         FROM portal_user WHERE lower(username) = lower(?)`,
      [username],
    );
    const row = user[0];
    const userExpiresAt = dateOrNull(row?.expires_at);
    const lockedUntil = dateOrNull(row?.locked_until);
    const ok = await verifyPassword(password, row?.password_hash ?? (await DUMMY_HASH));
    const now = new Date();
    const actor = { type: 'portal-user' as const, id: row?.id ?? null, principal: username.slice(0, 64) };
    let refusal: string | null = null;
    if (!row) refusal = 'unknown_user';
    else if (lockedUntil && lockedUntil > now) refusal = 'locked';
    else if (!ok) refusal = 'bad_password';
    else if (row.disabled) refusal = 'disabled';
    else if (userExpiresAt && userExpiresAt <= now) refusal = 'expired';

    if (refusal) {
      await em.transactional(async (tx) => {
        let lockedNow = false;
        if (row && refusal === 'bad_password') {
          const res = await tx.execute<Array<{ failed_logins: number; locked_until: Date | null }>>(
            `UPDATE portal_user SET failed_logins = failed_logins + 1,
                    locked_until = CASE WHEN failed_logins + 1 >= ? THEN now() + make_interval(secs => ?) ELSE locked_until END,
                    updated_at = now()
              WHERE id = ? RETURNING failed_logins, locked_until`,
            [this.options.maxFailures, this.options.lockoutS, row.id],
          );
          lockedNow = (res[0]?.failed_logins ?? 0) >= this.options.maxFailures;
        }
        await this.audit.record(tx, req, {
          action: 'auth.login_failed',
          outcome: 'failure',
          actor,
          tenantIds: [],
          target: { type: 'portal-user', id: row?.id ?? username.slice(0, 64), name: username.slice(0, 64) },
          payload: { reason: refusal, lockedOut: lockedNow },
        });
        if (lockedNow) {
          await this.audit.record(tx, req, {
            action: 'auth.lockout',
            outcome: 'success',
            actor: { type: 'unknown', id: null },
            tenantIds: [],
            target: { type: 'portal-user', id: row!.id, name: row!.username },
            payload: { lockoutSeconds: this.options.lockoutS },
          });
        }
      });
      await this.audit.wake(req.requestId);
      // One answer for every refusal: callers must not learn which accounts exist or are locked.
      throw AppError.unauthenticated('Invalid credentials');
    }

    const token = SESSION_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.options.sessionTtlS * 1000);
    await em.transactional(async (tx) => {
      await tx.execute(`INSERT INTO portal_session (user_id, token_hash, expires_at, src_ip) VALUES (?, ?, ?, ?)`, [
        row!.id,
        sha256(token),
        expiresAt,
        req.srcIp,
      ]);
      await tx.execute(
        `UPDATE portal_user SET failed_logins = 0, locked_until = NULL, last_login_at = now(), updated_at = now() WHERE id = ?`,
        [row!.id],
      );
      await this.audit.record(tx, req, {
        action: 'auth.login',
        outcome: 'success',
        actor,
        tenantIds: [],
        target: { type: 'portal-user', id: row!.id, name: row!.username },
      });
    });
    await this.audit.wake(req.requestId);
    return { token, expiresAt, userId: row!.id };
  }

  /** Revokes the session behind `principal` (logout). */
  async logout(principal: Principal, req: RequestFacts): Promise<void> {
    if (principal.credential.kind !== 'session')
      throw AppError.badInput('Only sessions can log out; revoke API tokens instead');
    const sessionId = principal.credential.sessionId;
    await this.orm.em.fork().transactional(async (tx) => {
      await tx.execute(`UPDATE portal_session SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL`, [sessionId]);
      await this.audit.record(tx, req, {
        action: 'auth.logout',
        outcome: 'success',
        actor: { type: 'portal-user', id: principal.userId, principal: principal.username },
        tenantIds: [],
        target: { type: 'portal-session', id: sessionId },
      });
    });
    await this.audit.wake(req.requestId);
  }

  /**
   * Resolves an Authorization header value and an optional tenant id into the request's
   * authentication: one SQL statement (credential + user + memberships).
   */
  async authenticate(em: Em, authorization: string | undefined, tenantId: string | undefined): Promise<RequestAuth> {
    const anonymous: RequestAuth = { principal: null, activeTenantId: null, rejectedTenantId: null };
    if (!authorization) return anonymous;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m) throw AppError.unauthenticated('Malformed Authorization header');
    const token = m[1]!;
    let row: PrincipalRow | undefined;
    if (token.startsWith(SESSION_PREFIX))
      row = (await em.execute<PrincipalRow[]>(PRINCIPAL_BY_SESSION, [sha256(token), sha256(token)]))[0];
    else if (token.startsWith(TOKEN_PREFIX))
      row = (await em.execute<PrincipalRow[]>(PRINCIPAL_BY_API_TOKEN, [sha256(token), sha256(token)]))[0];
    const now = new Date();
    const userExpiry = dateOrNull(row?.expires_at);
    if (!row || row.disabled || (userExpiry && userExpiry <= now)) {
      throw AppError.unauthenticated('Invalid or expired credentials');
    }
    const memberships = new Map<string, MembershipGrant>();
    for (const ms of row.memberships ?? []) {
      memberships.set(ms.tenant_id, { tenantId: ms.tenant_id, role: ms.role, privileges: new Set(ms.privileges) });
    }
    const principal: Principal = {
      userId: row.user_id,
      username: row.username,
      isPortalAdmin: row.is_portal_admin,
      isComplianceAuditor: row.is_compliance_auditor,
      memberships,
      credential: token.startsWith(SESSION_PREFIX)
        ? { kind: 'session', sessionId: row.cred_id }
        : {
            kind: 'token',
            tokenId: row.cred_id,
            tokenName: row.cred_name ?? '',
            privileges: row.cred_privileges ? new Set(row.cred_privileges) : null,
          },
    };
    if (!tenantId) return { principal, activeTenantId: null, rejectedTenantId: null };
    if (!UUID_RE.test(tenantId) || !this.authz.mayUseTenant(principal, tenantId)) {
      return { principal, activeTenantId: null, rejectedTenantId: tenantId };
    }
    return { principal, activeTenantId: tenantId, rejectedTenantId: null };
  }

  /** Creates a portal API token for `principal`'s user; the secret is returned once. */
  async createApiToken(
    em: Em,
    principal: Principal,
    input: { name: string; privileges: string[] | null; expiresAt: Date | null },
    req: RequestFacts,
  ): Promise<{ id: string; token: string; tokenId: string }> {
    if (principal.credential.kind === 'token') throw AppError.forbidden('API tokens cannot create API tokens');
    if (!/^[A-Za-z][A-Za-z0-9._-]{0,63}$/.test(input.name)) throw AppError.badInput('Invalid token name');
    if (input.expiresAt && input.expiresAt <= new Date()) throw AppError.badInput('expiresAt must be in the future');
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    await em.transactional(async (tx) => {
      const res = await tx.execute<Array<{ id: string }>>(
        `INSERT INTO portal_api_token (id, user_id, name, token_hash, privileges, expires_at)
         VALUES (?, ?, ?, ?, ?::text[], ?) ON CONFLICT (user_id, name) DO NOTHING RETURNING id`,
        [
          id,
          principal.userId,
          input.name,
          sha256(token),
          input.privileges ? pgArray(input.privileges) : null,
          input.expiresAt,
        ],
      );
      if (res.length === 0) throw AppError.conflict('A token with this name exists');
      await this.audit.record(tx, req, {
        action: 'token.created',
        outcome: 'success',
        actor: { type: 'portal-user', id: principal.userId, principal: principal.username },
        tenantIds: [],
        target: { type: 'portal-api-token', id, name: `${principal.username}!${input.name}` },
        payload: { privileges: input.privileges, expiresAt: input.expiresAt?.toISOString() ?? null },
      });
    });
    await this.audit.wake(req.requestId);
    return { id, token, tokenId: `${principal.username}!${input.name}` };
  }

  /** Revokes (or, with `rotate`, replaces the secret of) one of the caller's API tokens. */
  async revokeOrRotateApiToken(
    em: Em,
    principal: Principal,
    tokenRowId: string,
    rotate: boolean,
    req: RequestFacts,
  ): Promise<{ token: string | null; tokenId: string }> {
    let tokenId = '';
    const token = rotate ? `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}` : null;
    await em.transactional(async (tx) => {
      const res = await tx.execute<Array<{ name: string }>>(
        rotate
          ? `UPDATE portal_api_token SET token_hash = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING name`
          : `UPDATE portal_api_token SET revoked_at = now() WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING name`,
        rotate ? [sha256(token!), tokenRowId, principal.userId] : [tokenRowId, principal.userId],
      );
      if (res.length === 0) throw AppError.notFound('API token');
      tokenId = `${principal.username}!${res[0]!.name}`;
      await this.audit.record(tx, req, {
        action: rotate ? 'token.rotated' : 'token.revoked',
        outcome: 'success',
        actor: {
          type: principal.credential.kind === 'token' ? 'portal-token' : 'portal-user',
          id: principal.userId,
          principal: principal.username,
        },
        tenantIds: [],
        target: { type: 'portal-api-token', id: tokenRowId, name: `${principal.username}!${res[0]!.name}` },
      });
    });
    await this.audit.wake(req.requestId);
    return { token, tokenId };
  }

  /**
   * Counts the attempt in the source IP's window. Fails closed: when Redis cannot be reached the
   * login is refused with SERVICE_UNAVAILABLE, never let through unthrottled. The window's key
   * and its expiry are set in one MULTI, so a Redis that goes away between the two cannot leave a
   * counter that never expires.
   */
  async #throttleIp(req: RequestFacts): Promise<void> {
    if (!req.srcIp) return;
    const key = `${this.options.prefix}:login-ip:${req.srcIp}`;
    let count: number;
    // Connection lost (Redis down or restarting): refuse at once instead of waiting through ioredis's
    // reconnect retries, which take seconds once its backoff has grown.
    if (redisLost(this.redis)) throw serviceUnavailable('redis', new Error(`redis connection is ${this.redis.status}`));
    try {
      const replies = await this.redis.multi().set(key, 0, 'EX', this.options.ipWindowS, 'NX').incr(key).exec();
      const [err, value] = replies?.[1] ?? [new Error('login throttle: MULTI was aborted'), null];
      if (err) throw err;
      count = Number(value);
    } catch (err) {
      if (unavailableDependency(err)) throw serviceUnavailable('redis', err);
      throw err;
    }
    if (count > this.options.ipLimit) {
      const em = this.orm.em.fork();
      await em.transactional(async (tx) => {
        await this.audit.record(
          tx,
          { ...req },
          {
            action: 'auth.login_throttled',
            outcome: 'failure',
            actor: { type: 'unknown', id: null },
            tenantIds: [],
            payload: { attemptsInWindow: count, windowSeconds: this.options.ipWindowS },
          },
        );
      });
      await this.audit.wake(req.requestId);
      throw AppError.rateLimited('Too many login attempts', this.options.ipWindowS);
    }
  }
}

/** The driver may hand timestamps over as strings. */
function dateOrNull(v: Date | string | null | undefined): Date | null {
  return v === null || v === undefined ? null : new Date(v);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const MEMBERSHIPS = `(SELECT json_agg(json_build_object('tenant_id', m.tenant_id, 'role', m.role, 'privileges', m.privileges))
     FROM membership m JOIN tenant t ON t.id = m.tenant_id
    WHERE m.user_id = u.id AND t.deleted_at IS NULL AND NOT t.locked) AS memberships`;

// Each lookup also stamps last_seen_at / last_used_at, at most every 5 minutes per credential: a
// data-modifying CTE, so it stays one statement per request and is rarely a write.
const PRINCIPAL_BY_SESSION = `
  WITH touch AS (
    UPDATE portal_session SET last_seen_at = now()
     WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > now()
       AND (last_seen_at IS NULL OR last_seen_at < now() - interval '5 minutes') RETURNING id)
  SELECT u.id AS user_id, u.username, u.is_portal_admin, u.is_compliance_auditor, u.disabled, u.expires_at,
         s.id AS cred_id, NULL AS cred_name, NULL::text[] AS cred_privileges, ${MEMBERSHIPS}
    FROM portal_session s JOIN portal_user u ON u.id = s.user_id
   WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > now()`;

const PRINCIPAL_BY_API_TOKEN = `
  WITH touch AS (
    UPDATE portal_api_token SET last_used_at = now()
     WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
       AND (last_used_at IS NULL OR last_used_at < now() - interval '5 minutes') RETURNING id)
  SELECT u.id AS user_id, u.username, u.is_portal_admin, u.is_compliance_auditor, u.disabled, u.expires_at,
         k.id AS cred_id, k.name AS cred_name, k.privileges AS cred_privileges, ${MEMBERSHIPS}
    FROM portal_api_token k JOIN portal_user u ON u.id = k.user_id
   WHERE k.token_hash = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`;
