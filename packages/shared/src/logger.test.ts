import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { warnRateLimited } from './logger.ts';

describe('warnRateLimited', () => {
  it('logs the first error, suppresses repeats within the window and reports how many', () => {
    const lines: Array<{ msg: string; suppressed: number; client?: string }> = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    let clock = 1_000;
    const warn = warnRateLimited(pino({}, sink), 'redis error', { client: 'x' }, 30_000, () => clock);
    warn(new Error('a'));
    clock += 10_000;
    warn(new Error('b'));
    warn(new Error('c'));
    clock += 25_000;
    warn(new Error('d'));
    expect(lines.map((l) => [l.msg, l.suppressed, l.client])).toEqual([
      ['redis error', 0, 'x'],
      ['redis error', 2, 'x'],
    ]);
  });
});
