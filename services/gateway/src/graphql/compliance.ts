import { AppError } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { actorOf } from './mutations.ts';
import { keyOf } from './resolvers.ts';
import { toGlobalId } from './relay.ts';
import type { AuditLogFilter } from './types.ts';
import type { AuditRow } from '../data/audit-log.ts';
import type { AlertRuleRow } from '../data/alerts.ts';

const EXPORT_LIMIT = 10_000;
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];

/** The chain a caller reads: 'provider' for provider roles on request, else the active tenant's. */
export function auditChainFor(ctx: GatewayContext, provider: boolean, action: 'audit.read' | 'audit.export'): string {
  if (provider) {
    ctx.services.authz.assert(ctx.auth, 'audit.readProvider', null);
    return 'provider';
  }
  return ctx.services.authz.tenantScope(ctx.auth, action).tenantId;
}

/** Reading and exporting the audit log are themselves audited (GUIDE §4). */
export async function auditAccess(
  ctx: GatewayContext,
  chainId: string,
  action: 'audit.read' | 'audit.exported',
  payload: Record<string, unknown>,
): Promise<void> {
  await ctx.em.fork().transactional(async (tx) => {
    await ctx.services.audit.record(tx, ctx, {
      action,
      outcome: 'success',
      actor: actorOf(ctx),
      tenantIds: chainId === 'provider' ? [] : [chainId],
      target: { type: 'audit-chain', id: chainId },
      payload,
    });
  });
  await ctx.services.audit.wake(ctx.requestId);
}

function exportRecord(r: AuditRow): Record<string, unknown> {
  return {
    chainId: r.chain_id,
    seq: r.seq,
    eventId: r.event_id,
    occurredAt: new Date(r.occurred_at).toISOString(),
    recordedAt: new Date(r.recorded_at).toISOString(),
    source: r.source,
    action: r.action,
    outcome: r.outcome,
    actor: { type: r.actor_type, id: r.actor_id, principal: r.actor_principal },
    srcIp: r.src_ip,
    node: r.node,
    target: { type: r.target_type, id: r.target_id, name: r.target_name, path: r.target_path },
    upid: r.upid,
    requestId: r.request_id,
    detection: r.detection,
    payload: r.payload,
    recordHash: Buffer.from(r.record_hash).toString('hex'),
  };
}

const CSV_COLUMNS = [
  'chainId',
  'seq',
  'occurredAt',
  'action',
  'outcome',
  'actorType',
  'actorId',
  'actorPrincipal',
  'srcIp',
  'targetType',
  'targetId',
  'targetName',
  'upid',
  'recordHash',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote always; neutralise spreadsheet formulas.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
}

export const ComplianceQueries = {
  /**
   * Exports the filtered chain (newest first, at most 10,000 records) as JSONL or CSV with the
   * checkpoints that cover it; audited.
   */
  async auditExport(
    _: unknown,
    args: { filter?: AuditLogFilter | null; format: 'JSONL' | 'CSV' },
    ctx: GatewayContext,
  ) {
    const chainId = auditChainFor(ctx, args.filter?.provider ?? false, 'audit.export');
    const em = ctx.em;
    const records: AuditRow[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await ctx.services.auditLog.page(em, chainId, args.filter ?? {}, 1000, after);
      records.push(...page.rows);
      if (!page.hasNextPage || records.length >= EXPORT_LIMIT) break;
      after = page.cursors.at(-1)!;
    }
    const truncated = records.length > EXPORT_LIMIT;
    const out = records.slice(0, EXPORT_LIMIT).map(exportRecord);
    const maxSeq = out.length ? String(out[0]!.seq) : '0';
    const checkpoints = await em.execute<
      Array<{ seq: string; head_hash: Buffer; created_at: Date; key_id: string; signature: Buffer }>
    >(
      `SELECT seq::text AS seq, head_hash, created_at, key_id, signature FROM audit_checkpoint
        WHERE chain_id = ? AND seq >= ?::bigint ORDER BY seq LIMIT 1`,
      [chainId, maxSeq],
    );
    let data: string;
    if (args.format === 'CSV') {
      const lines = [CSV_COLUMNS.join(',')];
      for (const r of out) {
        const a = r.actor as { type: string; id: string | null; principal: string | null };
        const t = r.target as { type: string | null; id: string | null; name: string | null };
        const flat: Record<(typeof CSV_COLUMNS)[number], unknown> = {
          chainId: r.chainId,
          seq: r.seq,
          occurredAt: r.occurredAt,
          action: r.action,
          outcome: r.outcome,
          actorType: a.type,
          actorId: a.id,
          actorPrincipal: a.principal,
          srcIp: r.srcIp,
          targetType: t.type,
          targetId: t.id,
          targetName: t.name,
          upid: r.upid,
          recordHash: r.recordHash,
        };
        lines.push(CSV_COLUMNS.map((c) => csvCell(flat[c])).join(','));
      }
      data = `${lines.join('\n')}\n`;
    } else {
      data = out.map((r) => JSON.stringify(r)).join('\n') + (out.length ? '\n' : '');
    }
    await auditAccess(ctx, chainId, 'audit.exported', {
      format: args.format,
      records: out.length,
      truncated,
      filter: args.filter ?? {},
    });
    return {
      format: args.format,
      records: out.length,
      truncated,
      data,
      checkpoints: checkpoints.map((c) => ({
        seq: c.seq,
        headHash: Buffer.from(c.head_hash).toString('hex'),
        createdAt: new Date(c.created_at),
        keyId: c.key_id,
        signature: Buffer.from(c.signature).toString('hex'),
      })),
    };
  },
};

function toRule(r: AlertRuleRow) {
  return {
    id: toGlobalId('AlertRule', r.id),
    code: r.code,
    kind: r.kind,
    name: r.name,
    severity: r.severity,
    enabled: r.enabled,
    builtin: r.tenant_id === null,
    params: r.params,
    scope: r.scope,
  };
}

interface RuleInput {
  code: string;
  kind: string;
  name: string;
  severity: string;
  params?: Record<string, unknown> | null;
  scope?: Record<string, unknown> | null;
  enabled?: boolean | null;
}

type RulePatch = { [K in keyof RuleInput]?: RuleInput[K] | null };

function validateRule(input: RulePatch): void {
  if (input.code != null && !/^[A-Z][A-Z0-9]{1,9}-\d{3}$/.test(input.code))
    throw AppError.badInput('code must look like TEN-101');
  if (input.name != null && (input.name.length < 1 || input.name.length > 200))
    throw AppError.badInput('name must be 1..200 characters');
  if (input.severity != null && !SEVERITIES.includes(input.severity))
    throw AppError.badInput(`severity must be one of ${SEVERITIES.join(', ')}`);
  if (input.params && JSON.stringify(input.params).length > 10_000) throw AppError.badInput('params too large');
  if (input.scope && JSON.stringify(input.scope).length > 10_000) throw AppError.badInput('scope too large');
}

/** Alert rules of the active tenant (Tenant Admin); built-in provider rules are read-only. */
export const AlertRuleMutations = {
  async createAlertRule(_: unknown, { input }: { input: RuleInput }, ctx: GatewayContext) {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'alert.manage');
    validateRule(input);
    const row = await ctx.em.fork().transactional(async (tx) => {
      // Tenants add rules of the kinds the evaluators know (those of the built-in rules).
      const [known] = await tx.execute(`SELECT 1 FROM alert_rule WHERE tenant_id IS NULL AND kind = ? LIMIT 1`, [
        input.kind,
      ]);
      if (!known) throw AppError.badInput(`unknown rule kind ${input.kind}`);
      const [r] = await tx.execute<AlertRuleRow[]>(
        `INSERT INTO alert_rule (tenant_id, code, kind, name, severity, params, scope, enabled, created_by)
         VALUES (?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?) RETURNING id, tenant_id, code, kind, name, severity, params, scope, enabled`,
        [
          scope.tenantId,
          input.code,
          input.kind,
          input.name,
          input.severity,
          JSON.stringify(input.params ?? {}),
          JSON.stringify(input.scope ?? {}),
          input.enabled ?? true,
          ctx.auth.principal!.userId,
        ],
      );
      await ctx.services.audit.record(tx, ctx, {
        action: 'alert_rule.created',
        outcome: 'success',
        actor: actorOf(ctx),
        tenantIds: [scope.tenantId],
        target: { type: 'alert-rule', id: r!.id, name: input.code },
        payload: { kind: input.kind, severity: input.severity, params: input.params ?? {}, scope: input.scope ?? {} },
      });
      return r!;
    });
    await ctx.services.audit.wake(ctx.requestId);
    return toRule(row);
  },

  async updateAlertRule(_: unknown, args: { id: string; input: RulePatch }, ctx: GatewayContext) {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'alert.manage');
    validateRule({ ...args.input, code: undefined });
    const id = keyOf(args.id, 'AlertRule');
    const i = args.input;
    const row = id
      ? await ctx.em.fork().transactional(async (tx) => {
          const [r] = await tx.execute<AlertRuleRow[]>(
            `UPDATE alert_rule SET name = COALESCE(?, name), severity = COALESCE(?, severity), params = COALESCE(?::jsonb, params),
                    scope = COALESCE(?::jsonb, scope), enabled = COALESCE(?, enabled), updated_at = now()
              WHERE id = ? AND tenant_id = ? RETURNING id, tenant_id, code, kind, name, severity, params, scope, enabled`,
            [
              i.name ?? null,
              i.severity ?? null,
              i.params ? JSON.stringify(i.params) : null,
              i.scope ? JSON.stringify(i.scope) : null,
              i.enabled ?? null,
              id,
              scope.tenantId,
            ],
          );
          if (!r) return null;
          await ctx.services.audit.record(tx, ctx, {
            action: 'alert_rule.updated',
            outcome: 'success',
            actor: actorOf(ctx),
            tenantIds: [scope.tenantId],
            target: { type: 'alert-rule', id, name: r.code },
            payload: { ...i },
          });
          return r;
        })
      : null;
    if (!row) throw await notFound(ctx, 'AlertRule', args.id);
    await ctx.services.audit.wake(ctx.requestId);
    return toRule(row);
  },

  async deleteAlertRule(_: unknown, args: { id: string }, ctx: GatewayContext): Promise<boolean> {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'alert.manage');
    const id = keyOf(args.id, 'AlertRule');
    const ok = id
      ? await ctx.em.fork().transactional(async (tx) => {
          const [r] = await tx.execute<Array<{ code: string }>>(
            `DELETE FROM alert_rule WHERE id = ? AND tenant_id = ? RETURNING code`,
            [id, scope.tenantId],
          );
          if (!r) return false;
          await ctx.services.audit.record(tx, ctx, {
            action: 'alert_rule.deleted',
            outcome: 'success',
            actor: actorOf(ctx),
            tenantIds: [scope.tenantId],
            target: { type: 'alert-rule', id, name: r.code },
          });
          return true;
        })
      : false;
    if (!ok) throw await notFound(ctx, 'AlertRule', args.id);
    await ctx.services.audit.wake(ctx.requestId);
    return true;
  },
};
