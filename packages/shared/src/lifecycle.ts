import type { Logger } from 'pino';

/** Anything a composition root owns: started in order, stopped in reverse order, once. */
export interface Resource {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * The one ordered shutdown routine of a process (STYLE.md principle 4). `add` resources as they
 * start; `shutdown` stops them in reverse order, runs once however often it is called, and runs
 * every step even when an earlier one fails.
 */
export class Shutdown {
  readonly #resources: Resource[] = [];
  #done: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  add<R extends Resource>(resource: R): R {
    this.#resources.push(resource);
    return resource;
  }

  /** Adds a plain stop function. */
  defer(name: string, stop: () => Promise<void> | void): void {
    this.#resources.push({ name, stop: async () => await stop() });
  }

  shutdown(reason: string): Promise<void> {
    this.#done ??= (async () => {
      this.logger.info({ reason }, 'shutting down');
      for (const r of [...this.#resources].reverse()) {
        try {
          await r.stop();
          this.logger.debug({ resource: r.name }, 'stopped');
        } catch (err) {
          this.logger.error({ err, resource: r.name }, 'stop failed');
        }
      }
      this.logger.info('stopped');
    })();
    return this.#done;
  }

  /** SIGINT/SIGTERM trigger the shutdown, then the process exits. */
  installSignalHandlers(): void {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        void this.shutdown(sig).finally(() => process.exit(0));
      });
    }
  }
}
