// `npm run bench` runs every benchmark, `npm run bench -- NAME [NAME...]` the named ones. Each runs in
// a child process of its own (so memory figures are not mixed) and prints one JSON object as its
// last stdout line: {"bench": NAME, "metrics": {...}} (see ./report.ts). The results are merged into
// bench/results.json (a partial run replaces only the benches it ran) and the table in
// bench/README.md is written again from the merged file.
// `--in-process NAME`: run one benchmark in this process (what each child does).
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as acl from './acl.ts';
import * as sync from './sync.ts';
import * as audit from './audit.ts';
import * as gateway from './gateway.ts';
import * as subscriptions from './subscriptions.ts';
import { GOALS } from './goals.ts';

const benches: Record<string, () => Promise<void>> = {
  acl: acl.run,
  sync: sync.run,
  audit: audit.run,
  gateway: gateway.run,
  subscriptions: subscriptions.run,
};

interface RunInfo {
  /** When the invocation that ran this bench started, and the load average then (shared machines). */
  ranAt: string;
  runLoadavg: number[];
}

type BenchResult = RunInfo & {
  bench: string;
  metrics: Record<string, number>;
  [k: string]: unknown;
};

type Result = BenchResult | (RunInfo & { bench: string; error: string });

interface ResultsFile {
  at: string;
  node: string;
  cores: number;
  loadavg: number[];
  results: Result[];
}

function runChild(name: string, info: RunInfo): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--in-process', name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      process.stdout.write(b);
    });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        const parsed = JSON.parse(last) as BenchResult;
        if (code === 0 && parsed.bench === name) return resolve({ ...parsed, ...info });
      } catch {
        // fall through
      }
      resolve({ bench: name, error: `exited with code ${code}`, ...info });
    });
  });
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100);
}

/** Runs `names` (each in its own process) and merges their results into results.json and the README. */
async function runAndRecord(names: string[]): Promise<void> {
  // One run time for the whole invocation, so the README can group the benches that ran together.
  const info: RunInfo = {
    ranAt: new Date().toISOString(),
    runLoadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const fresh: Result[] = [];
  for (const name of names) fresh.push(await runChild(name, info));
  const file = fileURLToPath(new URL('../results.json', import.meta.url));
  const previous = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as ResultsFile)
    .catch(() => undefined);
  const byName = new Map<string, Result>();
  for (const r of previous?.results ?? []) {
    // results written before per-bench run times were recorded carry the file's own time
    const legacy = r as Partial<RunInfo> & Omit<Result, keyof RunInfo>;
    byName.set(r.bench, {
      ...legacy,
      ranAt: legacy.ranAt ?? previous!.at,
      runLoadavg: legacy.runLoadavg ?? previous!.loadavg,
    } as Result);
  }
  for (const r of fresh) byName.set(r.bench, r);
  // registry order first, then benches that are no longer registered (kept, never dropped silently)
  const results = [
    ...Object.keys(benches).flatMap((n) => (byName.has(n) ? [byName.get(n)!] : [])),
    ...[...byName.values()].filter((r) => !(r.bench in benches)),
  ];
  const meta = {
    at: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    loadavg: loadavg(),
  };
  await writeFile(file, `${JSON.stringify({ ...meta, results } satisfies ResultsFile, null, 2)}\n`);
  await writeReadme(meta, results);
  process.stderr.write(`bench: ${fresh.length} run, ${results.length} in bench/results.json\n`);
  if (names.length === Object.keys(benches).length)
    process.stdout.write(`${JSON.stringify({ bench: 'all', results: results.length, file: 'bench/results.json' })}\n`);
  if (fresh.some((r) => 'error' in r)) process.exitCode = 1;
}

async function writeReadme(meta: { at: string; node: string; cores: number }, results: Result[]): Promise<void> {
  const rows = ['| bench | metric | value | goal | met |', '|---|---|---|---|---|'];
  for (const r of results) {
    if ('error' in r) {
      rows.push(`| ${r.bench} | — | failed: ${r.error} | | ✗ |`);
      continue;
    }
    for (const [metric, value] of Object.entries(r.metrics)) {
      const goal = GOALS[r.bench]?.[metric];
      const met = goal?.check ? (goal.check(value, r.metrics) ? '✓' : '✗') : '';
      rows.push(`| ${r.bench} | \`${metric}\` | ${formatNumber(value)} | ${goal?.text ?? ''} | ${met} |`);
    }
  }
  // When each bench ran, grouped by run: a partial run refreshes only its own rows.
  const runs = new Map<string, { benches: string[]; load: number[] }>();
  for (const r of results) {
    const run = runs.get(r.ranAt) ?? { benches: [], load: r.runLoadavg };
    run.benches.push(r.bench);
    runs.set(r.ranAt, run);
  }
  const ran = [...runs]
    .map(
      ([at, run]) => `${run.benches.join(', ')}: ${at} (load average ${run.load.map((l) => l.toFixed(2)).join(' / ')})`,
    )
    .join('; ');
  const readme = fileURLToPath(new URL('../README.md', import.meta.url));
  const begin = '<!-- results:begin -->';
  const end = '<!-- results:end -->';
  const table = `${begin}\nLast update: ${meta.at}, Node ${meta.node}, ${meta.cores} cores. Runs: ${ran}.\n\n${rows.join('\n')}\n${end}`;
  const current = await readFile(readme, 'utf8').catch(() => '');
  const next = current.includes(begin)
    ? current.replace(new RegExp(`${begin}[\\s\\S]*${end}`), table)
    : `${current}\n${table}\n`;
  await writeFile(readme, next);
}

const args = process.argv.slice(2);
if (args[0] === '--in-process') {
  const run = benches[args[1] ?? ''];
  if (!run) throw new Error(`unknown benchmark '${args[1]}'`);
  await run();
} else {
  const names = args.filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !(n in benches));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark '${unknown.join(', ')}'; known: ${Object.keys(benches).join(', ')}\n`);
    process.exit(2);
  }
  await runAndRecord(names.length > 0 ? names : Object.keys(benches));
}
