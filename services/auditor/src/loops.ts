import type { Logger } from '@tenantgate/shared';

/**
 * Runs `step` repeatedly until it reports no work, single-flight: kicks during a run only make the
 * run go around once more. `stop()` awaits the run in flight.
 */
export class Drain {
  #running: Promise<boolean> | undefined;
  #again = false;
  #stopped = false;

  constructor(
    private readonly name: string,
    private readonly step: () => Promise<boolean>,
    private readonly logger: Logger,
    /** Steps run concurrently (each claims its own rows; they overlap I/O with CPU). */
    private readonly parallelism = 1,
  ) {}

  /** Resolves true when the run drained the work, false when a step failed (logged; retried on the next kick). */
  kick(): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(true);
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #loop(): Promise<boolean> {
    do {
      this.#again = false;
      try {
        await Promise.all(
          Array.from({ length: this.parallelism }, async () => {
            while (!this.#stopped && (await this.step()));
          }),
        );
      } catch (err) {
        this.logger.error({ err, loop: this.name }, 'step failed; retried on the next kick');
        return false;
      }
    } while (this.#again && !this.#stopped);
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}

/** A timer that reschedules itself after each run (never overlapping); `stop()` awaits the run. */
export class Ticker {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly run: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.run()
        .catch((err: unknown) => this.logger.error({ err, ticker: this.name }, 'periodic run failed'))
        .finally(() => {
          this.#running = undefined;
          this.#schedule();
        });
    }, this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
