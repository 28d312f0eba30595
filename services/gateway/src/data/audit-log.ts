import type { Em } from '@tenantgate/shared';
import { decodeCursor, encodeCursor } from '../graphql/relay.ts';
import type { Page } from './resources.ts';
import { likePattern, Where } from './sql.ts';

export interface AuditRow {
  chain_id: string;
  seq: string;
  event_id: string;
  tenant_id: string | null;
  occurred_at: Date;
  recorded_at: Date;
  source: string;
  category: string;
  action: string;
  outcome: string;
  actor_type: string;
  actor_id: string | null;
  actor_principal: string | null;
  src_ip: string | null;
  node: string | null;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  target_path: string | null;
  upid: string | null;
  request_id: string | null;
  detection: string;
  payload: Record<string, unknown> | null;
  record_hash: Buffer;
}

export interface AuditFilter {
  actor?: string | null;
  action?: string | null;
  outcome?: string | null;
  target?: string | null;
  srcIp?: string | null;
  from?: Date | null;
  to?: Date | null;
  text?: string | null;
}

/**
 * One audit chain (a tenant's, or 'provider'), newest first by seq. The caller passes a chain id it
 * obtained from the authorization service; the chain id is the SQL predicate.
 */
export class AuditLogRepository {
  async page(
    em: Em,
    chainId: string,
    filter: AuditFilter,
    first: number,
    after: string | null,
  ): Promise<Page<AuditRow>> {
    const w = new Where().add('r.chain_id = ?', chainId);
    if (filter.actor) w.add('(r.actor_id = ? OR r.actor_principal = ?)', filter.actor, filter.actor);
    if (filter.action)
      w.add(
        filter.action.endsWith('.') ? 'r.action LIKE ?' : 'r.action = ?',
        filter.action.endsWith('.') ? `${filter.action}%` : filter.action,
      );
    if (filter.outcome) w.add('r.outcome = ?', filter.outcome);
    if (filter.target)
      w.add('(r.target_id = ? OR r.target_name = ? OR r.target_path = ?)', filter.target, filter.target, filter.target);
    if (filter.srcIp) w.add('r.src_ip = ?', filter.srcIp);
    if (filter.from) w.add('r.occurred_at >= ?', filter.from);
    if (filter.to) w.add('r.occurred_at < ?', filter.to);
    if (filter.text) {
      const p = likePattern(filter.text);
      // Free text: every human-meaningful column of the record (UPIDs and ACL paths included).
      const columns = [
        'r.action',
        'r.actor_id',
        'r.actor_principal',
        'r.target_id',
        'r.target_name',
        'r.target_path',
        'r.upid',
        'r.node',
        'r.src_ip',
        'r.request_id',
        'r.payload::text',
      ];
      w.add(`(${columns.map((c) => `${c} ILIKE ? ESCAPE '\\'`).join(' OR ')})`, ...columns.map(() => p));
    }
    if (after) {
      const [seq] = decodeCursor(after, ['bigint']);
      w.add('r.seq < ?::bigint', String(seq));
    }
    const rows = await em.execute<AuditRow[]>(
      `SELECT r.chain_id, r.seq::text AS seq, r.event_id, r.tenant_id, r.occurred_at, r.recorded_at, r.source, r.category,
              r.action, r.outcome, r.actor_type, r.actor_id, r.actor_principal, r.src_ip, r.node, r.target_type, r.target_id,
              r.target_name, r.target_path, r.upid, r.request_id, r.detection, r.payload, r.record_hash
         FROM audit_record r ${w} ORDER BY r.seq DESC LIMIT ${first + 1}`,
      w.params,
    );
    const pageRows = rows.slice(0, first);
    return { rows: pageRows, cursors: pageRows.map((r) => encodeCursor([r.seq])), hasNextPage: rows.length > first };
  }
}
