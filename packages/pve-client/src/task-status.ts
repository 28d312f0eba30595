export type NormalisedTaskStatus = 'ok' | 'warning' | 'error' | 'unknown' | 'running';

/**
 * PVE's status normalisation (formats.md §1.4) plus `running`: the API reports `RUNNING` for active tasks
 * in node task lists, and `running` for /tasks/{upid}/status. Missing/empty and `unexpected status` are unknown.
 */
export function normaliseTaskStatus(status?: string | null): NormalisedTaskStatus {
  if (status === undefined || status === null || status === '') return 'unknown';
  if (status === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(status)) return 'warning';
  if (status === 'unexpected status') return 'unknown';
  if (status.toUpperCase() === 'RUNNING') return 'running';
  return 'error';
}

/** PVE's `status_is_error`: anything but `OK` and `WARNINGS: n`. */
export function taskStatusIsError(status: string): boolean {
  return !(status === 'OK' || /^WARNINGS: \d+$/.test(status));
}
