import { z } from 'zod';
import { byType } from './common.ts';
import { guestResourceSchema, otherResourceSchema, storageResourceSchema } from './cluster.ts';

/** GET /pools */
export const poolListItemSchema = z.looseObject({ poolid: z.string(), comment: z.string().optional() });
export const poolListSchema = z.array(poolListItemSchema);
export type PvePoolListItem = z.output<typeof poolListItemSchema>;

export const poolMemberSchema = byType(
  { qemu: guestResourceSchema, lxc: guestResourceSchema, storage: storageResourceSchema },
  otherResourceSchema,
);
export type PvePoolMember = z.output<typeof poolMemberSchema>;

/** GET /pools?poolid=<id>: a one-element array `[{poolid, comment?, members}]`. */
export const poolDetailSchema = z.looseObject({
  poolid: z.string(),
  comment: z.string().optional(),
  members: z.array(poolMemberSchema),
});
export const poolDetailListSchema = z.array(poolDetailSchema).length(1, 'expected exactly one pool');
export type PvePool = z.output<typeof poolDetailSchema>;
