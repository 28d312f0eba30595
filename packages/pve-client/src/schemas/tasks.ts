import { z } from 'zod';
import { pveBoolLoose, pveUint, upid } from './common.ts';

const taskCore = {
  upid,
  node: z.string(),
  type: z.string(),
  id: z.string(),
  user: z.string(),
  tokenid: z.string().optional(),
  starttime: pveUint,
};

/**
 * GET /cluster/tasks item: `pid` only while running, no `pstart`; `saved` ("0"/"1" or 0/1) → boolean;
 * `status`/`endtime` only when finished.
 */
export const clusterTaskSchema = z.looseObject({
  ...taskCore,
  pid: pveUint.optional(),
  pstart: pveUint.optional(),
  saved: pveBoolLoose.optional(),
  endtime: pveUint.optional(),
  status: z.string().optional(),
});
export const clusterTasksSchema = z.array(clusterTaskSchema);
export type PveClusterTask = z.output<typeof clusterTaskSchema>;

/** GET /nodes/{node}/tasks item. Active-source items carry `saved` and `status: "RUNNING"` while running. */
export const nodeTaskSchema = z.looseObject({
  ...taskCore,
  pid: pveUint,
  pstart: pveUint,
  saved: pveBoolLoose.optional(),
  endtime: pveUint.optional(),
  status: z.string().optional(),
});
export const nodeTasksSchema = z.array(nodeTaskSchema);
export type PveNodeTask = z.output<typeof nodeTaskSchema>;

/** GET /nodes/{node}/tasks/{upid}/status */
export const taskStatusSchema = z.looseObject({
  ...taskCore,
  pid: pveUint,
  pstart: pveUint,
  status: z.enum(['running', 'stopped']),
  exitstatus: z.string().optional(),
});
export type PveTaskStatus = z.output<typeof taskStatusSchema>;

/** `{n, t}` lines of GET /nodes/{node}/tasks/{upid}/log and /nodes/{node}/syslog. */
export const logLineSchema = z.looseObject({ n: pveUint, t: z.string() });
export const logLinesSchema = z.array(logLineSchema);
export type PveLogLine = z.output<typeof logLineSchema>;

/** GET /nodes/{node}/journal: strings; the first and last elements are journal cursors. */
export const journalSchema = z.array(z.string()).min(2, 'expected the start and end cursor as first and last element');

/** POST .../status/{action}: the UPID of the started task. */
export const upidResultSchema = upid;
