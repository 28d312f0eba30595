import { z } from 'zod';
import { byType, pveBool, pveInt, pveNumber, pveUint, vmid, withRaw } from './common.ts';

/** GET /cluster/status: one `cluster` item (clusters only) and one item per node. `quorate`, `local`, `online` → boolean. */
export const clusterStatusItemSchema = byType(
  {
    cluster: z.looseObject({
      type: z.literal('cluster'),
      id: z.string(),
      name: z.string(),
      nodes: pveUint,
      quorate: pveBool,
      version: pveUint,
    }),
    node: z.looseObject({
      type: z.literal('node'),
      id: z.string(),
      name: z.string(),
      nodeid: pveUint.optional(),
      ip: z.string().optional(),
      local: pveBool.optional(),
      online: pveBool.optional(),
      level: z.string().optional(),
    }),
  },
  z.looseObject({ type: z.string(), id: z.string(), name: z.string().optional() }),
);
export const clusterStatusSchema = z.array(clusterStatusItemSchema);
export type PveClusterStatusItem = z.output<typeof clusterStatusItemSchema>;

const usage = {
  cpu: pveNumber.optional(),
  maxcpu: pveNumber.optional(),
  mem: pveUint.optional(),
  maxmem: pveUint.optional(),
  disk: pveUint.optional(),
  maxdisk: pveUint.optional(),
  uptime: pveUint.optional(),
};

/** qemu/lxc entry of /cluster/resources (also pool members). `template` → boolean; raw JSON kept in `raw`. */
export const guestResourceSchema = withRaw(
  z.looseObject({
    id: z.string(),
    type: z.enum(['qemu', 'lxc']),
    vmid,
    node: z.string(),
    status: z.string(),
    name: z.string().optional(),
    template: pveBool.optional(),
    ...usage,
    memhost: pveUint.optional(),
    netin: pveUint.optional(),
    netout: pveUint.optional(),
    diskread: pveUint.optional(),
    diskwrite: pveUint.optional(),
    pool: z.string().optional(),
    lock: z.string().optional(),
    tags: z.string().optional(),
    hastate: z.string().optional(),
  }),
);

export const nodeResourceSchema = z.looseObject({
  id: z.string(),
  type: z.literal('node'),
  node: z.string(),
  status: z.string(),
  level: z.string().optional(),
  ...usage,
  'cgroup-mode': pveInt.optional(),
  'host-arch': z.string().optional(),
  hastate: z.string().optional(),
});

/** `shared` → boolean. */
export const storageResourceSchema = z.looseObject({
  id: z.string(),
  type: z.literal('storage'),
  storage: z.string(),
  node: z.string(),
  status: z.string(),
  plugintype: z.string().optional(),
  shared: pveBool.optional(),
  content: z.string().optional(),
  disk: pveUint.optional(),
  maxdisk: pveUint.optional(),
});

export const poolResourceSchema = z.looseObject({
  id: z.string(),
  type: z.literal('pool'),
  pool: z.string(),
  ...usage,
});

export const sdnResourceSchema = z.looseObject({
  id: z.string(),
  type: z.literal('sdn'),
  sdn: z.string(),
  node: z.string(),
  status: z.string().optional(),
  'zone-type': z.string().optional(),
});

export const networkResourceSchema = z.looseObject({
  id: z.string(),
  type: z.literal('network'),
  network: z.string(),
  'network-type': z.enum(['zone', 'fabric']).optional(),
  node: z.string(),
  status: z.string().optional(),
  protocol: z.string().optional(),
  'zone-type': z.string().optional(),
});

/** A resource type this client does not model (e.g. legacy `openvz`, or one added by a newer PVE). */
export const otherResourceSchema = z.looseObject({ id: z.string(), type: z.string(), node: z.string().optional() });

/** GET /cluster/resources[?type=vm|storage|node|sdn] */
export const clusterResourceSchema = byType(
  {
    qemu: guestResourceSchema,
    lxc: guestResourceSchema,
    node: nodeResourceSchema,
    storage: storageResourceSchema,
    pool: poolResourceSchema,
    sdn: sdnResourceSchema,
    network: networkResourceSchema,
  },
  otherResourceSchema,
);
/** Each resource id appears once: PVE builds the list from one map per type, so a repeat is a broken response. */
export const clusterResourcesSchema = z.array(clusterResourceSchema).superRefine((items, ctx) => {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const id = (item as { id?: unknown }).id;
    if (typeof id !== 'string') return;
    if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate resource id '${id}'` });
    seen.add(id);
  });
});
export type PveClusterResource = z.output<typeof clusterResourceSchema>;
export type PveGuestResource = z.output<typeof guestResourceSchema>;
export type PveNodeResource = z.output<typeof nodeResourceSchema>;
export type PveStorageResource = z.output<typeof storageResourceSchema>;

/** GET /cluster/log: newest first; `id` = `<uid>:<node>` added by the API (formats.md §4). */
export const clusterLogEntrySchema = z.looseObject({
  uid: pveUint,
  time: pveUint,
  pri: pveInt.pipe(z.number().int().min(0).max(7)),
  tag: z.string(),
  pid: pveUint,
  node: z.string(),
  user: z.string(),
  msg: z.string(),
  id: z.string(),
});
export const clusterLogSchema = z.array(clusterLogEntrySchema);
export type PveClusterLogEntry = z.output<typeof clusterLogEntrySchema>;

/** GET /nodes */
export const nodeListItemSchema = z.looseObject({
  node: z.string(),
  status: z.enum(['online', 'offline', 'unknown']),
  id: z.string().optional(),
  type: z.literal('node').optional(),
  level: z.string().optional(),
  ssl_fingerprint: z.string().optional(),
  ...usage,
});
export const nodeListSchema = z.array(nodeListItemSchema);
export type PveNode = z.output<typeof nodeListItemSchema>;
