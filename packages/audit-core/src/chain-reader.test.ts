import { describe, expect, it } from 'vitest';
import { RECORD_COLUMNS, toQuestionMarks } from './chain-reader.ts';

describe('toQuestionMarks', () => {
  it('rewrites $n in text order, reordering and repeating values', () => {
    expect(toQuestionMarks('SELECT 1 WHERE a = $2 AND b = $1 AND c = $2 LIMIT $3', ['x', 'y', 10])).toEqual({
      text: 'SELECT 1 WHERE a = ? AND b = ? AND c = ? LIMIT ?',
      values: ['y', 'x', 'y', 10],
    });
    expect(toQuestionMarks('SELECT 1', [])).toEqual({ text: 'SELECT 1', values: [] });
  });

  it('rejects a parameter without a value', () => {
    expect(() => toQuestionMarks('SELECT $2', ['only one'])).toThrow(RangeError);
  });

  it('the record columns carry no placeholder characters a rewrite could break', () => {
    expect(RECORD_COLUMNS).not.toMatch(/[$?]/);
  });
});
