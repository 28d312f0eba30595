// Node journal source: authentication failures (only here, GUIDE §2) and successes, read from a
// saved journal cursor per node (`journal:<node>`). A cursor that the journal no longer holds
// (vacuumed) shows as a jump in the sequence number and is raised as a sync gap.
import { AppError, ErrorCode, sha256, type AuditSourceEvent } from '@tenantgate/shared';
import type { JournalPage } from '../pve-api.ts';
import { buildEvent, dedupKey, gapEvent, pveActor, successKey, type EventDraft } from '../events.ts';
import { commitSources, cursorOf, loadCursors, type CursorAdvance } from '../store.ts';
import type { SourceContext, SourceOutcome } from '../source-context.ts';
import { failureOf } from '../failures.ts';
import { cursorFields, lineTime, normaliseIp, parseAuthLine, type AuthLine } from './journal-lines.ts';

export const journalSource = (node: string): string => `journal:${node}`;

/** A node's time zone is re-read this often (and whenever the end cursor contradicts it). */
const TZ_REFRESH_S = 6 * 3600;
/** Journal lines have whole seconds; the cursor's real time is exact. */
const TZ_TOLERANCE_MS = 90_000;

/** The node's IANA time zone (`/nodes/{node}/time`), checked to be one this runtime knows. */
async function nodeTimeZone(ctx: SourceContext, node: string): Promise<string> {
  const { timezone } = await ctx.api.nodeTime(node);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new AppError(ErrorCode.PVE_RESPONSE_INVALID, `node ${node} reports an unknown time zone`, {
      node,
      timezone,
    });
  }
  return timezone;
}

function lastLineMatchesCursor(page: JournalPage, observed: Date, tz: string): boolean {
  const end = page.endCursor ? cursorFields(page.endCursor).realtimeMs : null;
  const last = [...page.lines].reverse().find((l) => lineTime(l, observed, tz) !== null);
  if (end === null || last === undefined) return true;
  return Math.abs(lineTime(last, observed, tz)!.getTime() - end) <= TZ_TOLERANCE_MS;
}

export function authEvent(connectionId: string, node: string, a: AuthLine, key: string): EventDraft {
  const occurredAt = a.at.toISOString();
  const common = {
    source: 'pve.journal' as const,
    connectionId,
    occurredAt,
    node,
    category: 'auth',
    detection: 'reported' as const,
  };
  const proc = { ident: a.ident, pid: a.pid };
  switch (a.kind) {
    case 'login_failed':
      return {
        ...common,
        dedupKey: key,
        action: 'auth.login_failed',
        outcome: 'failure',
        actor: pveActor(a.user || null),
        srcIp: normaliseIp(a.rhost),
        target: a.user ? { type: 'pve-user', id: a.user, name: null, path: `/access/users/${a.user}` } : null,
        payload: { ...proc, rhost: a.rhost, user: a.user, reason: a.reason },
      };
    case 'openid_login_failed':
      return {
        ...common,
        dedupKey: key,
        action: 'auth.openid_login_failed',
        outcome: 'failure',
        actor: { type: 'unknown', id: null, principal: null },
        srcIp: normaliseIp(a.rhost),
        payload: { ...proc, rhost: a.rhost, reason: a.reason },
      };
    case 'request_rejected':
      return {
        ...common,
        dedupKey: key,
        action: 'auth.request_rejected',
        outcome: 'failure',
        actor: { type: 'unknown', id: null, principal: null },
        payload: { ...proc, reason: a.reason },
      };
    case 'login_succeeded':
      return {
        ...common,
        // Shared with the cluster-log entry of the same login, so the two sources give one event.
        dedupKey: successKey(connectionId, node, a.user, Math.floor(a.at.getTime() / 1000)),
        action: a.openid ? 'auth.openid_login_succeeded' : 'auth.login_succeeded',
        outcome: 'success',
        actor: pveActor(a.user),
        target: { type: 'pve-user', id: a.user, name: null, path: `/access/users/${a.user}` },
        payload: { ...proc, user: a.user },
      };
  }
}

export async function syncJournals(ctx: SourceContext, nodes: Map<string, string>): Promise<SourceOutcome> {
  const cursors = await loadCursors(ctx.em, ctx.connectionId, 'journal:');
  const polled = [...nodes]
    .filter(([, s]) => s !== 'offline')
    .map(([n]) => n)
    .sort();
  const outcome: SourceOutcome = { failures: [], succeeded: [], inserted: 0 };
  const observed = ctx.now();
  const nowS = Math.floor(observed.getTime() / 1000);
  const settled = await Promise.allSettled(
    polled.map(async (node) => {
      const cursor = cursorOf(cursors, journalSource(node));
      const saved = typeof cursor.cursor === 'string' ? cursor.cursor : undefined;
      const cachedTz = typeof cursor.tz === 'string' ? cursor.tz : undefined;
      const tzAt = typeof cursor.tzAt === 'number' ? cursor.tzAt : 0;
      const fresh = cachedTz !== undefined && nowS - tzAt < TZ_REFRESH_S;
      const [page, fetched] = await Promise.all([
        ctx.api.journal(node, saved ? { startcursor: saved } : { lastentries: ctx.settings.JOURNAL_INITIAL_LINES }),
        fresh ? undefined : nodeTimeZone(ctx, node),
      ]);
      let tz = fetched ?? (cachedTz as string);
      let tzCheckedAt = fetched ? nowS : tzAt;
      // The end cursor carries the last entry's real time: a cached zone that no longer reads the
      // last line as that instant (the node's zone was changed) is fetched again.
      if (!fetched && !lastLineMatchesCursor(page, observed, tz)) {
        tz = await nodeTimeZone(ctx, node);
        tzCheckedAt = nowS;
      }
      return { node, cursor, saved, page, tz, tzCheckedAt };
    }),
  );
  const advances: CursorAdvance[] = [];
  const events: AuditSourceEvent[] = [];
  settled.forEach((s, idx) => {
    const node = polled[idx] as string;
    if (s.status === 'rejected') {
      outcome.failures.push(failureOf(journalSource(node), s.reason));
      return;
    }
    const { cursor, saved, page, tz, tzCheckedAt } = s.value;
    const anchor = saved ?? page.startCursor ?? '';
    const base = sha256(`${node}\n${anchor}`).toString('hex').slice(0, 24);
    const drafts: EventDraft[] = [];
    page.lines.forEach((line, i) => {
      const a = parseAuthLine(line, observed, tz);
      if (a) drafts.push(authEvent(ctx.connectionId, node, a, dedupKey(ctx.connectionId, 'journal', node, base, i)));
    });
    if (saved && page.startCursor) {
      const before = cursorFields(saved);
      const after = cursorFields(page.startCursor);
      const lost =
        before.seqnumId !== after.seqnumId
          ? { missing: null as number | null, reason: 'journal sequence changed' }
          : before.seq !== null && after.seq !== null && after.seq !== before.seq
            ? { missing: after.seq - before.seq, reason: 'saved cursor no longer in the journal' }
            : null;
      if (lost) {
        drafts.push(
          gapEvent(ctx.connectionId, journalSource(node), {
            node,
            key: base,
            at: observed.toISOString(),
            payload: { ...lost, savedCursor: saved, resumedAt: page.startCursor },
          }),
        );
        ctx.logger.warn({ node, ...lost }, 'journal entries were lost');
      }
    }
    for (const d of drafts) events.push(buildEvent(d, observed));
    advances.push({
      source: journalSource(node),
      expected: cursor.v,
      next: { cursor: page.endCursor ?? saved ?? null, tz, tzAt: tzCheckedAt },
    });
  });
  if (advances.length === 0) return outcome;
  try {
    const { inserted, commitKey } = await commitSources(ctx.em, ctx.connectionId, advances, events);
    if (inserted > 0) await ctx.onCommitted('journal', inserted, commitKey);
    outcome.succeeded.push(...advances.map((a) => a.source));
    outcome.inserted += inserted;
  } catch (err) {
    outcome.failures.push(...advances.map((a) => failureOf(a.source, err)));
  }
  return outcome;
}
