import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, fromGlobalId, pageSize, toGlobalId, uuidOf, type CursorValue } from './relay.ts';

describe('relay ids and cursors', () => {
  const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';

  it('round-trips global ids and refuses ids of another type as NOT_FOUND', () => {
    const id = toGlobalId('Guest', uuid);
    expect(fromGlobalId(id)).toEqual({ type: 'Guest', key: uuid });
    expect(uuidOf(id, 'Guest')).toBe(uuid);
    expect(() => uuidOf(id, 'Tenant')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => uuidOf('not base64!', 'Guest')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => uuidOf(toGlobalId('Guest', 'x'), 'Guest')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('round-trips cursors and rejects garbage', () => {
    expect(decodeCursor(encodeCursor(['a', 1]), ['text', 'int'])).toEqual(['a', 1]);
    expect(() => decodeCursor('zzz', ['text', 'int'])).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => decodeCursor(encodeCursor(['a']), ['text', 'int'])).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT' }),
    );
  });

  // The bad-input corpus forged cursors of the right arity with values of the wrong type: they
  // reached SQL (`?::uuid`, `?::timestamptz`, `?::bigint`) and failed there as a masked INTERNAL.
  it('regression: cursorValueTypes — each value is checked against its sort key type', () => {
    const ts = '2026-11-23T10:00:00.000Z';
    const ok: Array<[unknown[], CursorValue[]]> = [
      [
        [ts, uuid],
        ['timestamp', 'uuid'],
      ],
      [
        ['2024-02-29T23:59:59+02:00', uuid],
        ['timestamp', 'uuid'],
      ],
      [
        ['123', uuid],
        ['bigint', 'uuid'],
      ],
      [
        [ts, 'UPID:pve1:0001:0002:6747A1B2:qmstart:100:root@pam:'],
        ['timestamp', 'text'],
      ],
      [
        [100, uuid],
        ['int', 'uuid'],
      ],
    ];
    for (const [values, kinds] of ok) expect(decodeCursor(encodeCursor(values), kinds)).toEqual(values);
    const forged: Array<[unknown[], CursorValue[]]> = [
      [
        ['x', 'y'],
        ['timestamp', 'uuid'],
      ],
      [
        [ts, "'; DROP TABLE guest; --"],
        ['timestamp', 'uuid'],
      ],
      [
        ['2026-02-30T00:00:00Z', uuid],
        ['timestamp', 'uuid'],
      ],
      [
        ['0000-01-01T00:00:00Z', uuid],
        ['timestamp', 'uuid'],
      ],
      [
        ['2026-01-01T24:00:00Z', uuid],
        ['timestamp', 'uuid'],
      ],
      [
        [null, null],
        ['timestamp', 'text'],
      ],
      [
        [{}, []],
        ['text', 'uuid'],
      ],
      [
        [1e308, uuid],
        ['int', 'uuid'],
      ],
      [
        [1.5, uuid],
        ['int', 'uuid'],
      ],
      [
        ['100', uuid],
        ['int', 'uuid'],
      ],
      [[true], ['bigint']],
      [[-1], ['bigint']],
      [['-1'], ['bigint']],
      [['99999999999999999999'], ['bigint']],
      [['1e3'], ['bigint']],
      [
        ['fuzz\u0000nul', uuid],
        ['text', 'uuid'],
      ],
      [
        ['fuzz\uD800x', uuid],
        ['text', 'uuid'],
      ],
    ];
    for (const [values, kinds] of forged)
      expect(() => decodeCursor(encodeCursor(values), kinds), JSON.stringify(values)).toThrow(
        expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'Invalid cursor' }),
      );
    expect(() => decodeCursor('W'.repeat(3000), ['text'])).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('bounds page sizes', () => {
    expect(pageSize(undefined, 100)).toBe(20);
    expect(pageSize(100, 100)).toBe(100);
    expect(() => pageSize(101, 100)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => pageSize(0, 100)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});
