import { describe, expect, it } from 'vitest';
import { Repeater } from '@graphql-yoga/subscription';
import { AppError } from '@tenantgate/shared';
import { isRevoked, reauthorized, type AccessCheck } from './reauthorize.ts';

/** A source that yields `values`, then stays open until closed; `closed` resolves when it is. */
function source<T>(values: T[]) {
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  const it = new Repeater<T>(async (push, stop) => {
    for (const v of values) await push(v);
    await stop;
    closed();
  });
  return { it, done };
}

const HOUR = 3_600_000;

describe('reauthorized', () => {
  it('checks before each event: delivers while access holds, then one Revoked item, then completes and closes the source', async () => {
    const src = source([1, 2, 3]);
    let calls = 0;
    const check: AccessCheck = async () => (++calls >= 3 ? AppError.forbidden() : null);
    const out: unknown[] = [];
    for await (const v of reauthorized(src.it, check, HOUR)) out.push(v);
    expect(out.slice(0, 2)).toEqual([1, 2]);
    expect(out).toHaveLength(3);
    expect(isRevoked(out[2])).toBe(true);
    expect((out[2] as { revoked: AppError }).revoked.code).toBe('FORBIDDEN');
    await src.done;
  });

  it('checks periodically while the source is idle', async () => {
    const src = source<number>([]);
    let calls = 0;
    const check: AccessCheck = async () => (++calls >= 2 ? AppError.unauthenticated() : null);
    const out: unknown[] = [];
    for await (const v of reauthorized(src.it, check, 1)) out.push(v);
    expect(out).toHaveLength(1);
    expect((out[0] as { revoked: AppError }).revoked.code).toBe('UNAUTHENTICATED');
    await src.done;
  });

  it('closes the source when the client unsubscribes', async () => {
    const src = source([1]);
    const stream = reauthorized(src.it, async () => null, HOUR);
    expect((await stream.next()).value).toBe(1);
    await stream.return?.();
    await src.done;
  });

  it('fails the stream when the check fails unexpectedly', async () => {
    const src = source([1]);
    const stream = reauthorized(
      src.it,
      async () => {
        throw new Error('database down');
      },
      HOUR,
    );
    await expect(stream.next()).rejects.toThrow('database down');
    await src.done;
  });
});
