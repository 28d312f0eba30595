import { Repeater } from '@graphql-yoga/subscription';
import { isAppError, type AppError } from '@tenantgate/shared';

/** The last item of a stream whose access was withdrawn: the resolver turns it into the error. */
export interface Revoked {
  readonly revoked: AppError;
}

export const isRevoked = (v: unknown): v is Revoked =>
  typeof v === 'object' && v !== null && 'revoked' in v && isAppError((v as Revoked).revoked);

/**
 * The authorization decision of an open stream, asked again: null while access holds, else the
 * expected error (UNAUTHENTICATED: session revoked or expired, user disabled; FORBIDDEN: membership
 * or privilege gone). Unexpected failures throw.
 */
export type AccessCheck = () => Promise<AppError | null>;

/**
 * Wraps a subscription source: before each event is delivered, and every `intervalMs` while the
 * stream is idle, `check` asks the authorization service again. When access is gone the stream
 * delivers one `Revoked` item (the resolver raises its error to the client) and completes; the
 * source is closed either way.
 */
export function reauthorized<T>(
  source: AsyncIterableIterator<T>,
  check: AccessCheck,
  intervalMs: number,
): AsyncIterableIterator<T | Revoked> {
  return new Repeater<T | Revoked>(async (push, stop) => {
    let ended = false;
    const end = async (error: AppError) => {
      if (ended) return;
      ended = true;
      await push({ revoked: error });
      stop();
    };
    let timer: NodeJS.Timeout | undefined;
    // Self-rescheduling (no overlapping checks), stopped with the stream.
    const schedule = () => {
      timer = setTimeout(() => {
        check()
          .then(async (error) => {
            if (error) await end(error);
            else if (!ended) schedule();
          })
          .catch((err: unknown) => {
            ended = true;
            stop(err);
          });
      }, intervalMs);
    };
    schedule();
    void stop.then(() => {
      ended = true;
      clearTimeout(timer);
      void source.return?.();
    });
    try {
      for await (const value of source) {
        if (ended) break;
        const error = await check();
        if (error) {
          await end(error);
          break;
        }
        if (ended) break;
        await push(value);
      }
      stop();
    } catch (err) {
      stop(err);
    } finally {
      clearTimeout(timer);
    }
  });
}
