import { z } from 'zod';

/** GET /version */
export const versionSchema = z.looseObject({
  version: z.string().min(1),
  release: z.string().min(1),
  repoid: z.string(),
  console: z.enum(['applet', 'vv', 'html5', 'xtermjs']).optional(),
});
export type PveVersion = z.output<typeof versionSchema>;

/** GET /nodes/{node}/time: `localtime` is the wall clock read as UTC (time + the zone's offset). */
export const nodeTimeSchema = z.looseObject({
  timezone: z.string().min(1),
  time: z.coerce.number().int(),
  localtime: z.coerce.number().int(),
});
export type PveNodeTime = z.output<typeof nodeTimeSchema>;
