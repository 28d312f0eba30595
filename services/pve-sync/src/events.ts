// Building audit source events. Every event is validated with the shared contract before it is
// written (STYLE.md principle 11); the event id is derived from the dedup key, so replaying a poll
// produces byte-identical rows that the inbox's primary key then ignores.
import { AuditSourceEvent, parseContract, sha256, type AuditSourceEventInput } from '@tenantgate/shared';

export type EventDraft = Omit<AuditSourceEventInput, 'eventId' | 'observedAt'>;

/** A UUID (RFC 9562 version 8) that is a pure function of the dedup key. */
export function eventIdFor(dedupKey: string): string {
  const b = sha256(`tenantgate:inbox:${dedupKey}`).subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function buildEvent(draft: EventDraft, observedAt: Date): AuditSourceEvent {
  return parseContract('AuditSourceEvent', AuditSourceEvent, {
    ...draft,
    eventId: eventIdFor(draft.dedupKey),
    observedAt: observedAt.toISOString(),
  });
}

/** Epoch seconds → ISO timestamp. */
export function isoFromEpoch(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** `user@realm` or `user@realm!token` → the event actor. */
export function pveActor(authId: string | null | undefined): AuditSourceEventInput['actor'] {
  if (!authId) return { type: 'unknown', id: null, principal: null };
  return { type: authId.includes('!') ? 'pve-token' : 'pve-user', id: authId, principal: authId };
}

/** Lower-case and restricted to the characters an action's operation may contain. */
export function actionPart(value: string): string {
  const cleaned = value.toLowerCase().replace(/[^a-z0-9_.-]/g, '_');
  return cleaned === '' ? 'unknown' : cleaned;
}

/** Dedup keys are global (audit_inbox primary key): every key starts with the connection id. */
export function dedupKey(connectionId: string, ...parts: Array<string | number>): string {
  const key = [connectionId, ...parts].join('|');
  return key.length <= 500 ? key : `${connectionId}|sha256|${sha256(key).toString('hex')}`;
}

/** Dedup key of a successful login, the same from the journal and from the cluster log. */
export function successKey(connectionId: string, node: string, user: string, epochSeconds: number): string {
  return dedupKey(connectionId, 'auth-ok', node, user, epochSeconds);
}

/** A SYNC-001 signal: entries of a source were lost before pve-sync could read them. */
export function gapEvent(
  connectionId: string,
  source: string,
  gap: { node: string; key: string; at: string; payload: Record<string, unknown> },
): EventDraft {
  return {
    dedupKey: dedupKey(connectionId, 'gap', source, gap.node, gap.key),
    source: 'sync',
    connectionId,
    occurredAt: gap.at,
    category: 'sync',
    action: 'sync.gap_detected',
    outcome: 'failure',
    actor: { type: 'system', id: null, principal: null },
    node: gap.node,
    target: { type: 'pve-source', id: source, name: null, path: null },
    detection: 'reported',
    payload: { rule: 'SYNC-001', source, ...gap.payload },
  };
}
