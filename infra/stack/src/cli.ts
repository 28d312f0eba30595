// The stack runner behind the README's commands (started by scripts/bootstrap.mjs under Node 24):
//   start       embedded PostgreSQL + Redis + migrations + PVE simulator + the three services
//   test        lint, typecheck, then every test (vitest starts its own Postgres/Redis)
//   bench NAME  benchmarks (bench/src/main.ts)
//   e2e:faults  the long form of the end-to-end fault test (test/faults)
//   lint        lint + typecheck only
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function lint(): Promise<number> {
  const prettier = await run('pnpm', ['exec', 'prettier', '--check', '--log-level', 'warn', '.']);
  if (prettier !== 0) return prettier;
  return await run('pnpm', [
    'exec',
    'turbo',
    'run',
    'lint',
    'typecheck',
    '--output-logs=errors-only',
    '--concurrency=2',
  ]);
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case 'lint':
      return await lint();
    case 'test': {
      const lintCode = await lint();
      if (lintCode !== 0) return lintCode;
      const resultsFile = join(repoRoot, '.data', 'test-results.json');
      await rm(resultsFile, { force: true });
      const code = await run('pnpm', [
        'exec',
        'vitest',
        'run',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${resultsFile}`,
        ...args,
      ]);
      // A plain closing line any CI understands, from vitest's own JSON report.
      try {
        const r = JSON.parse(await readFile(resultsFile, 'utf8')) as {
          numPassedTests: number;
          numFailedTests: number;
          numPendingTests: number;
        };
        process.stdout.write(
          `\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped\n`,
        );
        if (r.numFailedTests > 0 && code === 0) return 1;
      } catch {
        process.stdout.write('\ntests: no test report was written\n');
        return code === 0 ? 1 : code;
      }
      return code;
    }
    case 'e2e:faults':
      // The long form of test/faults (several rounds of every fault, more activity); `npm test` runs one round.
      return await run('pnpm', ['exec', 'vitest', 'run', 'test/faults', ...args], {
        ...process.env,
        TENANTGATE_FAULTS_LONG: '1',
      });
    case 'bench':
      return await run(process.execPath, ['--import', 'tsx', 'bench/src/main.ts', ...args]);
    case 'start': {
      const { startStack } = await import('./stack.ts');
      return await startStack(args, process.env);
    }
    default:
      process.stderr.write(`unknown command '${command}' (start | test | e2e:faults | bench | lint)\n`);
      return 2;
  }
}

process.exit(await main());
