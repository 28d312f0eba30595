import { describe, expect, it } from 'vitest';
import { cursorFields, journalTime, normaliseIp, parseAuthLine, zonedToUtc } from './journal-lines.ts';

const observed = new Date('2025-11-23T15:00:00Z');

describe('journal auth lines (formats.md §3)', () => {
  it('parses a pvedaemon login failure with rhost and user', () => {
    const a = parseAuthLine(
      'Nov 23 14:21:25 pve1 pvedaemon[2115]: authentication failure; rhost=::ffff:203.0.113.7 user=bob@pve msg=invalid credentials',
      observed,
    );
    expect(a).toEqual({
      kind: 'login_failed',
      at: new Date('2025-11-23T14:21:25Z'),
      node: 'pve1',
      ident: 'pvedaemon',
      pid: 2115,
      rhost: '::ffff:203.0.113.7',
      user: 'bob@pve',
      reason: 'invalid credentials',
    });
    expect(normaliseIp('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(normaliseIp('2001:db8::15')).toBe('2001:db8::15');
  });

  it('parses rejected tokens, successes, and ignores other lines', () => {
    expect(
      parseAuthLine('Nov 23 14:25:40 pve1 pveproxy[3321]: authentication failure: invalid token value!', observed),
    ).toMatchObject({
      kind: 'request_rejected',
      reason: 'invalid token value!',
    });
    expect(
      parseAuthLine("Nov 23 14:20:01 pve1 pvedaemon[2114]: <root@pam> successful auth for user 'alice@pve'", observed),
    ).toMatchObject({
      kind: 'login_succeeded',
      user: 'alice@pve',
    });
    expect(parseAuthLine('Nov 23 14:20:01 pve1 systemd[1]: Started foo.service.', observed)).toBeNull();
    expect(parseAuthLine('-- Reboot --', observed)).toBeNull();
  });

  it('puts a December line read in January into the previous year', () => {
    const a = parseAuthLine(
      'Dec 31 23:59:59 pve1 pveproxy[1]: authentication failure: x',
      new Date('2026-01-01T00:00:10Z'),
    );
    expect(a?.at.toISOString()).toBe('2025-12-31T23:59:59.000Z');
  });

  it('reads the sequence number of a journal cursor', () => {
    expect(cursorFields('s=abc;i=1f;b=x;m=0;t=5;x=9')).toEqual({ seqnumId: 'abc', seq: 31, realtimeMs: 0 });
  });
});

describe('journal times', () => {
  it("regression: lines carry the node's local wall time and are read in its time zone", () => {
    const observed = new Date('2026-11-23T15:00:00Z');
    const line =
      'Nov 23 15:21:10 pve1 pvedaemon[2114]: authentication failure; rhost=::ffff:203.0.113.7 user=root@pam msg=x';
    expect(parseAuthLine(line, observed, 'Europe/Berlin')!.at.toISOString()).toBe('2026-11-23T14:21:10.000Z');
    expect(parseAuthLine(line.replace('15:21', '14:21'), observed)!.at.toISOString()).toBe('2026-11-23T14:21:10.000Z');
    // Summer time, and a zone west of UTC.
    expect(journalTime('Jul', 1, 12, 0, 0, new Date('2026-07-02T00:00:00Z'), 'Europe/Berlin')!.toISOString()).toBe(
      '2026-07-01T10:00:00.000Z',
    );
    expect(journalTime('Jan', 5, 23, 30, 0, new Date('2026-01-06T12:00:00Z'), 'America/New_York')!.toISOString()).toBe(
      '2026-01-06T04:30:00.000Z',
    );
  });

  it('reads a wall time of the DST fold as its earlier instant, and one in the gap as after the change', () => {
    // Europe/Berlin: 2026-10-25 02:30 happens twice (CEST, then CET); 2026-03-29 02:30 never happens.
    expect(zonedToUtc(2026, 9, 25, 2, 30, 0, 'Europe/Berlin')).toBe(Date.parse('2026-10-25T00:30:00Z'));
    expect(zonedToUtc(2026, 9, 25, 3, 30, 0, 'Europe/Berlin')).toBe(Date.parse('2026-10-25T02:30:00Z'));
    expect(zonedToUtc(2026, 2, 29, 2, 30, 0, 'Europe/Berlin')).toBe(Date.parse('2026-03-29T01:30:00Z'));
    expect(zonedToUtc(2026, 9, 25, 2, 30, 0, 'UTC')).toBe(Date.parse('2026-10-25T02:30:00Z'));
  });
});
