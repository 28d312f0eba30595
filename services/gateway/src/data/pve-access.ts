import {
  AccessModel,
  hygieneFindings,
  userConfigFromApi,
  type AccessApiData,
  type Finding,
  type UserConfig,
} from '@tenantgate/pve-access';
import type { Em } from '@tenantgate/shared';

// Reads the PVE access configuration pve-sync mirrors into pve_access_snapshot (one row per kind,
// `data` keyed by id; see services/pve-sync access-diff normaliseAccess) and compiles it with the
// access-control engine. Pool membership is not in the snapshot: it comes from the guest table.

interface Snapshot {
  users: Record<string, { enable?: boolean; expire?: number; groups?: string[]; comment?: string }>;
  tokens: Record<string, { privsep?: boolean; expire?: number; comment?: string }>;
  groups: Record<string, { users?: string[]; comment?: string }>;
  roles: Record<string, { privs?: string[]; special?: boolean }>;
  acl: Record<
    string,
    { path: string; type: 'user' | 'group' | 'token'; ugid: string; roleid: string; propagate?: number | boolean }
  >;
  pools: Record<string, { comment?: string }>;
}

export interface CompiledAccess {
  model: AccessModel;
  /** The parsed configuration the model was compiled from (hygiene runs over it). */
  config: UserConfig;
  users: string[];
  tokens: string[];
  snapshot: Snapshot;
  takenAt: Date | null;
}

export async function loadAccessModel(em: Em, connectionId: string): Promise<CompiledAccess | null> {
  const rows = await em.execute<Array<{ kind: keyof Snapshot; data: unknown; taken_at: Date }>>(
    `SELECT kind, data, taken_at FROM pve_access_snapshot WHERE connection_id = ?`,
    [connectionId],
  );
  if (rows.length === 0) return null;
  const snap: Snapshot = { users: {}, tokens: {}, groups: {}, roles: {}, acl: {}, pools: {} };
  let takenAt: Date | null = null;
  for (const r of rows) {
    if (r.kind in snap) (snap as unknown as Record<string, unknown>)[r.kind] = r.data ?? {};
    const t = new Date(r.taken_at);
    if (!takenAt || t < takenAt) takenAt = t;
  }
  const members = await em.execute<Array<{ pool: string; vmid: number; type: string }>>(
    `SELECT pool, vmid, type FROM guest WHERE connection_id = ? AND pool IS NOT NULL AND deleted_at IS NULL`,
    [connectionId],
  );
  const data: AccessApiData = {
    users: Object.entries(snap.users).map(([userid, u]) => ({
      userid,
      enable: u.enable ?? true,
      expire: u.expire ?? 0,
      comment: u.comment ?? null,
      groups: u.groups ?? [],
      tokens: Object.entries(snap.tokens)
        .filter(([id]) => id.startsWith(`${userid}!`))
        .map(([id, t]) => ({
          tokenid: id.slice(userid.length + 1),
          privsep: t.privsep ?? true,
          expire: t.expire ?? 0,
        })),
    })),
    groups: Object.entries(snap.groups).map(([groupid, g]) => ({ groupid, users: g.users ?? [] })),
    roles: Object.entries(snap.roles)
      .filter(([, r]) => !r.special)
      .map(([roleid, r]) => ({ roleid, privs: (r.privs ?? []).join(',') })),
    acl: Object.values(snap.acl).map((a) => ({ ...a, propagate: a.propagate === undefined ? 1 : Number(a.propagate) })),
    pools: Object.keys(snap.pools).map((poolid) => ({
      poolid,
      members: members.filter((m) => m.pool === poolid).map((m) => ({ type: m.type, vmid: m.vmid })),
    })),
  };
  const config = userConfigFromApi(data);
  const model = AccessModel.compile(config, { now: Math.floor(Date.now() / 1000) });
  return { model, config, users: Object.keys(snap.users), tokens: Object.keys(snap.tokens), snapshot: snap, takenAt };
}

export interface PveAccessEntry {
  subject: string;
  kind: 'user' | 'token';
  privileges: string[];
  canAuthenticate: boolean;
  explanation: string[];
}

const KEY_PRIVILEGES = ['VM.Allocate', 'VM.PowerMgmt', 'VM.Console', 'VM.Config.Disk', 'VM.Audit'];

/** Which PVE users and tokens can do what on /vms/<vmid>, each with the engine's explanation. */
export function reviewGuest(access: CompiledAccess, vmid: number): PveAccessEntry[] {
  const path = `/vms/${vmid}`;
  const out: PveAccessEntry[] = [];
  const subjects = ['root@pam', ...access.users.filter((u) => u !== 'root@pam')].map((s) => [s, 'user'] as const);
  for (const [subject, kind] of [...subjects, ...access.tokens.map((t) => [t, 'token'] as const)]) {
    const perms = access.model.permissions(subject, path);
    const privileges = Object.keys(perms).sort();
    if (privileges.length === 0) continue;
    const key = KEY_PRIVILEGES.find((p) => p in perms) ?? privileges[0]!;
    out.push({
      subject,
      kind,
      privileges,
      canAuthenticate: access.model.accountStatus(subject).canAuthenticate,
      explanation: access.model.explain(subject, path, key).sentences,
    });
  }
  return out;
}

export interface HygieneFinding {
  code: Finding['code'];
  severity: Finding['severity'];
  subject: string;
  subjectType: Finding['subjectType'];
  path: string | null;
  detail: string;
}

/**
 * The seed security checklist over one connection's mirrored access configuration: the
 * access-control engine's findings (the same engine and codes pve-sync puts in its access events).
 */
export function hygiene(
  access: CompiledAccess,
  lastLogin: ReadonlyMap<string, Date>,
  now = new Date(),
): HygieneFinding[] {
  const lastLoginByUser = new Map([...lastLogin].map(([who, at]) => [who, Math.floor(at.getTime() / 1000)]));
  return hygieneFindings(access.config, { now: Math.floor(now.getTime() / 1000), lastLoginByUser }).map((f) => ({
    code: f.code,
    severity: f.severity,
    subject: f.subject,
    subjectType: f.subjectType,
    path: f.path ?? null,
    detail: f.message,
  }));
}
