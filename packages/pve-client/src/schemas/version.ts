import { z } from 'zod';

/** GET /version */
export const versionSchema = z.looseObject({
  version: z.string().min(1),
  release: z.string().min(1),
  repoid: z.string(),
  console: z.enum(['applet', 'vv', 'html5', 'xtermjs']).optional(),
});
export type PveVersion = z.output<typeof versionSchema>;
