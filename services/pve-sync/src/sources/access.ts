// Access configuration source: users (with tokens), groups, roles, ACL and pools are snapshotted
// into pve_access_snapshot and diffed into `detection: diff` events, all in one transaction with
// the `access` cursor. The first snapshot of a kind is a baseline: its items are reported as
// `<kind>.observed` (so hygiene findings about existing tokens and grants are raised once).
import { hygieneIndex } from '@tenantgate/pve-access';
import { sha256, type AuditSourceEvent } from '@tenantgate/shared';
import { buildEvent, dedupKey, type EventDraft } from '../events.ts';
import { commitSources, cursorOf, loadCursors } from '../store.ts';
import { sqlOf } from '../sql.ts';
import type { SourceContext, SourceOutcome } from '../source-context.ts';
import {
  ACCESS_KINDS,
  accessItemRef,
  accessUserConfig,
  canonicalJson,
  diffAccessKind,
  normaliseAccess,
  type AccessChange,
  type AccessItems,
  type AccessKind,
  type AccessSnapshot,
} from './access-diff.ts';

export const ACCESS_SOURCE = 'access';

const CATEGORY: Record<AccessKind, string> = {
  users: 'user',
  tokens: 'token',
  groups: 'group',
  roles: 'role',
  acl: 'acl',
  pools: 'pool',
};
const ACL_OPS = { created: 'granted', deleted: 'revoked', changed: 'changed' } as const;

type Hygiene = ReturnType<typeof hygieneIndex>;

function target(
  kind: AccessKind,
  key: string,
  item: Record<string, unknown> | null,
): { type: string; id: string; name: null; path: string | null } {
  switch (kind) {
    case 'users':
      return { type: 'pve-user', id: key, name: null, path: `/access/users/${key}` };
    case 'tokens':
      return { type: 'pve-token', id: key, name: null, path: `/access/users/${key.slice(0, key.indexOf('!'))}` };
    case 'groups':
      return { type: 'pve-group', id: key, name: null, path: `/access/groups/${key}` };
    case 'roles':
      return { type: 'pve-role', id: key, name: null, path: null };
    case 'acl':
      return { type: 'acl', id: key, name: null, path: typeof item?.path === 'string' ? item.path : null };
    case 'pools':
      return { type: 'pve-pool', id: key, name: null, path: `/pool/${key}` };
  }
}

function accessEvent(
  ctx: SourceContext,
  generation: number,
  change:
    AccessChange | { kind: AccessKind; key: string; op: 'observed'; before: null; after: Record<string, unknown> },
  snap: AccessSnapshot,
  hygiene: Hygiene,
  at: Date,
): EventDraft {
  const op = change.kind === 'acl' && change.op !== 'observed' ? ACL_OPS[change.op] : change.op;
  const item = change.after ?? change.before;
  const payload: Record<string, unknown> = { before: change.before, after: change.after };
  // Findings come from pve-access's hygiene engine (the one the CLI and access reviews use), run once
  // over the whole new configuration; an event names the codes of the findings about its item.
  const found = change.after ? hygiene.forItem(accessItemRef(change.kind, change.key, change.after)) : [];
  if (found.length > 0) payload.findings = [...new Set(found.map((f) => f.code))].sort();
  if (change.kind === 'acl') payload.privs = (snap.roles[String(item?.roleid)]?.privs as string[] | undefined) ?? [];
  const hash = sha256(
    canonicalJson([generation, change.kind, change.key, change.op, change.before, change.after]),
  ).toString('hex');
  return {
    dedupKey: dedupKey(ctx.connectionId, 'access', hash),
    source: 'pve.access',
    connectionId: ctx.connectionId,
    occurredAt: at.toISOString(),
    category: CATEGORY[change.kind],
    action: `${CATEGORY[change.kind]}.${op}`,
    outcome: 'success',
    actor: { type: 'unknown', id: null, principal: null },
    target: target(change.kind, change.key, item),
    detection: 'diff',
    payload,
  };
}

export async function syncAccess(ctx: SourceContext): Promise<SourceOutcome> {
  const [users, groups, roles, acl, pools] = await Promise.all([
    ctx.api.users({ full: true }),
    ctx.api.groups(),
    ctx.api.roles(),
    ctx.api.acl(),
    ctx.api.pools(),
  ]);
  const snap = normaliseAccess({ users, groups, roles, acl, pools });
  const observed = ctx.now();
  const hygiene = hygieneIndex(accessUserConfig({ users, groups, roles, acl, pools }), {
    now: Math.floor(observed.getTime() / 1000),
  });
  const cursor = cursorOf(await loadCursors(ctx.em, ctx.connectionId, ACCESS_SOURCE), ACCESS_SOURCE);
  const stored = new Map(
    (
      await sqlOf(ctx.em).query<{ kind: string; digest: string; data: AccessItems }>(
        `SELECT kind, digest, data FROM pve_access_snapshot WHERE connection_id = $1`,
        [ctx.connectionId],
      )
    ).map((r) => [r.kind, r]),
  );
  const generation = cursor.v + 1;
  const drafts: EventDraft[] = [];
  const changedKinds: Array<{ kind: AccessKind; digest: string; data: AccessItems }> = [];
  for (const kind of ACCESS_KINDS) {
    const digest = sha256(canonicalJson(snap[kind])).toString('hex');
    const prev = stored.get(kind);
    if (prev && prev.digest === digest) continue;
    changedKinds.push({ kind, digest, data: snap[kind] });
    if (!prev) {
      for (const [key, after] of Object.entries(snap[kind])) {
        drafts.push(
          accessEvent(ctx, generation, { kind, key, op: 'observed', before: null, after }, snap, hygiene, observed),
        );
      }
    } else {
      for (const change of diffAccessKind(kind, prev.data, snap[kind]))
        drafts.push(accessEvent(ctx, generation, change, snap, hygiene, observed));
    }
  }
  const events: AuditSourceEvent[] = drafts.map((d) => buildEvent(d, observed));
  const { inserted, commitKey } = await commitSources(
    ctx.em,
    ctx.connectionId,
    [
      {
        source: ACCESS_SOURCE,
        expected: cursor.v,
        next: {
          digests: Object.fromEntries(ACCESS_KINDS.map((k) => [k, sha256(canonicalJson(snap[k])).toString('hex')])),
        },
      },
    ],
    events,
    async (sql) => {
      if (changedKinds.length === 0) return;
      await sql.exec(
        `INSERT INTO pve_access_snapshot (connection_id, kind, digest, data, taken_at)
         SELECT $1, s.kind, s.digest, s.data, now() FROM jsonb_to_recordset($2::jsonb) AS s(kind text, digest text, data jsonb)
         ON CONFLICT (connection_id, kind) DO UPDATE SET digest = EXCLUDED.digest, data = EXCLUDED.data, taken_at = now()`,
        [ctx.connectionId, JSON.stringify(changedKinds)],
      );
    },
  );
  if (inserted > 0) await ctx.onCommitted(ACCESS_SOURCE, inserted, commitKey);
  return { failures: [], succeeded: [ACCESS_SOURCE], inserted };
}
