// Inventory source: /cluster/resources → pve_node + guest rows and guest.* / node.* events.
import type { AuditSourceEvent } from '@tenantgate/shared';
import type { GuestResource, NodeResource } from '../pve-api.ts';
import { buildEvent, dedupKey, type EventDraft } from '../events.ts';
import { commitSources, cursorOf, loadCursors } from '../store.ts';
import { sqlOf } from '../sql.ts';
import type { SourceContext, SourceOutcome } from '../source-context.ts';
import {
  diffInventory,
  guestRowChanged,
  guestStateFromResource,
  type GuestChange,
  type GuestState,
} from './inventory-diff.ts';

export const INVENTORY_SOURCE = 'inventory';

export interface InventorySnapshot {
  /** Nodes by name with their status (online/offline/unknown). */
  nodes: Map<string, string>;
  /** Current guests by vmid. */
  guests: Map<number, GuestState>;
}

interface StoredGuestRow {
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  name: string | null;
  status: string;
  pool: string | null;
  tags: string[];
  template: boolean;
  maxcpu: number | null;
  maxmem: string | number | null;
  maxdisk: string | number | null;
  deleted: boolean;
}

export async function loadStoredGuests(
  ctx: Pick<SourceContext, 'em' | 'connectionId'>,
): Promise<Map<number, GuestState>> {
  const rows = await sqlOf(ctx.em).query<StoredGuestRow>(
    `SELECT vmid, type, node, name, status, pool, tags, template, maxcpu, maxmem, maxdisk, deleted_at IS NOT NULL AS deleted
       FROM guest WHERE connection_id = $1`,
    [ctx.connectionId],
  );
  const out = new Map<number, GuestState>();
  for (const r of rows) {
    if (r.deleted) continue;
    out.set(r.vmid, {
      vmid: r.vmid,
      type: r.type,
      node: r.node,
      name: r.name,
      status: r.status,
      pool: r.pool,
      tags: [...r.tags].sort(),
      template: r.template,
      maxcpu: r.maxcpu,
      maxmem: r.maxmem === null ? null : Number(r.maxmem),
      maxdisk: r.maxdisk === null ? null : Number(r.maxdisk),
    });
  }
  return out;
}

const ACTION: Record<GuestChange['kind'], string> = {
  created: 'guest.created',
  deleted: 'guest.deleted',
  moved_node: 'guest.moved_node',
  moved_pool: 'guest.moved_pool',
  state_changed: 'guest.state_changed',
  config_changed: 'guest.config_changed',
};

function guestEvent(ctx: SourceContext, generation: number, change: GuestChange, at: string): EventDraft {
  const g = (change.after ?? change.before) as GuestState;
  const payload: Record<string, unknown> = { before: change.before, after: change.after };
  if (change.fields) payload.fields = change.fields;
  return {
    dedupKey: dedupKey(ctx.connectionId, 'inventory', generation, change.vmid, change.kind),
    source: 'pve.inventory',
    connectionId: ctx.connectionId,
    occurredAt: at,
    category: 'guest',
    action: ACTION[change.kind],
    outcome: 'success',
    actor: { type: 'unknown', id: null, principal: null },
    node: g.node,
    target: { type: g.type, id: String(g.vmid), name: g.name, path: `/vms/${g.vmid}` },
    guest: {
      vmid: g.vmid,
      // A deleted guest is attributed through the pool it was in.
      pool: change.after ? change.after.pool : (change.before?.pool ?? null),
      ...(change.kind === 'moved_pool' ? { previousPool: change.before?.pool ?? null } : {}),
    },
    detection: 'diff',
    payload,
  };
}

/**
 * Polls the inventory. Returns the snapshot (the tasks and journal sources use its node list) or
 * throws; a failure writes nothing.
 */
export async function syncInventory(
  ctx: SourceContext,
): Promise<{ outcome: SourceOutcome; snapshot: InventorySnapshot }> {
  const resources = await ctx.api.clusterResources();
  const observed = ctx.now();
  const at = observed.toISOString();
  const nodes = new Map<string, string>();
  const nodeRows: Array<{ node: string; status: string; raw: unknown }> = [];
  const current = new Map<number, GuestState>();
  const raws = new Map<number, GuestResource>();
  for (const r of resources) {
    if (r.type === 'node') {
      const n = r as NodeResource;
      nodes.set(n.node, n.status);
      nodeRows.push({ node: n.node, status: n.status, raw: n });
    } else if (r.type === 'qemu' || r.type === 'lxc') {
      const g = r as GuestResource;
      current.set(g.vmid, guestStateFromResource(g));
      raws.set(g.vmid, g);
    }
  }

  const cursor = cursorOf(await loadCursors(ctx.em, ctx.connectionId, INVENTORY_SOURCE), INVENTORY_SOURCE);
  const stored = await loadStoredGuests(ctx);
  const storedNodes = new Map(
    (
      await sqlOf(ctx.em).query<{ node: string; status: string }>(
        `SELECT node, status FROM pve_node WHERE connection_id = $1`,
        [ctx.connectionId],
      )
    ).map((r) => [r.node, r.status]),
  );
  const baseline = cursor.v === 0;
  const generation = cursor.v + 1;
  const changes = diffInventory(stored, current);

  const drafts: EventDraft[] = [];
  if (baseline) {
    drafts.push({
      dedupKey: dedupKey(ctx.connectionId, 'inventory', generation, 'baseline'),
      source: 'pve.inventory',
      connectionId: ctx.connectionId,
      occurredAt: at,
      category: 'inventory',
      action: 'inventory.baseline',
      outcome: 'success',
      actor: { type: 'system', id: null, principal: null },
      detection: 'diff',
      payload: { guests: current.size, nodes: nodes.size },
    });
  } else {
    for (const c of changes) drafts.push(guestEvent(ctx, generation, c, at));
    for (const [node, status] of nodes) {
      const before = storedNodes.get(node);
      if (before === status) continue;
      drafts.push({
        dedupKey: dedupKey(ctx.connectionId, 'inventory', generation, 'node', node),
        source: 'pve.inventory',
        connectionId: ctx.connectionId,
        occurredAt: at,
        category: 'node',
        action: before === undefined ? 'node.added' : 'node.status_changed',
        outcome: 'success',
        actor: { type: 'unknown', id: null, principal: null },
        node,
        target: { type: 'node', id: node, name: node, path: `/nodes/${node}` },
        detection: 'diff',
        payload: { before: before ?? null, after: status },
      });
    }
  }
  const events: AuditSourceEvent[] = drafts.map((d) => buildEvent(d, observed));

  const upserts = [...current.values()]
    .filter((g) => guestRowChanged(stored.get(g.vmid), g))
    .map((g) => ({ ...g, uptime: raws.get(g.vmid)?.uptime ?? null, raw: raws.get(g.vmid)?.raw ?? {} }));
  const deleted = [...stored.keys()].filter((vmid) => !current.has(vmid));

  const { inserted, commitKey } = await commitSources(
    ctx.em,
    ctx.connectionId,
    [{ source: INVENTORY_SOURCE, expected: cursor.v, next: { guests: current.size, nodes: nodes.size } }],
    events,
    async (sql) => {
      if (nodeRows.length > 0) {
        await sql.exec(
          `INSERT INTO pve_node (connection_id, node, status, raw, last_seen_at)
           SELECT $1, n.node, n.status, n.raw, now() FROM jsonb_to_recordset($2::jsonb) AS n(node text, status text, raw jsonb)
           ON CONFLICT (connection_id, node) DO UPDATE SET status = EXCLUDED.status, raw = EXCLUDED.raw, last_seen_at = now()`,
          [ctx.connectionId, JSON.stringify(nodeRows)],
        );
      }
      for (let i = 0; i < upserts.length; i += 2000) {
        await sql.exec(
          `INSERT INTO guest AS g (connection_id, vmid, type, node, name, status, pool, tags, template, maxcpu, maxmem, maxdisk, uptime, raw, last_seen_at)
           SELECT $1, r.vmid, r.type, r.node, r.name, r.status, r.pool, r.tags, r.template, r.maxcpu, r.maxmem, r.maxdisk, r.uptime, r.raw, now()
             FROM jsonb_to_recordset($2::jsonb) AS r(vmid int, type text, node text, name text, status text, pool text, tags text[],
                  template boolean, maxcpu float8, maxmem bigint, maxdisk bigint, uptime bigint, raw jsonb)
           ON CONFLICT (connection_id, vmid) DO UPDATE
              SET type = EXCLUDED.type, node = EXCLUDED.node, name = EXCLUDED.name, status = EXCLUDED.status,
                  pool = EXCLUDED.pool, tags = EXCLUDED.tags, template = EXCLUDED.template, maxcpu = EXCLUDED.maxcpu,
                  maxmem = EXCLUDED.maxmem, maxdisk = EXCLUDED.maxdisk, uptime = EXCLUDED.uptime, raw = EXCLUDED.raw,
                  last_seen_at = now(),
                  first_seen_at = CASE WHEN g.deleted_at IS NOT NULL THEN now() ELSE g.first_seen_at END,
                  deleted_at = NULL`,
          [ctx.connectionId, JSON.stringify(upserts.slice(i, i + 2000))],
        );
      }
      if (deleted.length > 0) {
        await sql.exec(
          `UPDATE guest SET deleted_at = now() WHERE connection_id = $1 AND vmid = ANY($2::int[]) AND deleted_at IS NULL`,
          [ctx.connectionId, deleted],
        );
      }
    },
  );
  if (inserted > 0) await ctx.onCommitted(INVENTORY_SOURCE, inserted, commitKey);
  return { outcome: { failures: [], succeeded: [INVENTORY_SOURCE], inserted }, snapshot: { nodes, guests: current } };
}
