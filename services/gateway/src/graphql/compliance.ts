import { AppError } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { actorOf } from './mutations.ts';
import { keyOf } from './resolvers.ts';
import { toAlertRule } from './mappers.ts';
import type { AuditLogFilter } from './types.ts';
import { serializeBundle } from '@tenantgate/audit-core';
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

/** Longest string kept verbatim in the payload of an audited read or export. */
export const AUDITED_STRING_MAX = 256;

/**
 * `value` with every string longer than `max` cut to its first `max` characters plus
 * `…(N chars)` (N: the original length); never splits a surrogate pair. Dates and other
 * Buffers are kept as they are.
 */
export function capStrings(value: unknown, max = AUDITED_STRING_MAX): unknown {
  if (typeof value === 'string') {
    if (value.length <= max) return value;
    const cut = /[\uD800-\uDBFF]/.test(value[max - 1]!) ? max - 1 : max;
    return `${value.slice(0, cut)}…(${value.length} chars)`;
  }
  if (Array.isArray(value)) return value.map((v) => capStrings(v, max));
  if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return value;
  // Plain objects and type-graphql's input class instances alike.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capStrings(v, max)]));
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
      // Filters are the caller's free text: a 90 kB search string is not kept verbatim in the trail.
      payload: capStrings(payload) as Record<string, unknown>,
    });
  });
  await ctx.services.audit.wake(ctx.requestId);
}

/** Filter fields a verifiable export supports: a bundle is a contiguous occurred_at range of one chain. */
const EXPORT_FILTER_FIELDS = new Set(['from', 'to', 'provider']);
/** `to` when the filter gives none: far enough to include records with a skewed source clock. */
const END_OF_TIME = new Date('9999-12-31T00:00:00.000Z');

export const ComplianceQueries = {
  /**
   * Exports the chain's records in [filter.from, filter.to) as an audit-core bundle (JSONL or CSV):
   * the records, the context records and checkpoints that link them to signatures, the public
   * keys and the verification report. `tenantgate audit verify --bundle` checks it offline. At
   * most 10,000 selected records (the oldest; `truncated` says when more matched). Audited.
   */
  async auditExport(
    _: unknown,
    args: { filter?: AuditLogFilter | null; format: 'JSONL' | 'CSV' },
    ctx: GatewayContext,
  ) {
    const chainId = auditChainFor(ctx, args.filter?.provider ?? false, 'audit.export');
    const unsupported = Object.entries(args.filter ?? {})
      .filter(([k, v]) => v !== null && v !== undefined && !EXPORT_FILTER_FIELDS.has(k))
      .map(([k]) => k);
    if (unsupported.length)
      throw AppError.badInput(
        `an export is a verifiable time range of the chain: filter by from/to only (not ${unsupported.join(', ')})`,
      );
    const from = args.filter?.from ?? new Date(0);
    const to = args.filter?.to ?? END_OF_TIME;
    if (!(from < to)) throw AppError.badInput('filter.from must be before filter.to');
    const { bundle, truncated } = await ctx.services.auditBundles.build(ctx.em, {
      chainId,
      from,
      to,
      limit: EXPORT_LIMIT,
      exportedBy: ctx.auth.principal?.userId ?? null,
      publicKeys: ctx.services.auditPublicKeys,
    });
    const records = bundle.records.filter((r) => r.inRange).length;
    await auditAccess(ctx, chainId, 'audit.exported', {
      format: args.format,
      records,
      truncated,
      from: bundle.header.from,
      to: bundle.header.to,
      fromSeq: bundle.header.fromSeq,
      toSeq: bundle.header.toSeq,
      verified: bundle.verification?.ok ?? false,
    });
    return {
      format: args.format,
      records,
      truncated,
      data: serializeBundle(bundle, args.format === 'CSV' ? 'csv' : 'jsonl'),
      checkpoints: bundle.checkpoints.map((c) => ({
        seq: String(c.seq),
        headHash: c.headHash,
        createdAt: new Date(c.createdAt),
        keyId: c.keyId,
        signature: Buffer.from(c.signature, 'base64').toString('hex'),
      })),
    };
  },
};

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
    return toAlertRule(row);
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
    return toAlertRule(row);
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
