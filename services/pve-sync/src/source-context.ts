import type { Em, Logger } from '@tenantgate/shared';
import type { PveApi } from './pve-api.ts';
import type { SyncConfig } from './config.ts';

/** Tunables the sources read (a subset of SyncConfig, so tests and the bench can set them directly). */
export type SourceSettings = Pick<
  SyncConfig,
  | 'TASK_OVERLAP_S'
  | 'TASK_PAGE_SIZE'
  | 'TASK_NODE_BATCH'
  | 'CLUSTER_LOG_MAX'
  | 'JOURNAL_INITIAL_LINES'
  | 'PORTAL_ATTRIBUTION_WAIT_S'
>;

export const defaultSourceSettings: SourceSettings = {
  TASK_OVERLAP_S: 120,
  TASK_PAGE_SIZE: 1000,
  TASK_NODE_BATCH: 10,
  CLUSTER_LOG_MAX: 5000,
  JOURNAL_INITIAL_LINES: 2000,
  PORTAL_ATTRIBUTION_WAIT_S: 120,
};

/** Everything one source needs for one poll of one connection. */
export interface SourceContext {
  em: Em;
  connectionId: string;
  connectionName: string;
  /** The connection's API token (`user@realm!name`): the gateway acts on PVE with it too. */
  tokenId: string;
  api: PveApi;
  settings: SourceSettings;
  logger: Logger;
  now: () => Date;
  /** Called after each commit that inserted inbox rows (the poller enqueues the auditor wake-up). */
  onCommitted: (source: string, inserted: number, commitKey: string) => Promise<void>;
}

/** A failure of one source (or one node of a per-node source) in one poll. */
export interface SourceFailure {
  source: string;
  code: string;
  message: string;
}

/** What a source reports back to the poller. */
export interface SourceOutcome {
  failures: SourceFailure[];
  /** Sources that completed this poll (with or without new data). */
  succeeded: string[];
  inserted: number;
}
