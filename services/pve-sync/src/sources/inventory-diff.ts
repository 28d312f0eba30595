// Pure diff of two inventory states of one connection (GUIDE §2: created / deleted / moved node /
// moved pool / state changed / config changed).
import type { GuestResource } from '../pve-api.ts';

export interface GuestState {
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  name: string | null;
  status: string;
  pool: string | null;
  tags: string[];
  template: boolean;
  maxcpu: number | null;
  maxmem: number | null;
  maxdisk: number | null;
}

export type GuestChangeKind = 'created' | 'deleted' | 'moved_node' | 'moved_pool' | 'state_changed' | 'config_changed';

export interface GuestChange {
  kind: GuestChangeKind;
  vmid: number;
  before: GuestState | null;
  after: GuestState | null;
  /** For config_changed: the fields that differ. */
  fields?: string[];
}

const CONFIG_FIELDS = ['type', 'name', 'tags', 'template', 'maxcpu', 'maxmem', 'maxdisk'] as const;

export function guestStateFromResource(r: GuestResource): GuestState {
  return {
    vmid: r.vmid,
    type: r.type,
    node: r.node,
    name: r.name ?? null,
    status: r.status,
    pool: r.pool ?? null,
    tags: r.tags
      ? r.tags
          .split(/[;,\s]+/)
          .filter((t) => t !== '')
          .sort()
      : [],
    template: r.template ?? false,
    maxcpu: r.maxcpu ?? null,
    maxmem: r.maxmem ?? null,
    maxdisk: r.maxdisk ?? null,
  };
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

/**
 * `before`: live guests as stored (deleted ones excluded); `after`: the current inventory.
 * Returns the changes in vmid order; one guest may have several (moved and stopped, say).
 */
export function diffInventory(
  before: ReadonlyMap<number, GuestState>,
  after: ReadonlyMap<number, GuestState>,
): GuestChange[] {
  const changes: GuestChange[] = [];
  const vmids = new Set<number>([...before.keys(), ...after.keys()]);
  for (const vmid of [...vmids].sort((a, b) => a - b)) {
    const b = before.get(vmid) ?? null;
    const a = after.get(vmid) ?? null;
    if (!b && a) changes.push({ kind: 'created', vmid, before: null, after: a });
    else if (b && !a) changes.push({ kind: 'deleted', vmid, before: b, after: null });
    else if (b && a) {
      if (b.node !== a.node) changes.push({ kind: 'moved_node', vmid, before: b, after: a });
      if (b.pool !== a.pool) changes.push({ kind: 'moved_pool', vmid, before: b, after: a });
      if (b.status !== a.status) changes.push({ kind: 'state_changed', vmid, before: b, after: a });
      const fields = CONFIG_FIELDS.filter((f) => !same(b[f], a[f]));
      if (fields.length > 0) changes.push({ kind: 'config_changed', vmid, before: b, after: a, fields: [...fields] });
    }
  }
  return changes;
}

/** True when the stored row must be rewritten (any tracked field differs). */
export function guestRowChanged(b: GuestState | undefined, a: GuestState): boolean {
  if (!b) return true;
  return (Object.keys(a) as Array<keyof GuestState>).some((k) => !same(a[k], b[k]));
}
