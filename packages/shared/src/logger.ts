import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** One pino logger per process, created in the composition root; children per component. */
export function createLogger(service: string, level: LevelWithSilent = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: {
      paths: ['*.password', '*.secret', '*.token', 'password', 'secret', 'token', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/**
 * A warning for errors that repeat on every retry (ioredis and BullMQ emit one per reconnect
 * attempt): at most one line per `everyMs`, carrying how many were suppressed since the last one.
 */
export function warnRateLimited(
  logger: Logger,
  msg: string,
  context: object = {},
  everyMs = 30_000,
  now: () => number = Date.now,
): (err: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (err) => {
    const t = now();
    if (t - last < everyMs) return void suppressed++;
    logger.warn({ err, ...context, suppressed }, msg);
    last = t;
    suppressed = 0;
  };
}
