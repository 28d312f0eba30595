// The part of the PVE API pve-sync reads, as the shapes the validating client returns
// (@tenantgate/pve-client: booleans as booleans, numbers as numbers, comma lists as arrays).
// Declared structurally so the sources can be read (and unit-tested) on their own; PveClient
// satisfies it (see client-factory.ts).

export interface GuestResource {
  id: string;
  type: 'qemu' | 'lxc';
  vmid: number;
  node: string;
  status: string;
  name?: string | undefined;
  template?: boolean | undefined;
  maxcpu?: number | undefined;
  maxmem?: number | undefined;
  maxdisk?: number | undefined;
  uptime?: number | undefined;
  pool?: string | undefined;
  lock?: string | undefined;
  tags?: string | undefined;
  hastate?: string | undefined;
  raw: Record<string, unknown>;
}

export interface NodeResource {
  id: string;
  type: 'node';
  node: string;
  status: string;
}

export type ClusterResource = GuestResource | NodeResource | { id: string; type: string; node?: string | undefined };

export interface NodeTask {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  tokenid?: string | undefined;
  starttime: number;
  endtime?: number | undefined;
  status?: string | undefined;
}

export interface TaskStatus {
  upid: string;
  status: 'running' | 'stopped';
  exitstatus?: string | undefined;
}

export interface NodeTasksQuery {
  since?: number;
  until?: number;
  start?: number;
  limit?: number;
  source?: 'archive' | 'active' | 'all';
}

export interface ClusterLogEntry {
  uid: number;
  time: number;
  pri: number;
  tag: string;
  pid: number;
  node: string;
  user: string;
  msg: string;
  id: string;
}

export interface JournalPage {
  startCursor: string | null;
  endCursor: string | null;
  lines: string[];
}

export interface PveToken {
  tokenid: string;
  privsep?: boolean | undefined;
  expire?: number | undefined;
  comment?: string | undefined;
}

export interface PveUser {
  userid: string;
  enable?: boolean | undefined;
  expire?: number | undefined;
  firstname?: string | undefined;
  lastname?: string | undefined;
  email?: string | undefined;
  comment?: string | undefined;
  groups?: string[] | undefined;
  tokens?: PveToken[] | undefined;
}

export interface PveGroup {
  groupid: string;
  comment?: string | undefined;
  users?: string[] | undefined;
}

export interface PveRole {
  roleid: string;
  privs: string[];
  special?: boolean | undefined;
}

export interface PveAclEntry {
  path: string;
  type: 'user' | 'group' | 'token';
  ugid: string;
  roleid: string;
  propagate: boolean;
}

export interface PvePoolListItem {
  poolid: string;
  comment?: string | undefined;
}

/** What one poll of one connection calls. */
export interface PveApi {
  clusterResources(): Promise<ClusterResource[]>;
  nodeTasks(node: string, query: NodeTasksQuery): Promise<{ total: number; data: NodeTask[] }>;
  taskStatus(node: string, upid: string): Promise<TaskStatus>;
  clusterLog(max: number): Promise<ClusterLogEntry[]>;
  journal(node: string, query: { startcursor?: string; lastentries?: number }): Promise<JournalPage>;
  /** The node's clock and IANA time zone (journal lines are in its local time). */
  nodeTime(node: string): Promise<{ timezone: string; time: number; localtime: number }>;
  users(query: { full: true }): Promise<PveUser[]>;
  groups(): Promise<PveGroup[]>;
  roles(): Promise<PveRole[]>;
  acl(): Promise<PveAclEntry[]>;
  pools(): Promise<PvePoolListItem[]>;
}
