import { describe, expect, it } from 'vitest';
import { formatUpid, normaliseTaskStatus, parseUpid, taskStatusIsError, UpidFormatError } from './index.ts';

describe('parseUpid (formats.md §1)', () => {
  it('decodes the worked example from samples/nodes-node-tasks.json', () => {
    const upid = 'UPID:iaclab-01-01:000029DD:1599528B:6108F068:srvreload:networking:root@pam:';
    expect(parseUpid(upid)).toEqual({
      node: 'iaclab-01-01',
      pid: 10717,
      pstart: 362369675,
      starttime: 1627975784,
      type: 'srvreload',
      id: 'networking',
      user: 'root@pam',
      raw: upid,
    });
    expect(new Date(1627975784 * 1000).toISOString()).toBe('2021-08-03T07:29:44.000Z');
  });

  it('splits a token auth id into user and tokenid', () => {
    const u = parseUpid('UPID:pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100:sync@pve!pvesync:');
    expect(u).toMatchObject({ node: 'pve1', type: 'qmstart', id: '100', user: 'sync@pve', tokenid: 'pvesync' });
    expect(new Date(u.starttime * 1000).toISOString()).toBe('2025-11-23T13:20:00.000Z');
  });

  it('accepts an empty id', () => {
    expect(parseUpid('UPID:pve1:00213D37:01ECA9AD:618F6B8D:aptupdate::root@pam:')).toMatchObject({
      id: '',
      type: 'aptupdate',
    });
  });

  it('accepts a 9-digit pstart (uptime beyond 32 bits) and lower-case hex', () => {
    const u = parseUpid('UPID:pve:0000abcd:1000000AF:6108f068:vzdump:101:root@pam:');
    expect(u.pstart).toBe(0x1000000af);
    expect(u.pid).toBe(0xabcd);
  });

  it.each([
    ['UPID:pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100:root@pam', 'trailing colon'],
    ['XPID:pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100:root@pam:', 'does not start'],
    ['UPID:pve1:3A1F2:0B2C4D11:69230A00:qmstart:100:root@pam:', 'pid must be 8 hex'],
    ['UPID:pve1:0003A1F2:0B2C4D1:69230A00:qmstart:100:root@pam:', 'pstart'],
    ['UPID:pve1:0003A1F2:0B2C4D11:69230A0G:qmstart:100:root@pam:', 'starttime'],
    ['UPID:-pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100:root@pam:', 'node'],
    ['UPID:pve1:0003A1F2:0B2C4D11:69230A00:qm/start:100:root@pam:', 'forbidden character'],
    ['UPID:pve1:0003A1F2:0B2C4D11:69230A00::100:root@pam:', 'forbidden character'],
    ['UPID:pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100::', 'forbidden character'],
    ['UPID:pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100:root@pam:extra:', '7 fields'],
    ['', 'does not start'],
  ])('rejects %j with a typed error (%s)', (input, reason) => {
    let caught: unknown;
    try {
      parseUpid(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UpidFormatError);
    expect((caught as UpidFormatError).code).toBe('BAD_USER_INPUT');
    expect((caught as UpidFormatError).message).toContain(reason);
  });
});

describe('formatUpid', () => {
  it.each([
    'UPID:iaclab-01-01:000029DD:1599528B:6108F068:srvreload:networking:root@pam:',
    'UPID:pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100:sync@pve!pvesync:',
    'UPID:pve1:00213D37:01ECA9AD:618F6B8D:aptupdate::root@pam:',
    'UPID:example-node:000CFFFA:03E8EF53:619480BA:vzdump:103:root@pam:',
    'UPID:pve:0000ABCD:1000000AF:6108F068:vzdump:101:root@pam:',
  ])('round-trips %s', (upid) => {
    expect(formatUpid(parseUpid(upid))).toBe(upid);
  });

  it('writes upper-case zero-padded hex like PVE', () => {
    expect(
      formatUpid({
        node: 'pve1',
        pid: 0x1f,
        pstart: 0xab,
        starttime: 0x69230a00,
        type: 'qmstop',
        id: '7',
        user: 'a@pve',
      }),
    ).toBe('UPID:pve1:0000001F:000000AB:69230A00:qmstop:7:a@pve:');
  });

  it('refuses parts that would not parse back', () => {
    expect(() =>
      formatUpid({ node: 'pve1', pid: -1, pstart: 1, starttime: 1, type: 'x', id: '', user: 'a@pve' }),
    ).toThrow(UpidFormatError);
    expect(() =>
      formatUpid({ node: 'pve1', pid: 1, pstart: 1, starttime: 1, type: 'x', id: 'a:b', user: 'a@pve' }),
    ).toThrow(UpidFormatError);
    expect(() =>
      formatUpid({ node: 'pve_1', pid: 1, pstart: 1, starttime: 1, type: 'x', id: '', user: 'a@pve' }),
    ).toThrow(UpidFormatError);
  });
});

describe('normaliseTaskStatus (formats.md §1.4)', () => {
  it.each([
    [undefined, 'unknown'],
    ['', 'unknown'],
    ['OK', 'ok'],
    ['WARNINGS: 2', 'warning'],
    ['unexpected status', 'unknown'],
    ["command 'ifreload -a' failed: exit code 1", 'error'],
    ['unable to get last line from task log - x', 'error'],
    ['RUNNING', 'running'],
    ['running', 'running'],
    ['ok', 'error'],
    ['WARNINGS: x', 'error'],
  ] as const)('%j → %s', (raw, expected) => {
    expect(normaliseTaskStatus(raw)).toBe(expected);
  });

  it('status_is_error is true unless OK or WARNINGS: n', () => {
    expect(taskStatusIsError('OK')).toBe(false);
    expect(taskStatusIsError('WARNINGS: 12')).toBe(false);
    expect(taskStatusIsError('interrupted by signal')).toBe(true);
  });
});
