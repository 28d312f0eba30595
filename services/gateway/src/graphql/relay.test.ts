import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, fromGlobalId, pageSize, toGlobalId, uuidOf } from './relay.ts';

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
    expect(decodeCursor(encodeCursor(['a', 1]), 2)).toEqual(['a', 1]);
    expect(() => decodeCursor('zzz', 2)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => decodeCursor(encodeCursor(['a']), 2)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('bounds page sizes', () => {
    expect(pageSize(undefined, 100)).toBe(20);
    expect(pageSize(100, 100)).toBe(100);
    expect(() => pageSize(101, 100)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => pageSize(0, 100)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});
