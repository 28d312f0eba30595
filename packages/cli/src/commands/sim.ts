import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { DEFAULT_TASK_ARCHIVE_INTERVAL_S, startSimulator } from '@tenantgate/pve-sim';

function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer in [${min}, ${max}]`);
    return n;
  };
}

interface SimOptions {
  port: number;
  host: string;
  scenario: 'demo' | 'scale';
  seed: number;
  activity?: number;
  authDelayMs: number;
  powerTaskSeconds: number;
  taskArchiveSeconds: number;
}

/** `tenantgate sim`: runs the PVE simulator in the foreground until Ctrl-C. */
export function register(program: Command): void {
  program
    .command('sim')
    .description(
      'run the PVE simulator (HTTPS, one listener per cluster); prints its endpoints and tokens as JSON first',
    )
    .option('--port <n>', 'port of the first cluster; the others follow (0 = free ports)', intArg(0, 65535), 0)
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option(
      '--scenario <name>',
      'demo | scale',
      (v: string) => {
        if (v !== 'demo' && v !== 'scale') throw new InvalidArgumentError('expected demo or scale');
        return v;
      },
      'demo',
    )
    .option('--seed <n>', 'scenario seed', intArg(0, 2 ** 31 - 1), 1)
    .option('--activity <perSecond>', 'generate background activity at this rate', (v: string) => {
      const n = Number(v);
      if (!(n > 0) || n > 10_000) throw new InvalidArgumentError('expected a rate in (0, 10000]');
      return n;
    })
    .option('--auth-delay-ms <n>', 'delay of 401 answers (PVE: ~3000)', intArg(0, 60_000), 3000)
    .option('--power-task-seconds <n>', 'how long power-action tasks run', intArg(0, 3600), 2)
    .option(
      '--task-archive-seconds <n>',
      "period of each node's task archiver; unreaped finished tasks stay in the active list until it runs (0 = at once)",
      intArg(0, 3600),
      DEFAULT_TASK_ARCHIVE_INTERVAL_S,
    )
    .action(async (opts: SimOptions) => {
      // Handlers first: a signal that arrives while the clusters start, or the instant the summary line is
      // out (a script may answer it at once), must stop the simulator, not kill the process. Ctrl-C in a
      // terminal signals the whole process group and the bin shim forwards its own SIGINT too, so it can
      // arrive twice: the handlers stay installed (`on`, not `once`) and a repeat is a no-op.
      const stopRequested = new Promise<void>((resolve) => {
        const done = (): void => resolve();
        process.on('SIGINT', done);
        process.on('SIGTERM', done);
      });
      const sim = await startSimulator({
        scenario: opts.scenario,
        seed: opts.seed,
        host: opts.host,
        basePort: opts.port,
        activity: opts.activity ? { ratePerSecond: opts.activity } : false,
        authFailureDelayMs: opts.authDelayMs,
        powerTaskDurationS: opts.powerTaskSeconds,
        taskArchiveIntervalS: opts.taskArchiveSeconds,
      });
      const first = sim.clusters[0];
      if (!first) {
        await sim.stop();
        throw new Error('the scenario has no clusters');
      }
      const summary = {
        url: first.url,
        fingerprint: first.fingerprint,
        token: first.rootTokenString,
        clusters: sim.clusters.map((c) => ({
          name: c.name,
          url: c.url,
          fingerprint: c.fingerprint,
          token: c.rootTokenString,
          syncToken: c.syncTokenString,
        })),
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      process.stderr.write(`pve-sim: ${sim.clusters.length} cluster(s) serving; Ctrl-C to stop\n`);
      await stopRequested;
      await sim.stop();
      // Exit now rather than by draining the event loop: a natural exit first closes the signal handles and
      // restores the default action, so the duplicate SIGINT of a terminal Ctrl-C (the shim forwards one
      // more) could still land in that window and turn a clean stop into "killed by SIGINT" (shim status 1).
      process.exit(0);
    });
}
