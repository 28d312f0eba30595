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
