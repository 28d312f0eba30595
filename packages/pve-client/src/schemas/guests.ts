import { z } from 'zod';
import { pveBool, pveNumber, pveUint, vmid, withRaw } from './common.ts';

const guestCommon = {
  vmid,
  status: z.enum(['running', 'stopped']),
  name: z.string().optional(),
  cpus: pveNumber.optional(),
  cpu: pveNumber.optional(),
  maxmem: pveUint.optional(),
  mem: pveUint.optional(),
  maxdisk: pveUint.optional(),
  disk: pveUint.optional(),
  uptime: pveUint.optional(),
  netin: pveUint.optional(),
  netout: pveUint.optional(),
  diskread: pveUint.optional(),
  diskwrite: pveUint.optional(),
  pid: pveUint.optional(),
  lock: z.string().optional(),
  tags: z.string().optional(),
  template: pveBool.optional(),
};

/** GET /nodes/{node}/qemu item. `template`, `serial` → boolean. Raw JSON kept in `raw`. */
export const qemuListItemSchema = withRaw(
  z.looseObject({
    ...guestCommon,
    memhost: pveUint.optional(),
    qmpstatus: z.string().optional(),
    'running-machine': z.string().optional(),
    'running-qemu': z.string().optional(),
    serial: pveBool.optional(),
  }),
);
export type PveQemuListItem = z.output<typeof qemuListItemSchema>;

/** GET /nodes/{node}/lxc item. `vmid` arrives as a string here on real PVE; typed result is a number. */
export const lxcListItemSchema = withRaw(
  z.looseObject({
    ...guestCommon,
    type: z.literal('lxc').optional(),
    maxswap: pveUint.optional(),
    swap: pveUint.optional(),
  }),
);
export type PveLxcListItem = z.output<typeof lxcListItemSchema>;

/** GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current: the list fields plus `ha` (`managed` → boolean). */
export const guestStatusSchema = withRaw(
  z.looseObject({
    ...guestCommon,
    type: z.enum(['qemu', 'lxc']).optional(),
    qmpstatus: z.string().optional(),
    agent: pveBool.optional(),
    spice: pveBool.optional(),
    serial: pveBool.optional(),
    ha: z
      .looseObject({ managed: pveBool.optional(), state: z.string().optional(), group: z.string().optional() })
      .optional(),
  }),
);
export type PveGuestStatus = z.output<typeof guestStatusSchema>;
