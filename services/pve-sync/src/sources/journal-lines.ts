// Authentication lines of a node journal (`journalctl -o short` layout, formats.md §3 and §5).
import { TZDate } from '@date-fns/tz';

export type AuthLine =
  | {
      kind: 'login_failed';
      at: Date;
      node: string;
      ident: string;
      pid: number | null;
      rhost: string;
      user: string;
      reason: string;
    }
  | {
      kind: 'openid_login_failed';
      at: Date;
      node: string;
      ident: string;
      pid: number | null;
      rhost: string;
      reason: string;
    }
  | { kind: 'request_rejected'; at: Date; node: string; ident: string; pid: number | null; reason: string }
  | {
      kind: 'login_succeeded';
      at: Date;
      node: string;
      ident: string;
      pid: number | null;
      user: string;
      openid: boolean;
    };

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};
const LINE = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) ([^\s[:]+)(?:\[(\d+)\])?: (.*)$/;
const FAILED = /^authentication failure; rhost=(\S*) user=(\S*) msg=(.*)$/;
const OPENID_FAILED = /^openid authentication failure; rhost=(\S*) msg=(.*)$/;
const REJECTED = /^authentication failure: (.*)$/;
const SUCCEEDED = /^<[^>]*> successful (openid )?auth for user '([^']+)'$/;

/** The instant a local wall time names in `timeZone` (in a DST fold, the earlier of the two). */
export function zonedToUtc(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  timeZone: string,
): number {
  const t = new TZDate(y, mo, d, h, mi, s, timeZone).getTime();
  // @date-fns/tz picks the later instant of a fold; an hour before names the same wall time there.
  const before = new TZDate(t - 3_600_000, timeZone);
  return before.getDate() === d && before.getHours() === h && before.getMinutes() === mi ? t - 3_600_000 : t;
}

/**
 * The line's time. The short format carries the node's LOCAL wall time without year or zone
 * (formats.md §5: `%b %d %T`), so it is read in the node's time zone (`/nodes/{node}/time`); the
 * year is the one that puts the time closest before `observed`.
 */
export function journalTime(
  month: string,
  day: number,
  h: number,
  m: number,
  s: number,
  observed: Date,
  timeZone = 'UTC',
): Date | null {
  const mon = MONTHS[month];
  if (mon === undefined) return null;
  const year = new TZDate(observed.getTime(), timeZone).getFullYear();
  const t = zonedToUtc(year, mon, day, h, m, s, timeZone);
  // More than a day in the future: the line is from last year (December line read in January).
  return new Date(t - observed.getTime() > 86_400_000 ? zonedToUtc(year - 1, mon, day, h, m, s, timeZone) : t);
}

/** The time of any journal line (null for markers such as `-- Reboot --`). */
export function lineTime(line: string, observed: Date, timeZone = 'UTC'): Date | null {
  const m = LINE.exec(line);
  return m
    ? journalTime(m[1] as string, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), observed, timeZone)
    : null;
}

export function parseAuthLine(line: string, observed: Date, timeZone = 'UTC'): AuthLine | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const at = journalTime(m[1] as string, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), observed, timeZone);
  if (!at) return null;
  const base = { at, node: m[6] as string, ident: m[7] as string, pid: m[8] ? Number(m[8]) : null };
  const msg = (m[9] as string).trimEnd();
  let x: RegExpExecArray | null;
  if ((x = FAILED.exec(msg)))
    return { kind: 'login_failed', ...base, rhost: x[1] as string, user: x[2] as string, reason: x[3] as string };
  if ((x = OPENID_FAILED.exec(msg)))
    return { kind: 'openid_login_failed', ...base, rhost: x[1] as string, reason: x[2] as string };
  if ((x = SUCCEEDED.exec(msg)))
    return { kind: 'login_succeeded', ...base, user: x[2] as string, openid: Boolean(x[1]) };
  if ((x = REJECTED.exec(msg))) return { kind: 'request_rejected', ...base, reason: x[1] as string };
  return null;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; '' → null. */
export function normaliseIp(rhost: string): string | null {
  if (rhost === '') return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(rhost);
  return mapped ? (mapped[1] as string) : rhost;
}

/** The fields of a systemd journal cursor (`s=…;i=…;b=…;m=…;t=…;x=…`). */
export function cursorFields(cursor: string): {
  seqnumId: string | null;
  seq: number | null;
  realtimeMs: number | null;
} {
  const f = new Map(
    cursor.split(';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  const i = f.get('i');
  const t = f.get('t');
  return {
    seqnumId: f.get('s') ?? null,
    seq: i && /^[0-9a-f]+$/i.test(i) ? parseInt(i, 16) : null,
    realtimeMs: t && /^[0-9a-f]+$/i.test(t) ? Math.floor(parseInt(t, 16) / 1000) : null,
  };
}
