import { describe, expect, it } from 'vitest';
import { describeError, isRowLevelFailure, sanitizeForJsonb } from './quarantine.ts';

describe('sanitizeForJsonb', () => {
  it('escapes NUL (refused by jsonb) in strings and keys, keeps everything else', () => {
    const original = { 'k\u0000ey': ['a\u0000b', 1, true, null, { n: 'x\u0000' }], plain: 'ok' };
    const clean = sanitizeForJsonb(original);
    expect(clean).toEqual({ 'k\\u0000ey': ['a\\u0000b', 1, true, null, { n: 'x\\u0000' }], plain: 'ok' });
    expect(JSON.stringify(clean)).not.toContain('\\u0000\u0000');
    expect(JSON.stringify(clean).includes('\u0000')).toBe(false);
  });

  it('turns values JSON cannot hold into storable ones', () => {
    expect(sanitizeForJsonb({ a: Number.NaN, b: Infinity, c: undefined, d: 10n })).toEqual({
      a: null,
      b: null,
      d: '10',
    });
  });
});

describe('isRowLevelFailure', () => {
  const pgError = (code: string) => Object.assign(new Error('x'), { code });
  it('blames rows for data errors, not the database for its own failures', () => {
    expect(isRowLevelFailure(pgError('22008'))).toBe(true); // datetime out of range
    expect(isRowLevelFailure(pgError('22P05'))).toBe(true); // untranslatable character (NUL)
    expect(isRowLevelFailure(pgError('23505'))).toBe(true);
    expect(isRowLevelFailure(new TypeError('cannot read properties of undefined'))).toBe(true);
    expect(isRowLevelFailure(pgError('08006'))).toBe(false);
    expect(isRowLevelFailure(pgError('55P03'))).toBe(false); // lock timeout
    expect(isRowLevelFailure(pgError('57014'))).toBe(false); // statement timeout / cancel
    expect(isRowLevelFailure(pgError('40001'))).toBe(false);
    expect(isRowLevelFailure(pgError('25P02'))).toBe(false);
    expect(isRowLevelFailure(pgError('ECONNRESET'))).toBe(false);
    expect(isRowLevelFailure(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('describes errors with their SQLSTATE and without NUL', () => {
    expect(describeError(pgError('22008'))).toBe('22008: x');
    expect(describeError(new Error('a\u0000b'))).toBe('a\\u0000b');
  });
});
