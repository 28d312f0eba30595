// `npm run bench -- NAME [NAME...]`: runs the named benchmarks in this process; each prints one
// JSON object as its last stdout line: {"bench": NAME, "metrics": {...}} (see ./report.ts).
// `npm run bench` (no name): runs every benchmark in a child process of its own (so memory figures
// are not mixed), then writes bench/results.json and the table in bench/README.md.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as acl from './acl.ts';
import * as sync from './sync.ts';
import * as audit from './audit.ts';
import * as gateway from './gateway.ts';
import { GOALS } from './goals.ts';

const benches: Record<string, () => Promise<void>> = {
  acl: acl.run,
  sync: sync.run,
  audit: audit.run,
  gateway: gateway.run,
};

interface BenchResult {
  bench: string;
  metrics: Record<string, number>;
  [k: string]: unknown;
}

function runChild(name: string): Promise<BenchResult | { bench: string; error: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), name], {
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
        if (code === 0 && parsed.bench === name) return resolve(parsed);
      } catch {
        // fall through
      }
      resolve({ bench: name, error: `exited with code ${code}` });
    });
  });
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100);
}

async function runAll(): Promise<void> {
  const results: Array<BenchResult | { bench: string; error: string }> = [];
  for (const name of Object.keys(benches)) results.push(await runChild(name));
  const file = fileURLToPath(new URL('../results.json', import.meta.url));
  const meta = {
    at: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    loadavg: loadavg(),
  };
  await writeFile(file, `${JSON.stringify({ ...meta, results }, null, 2)}\n`);

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
  const readme = fileURLToPath(new URL('../README.md', import.meta.url));
  const begin = '<!-- results:begin -->';
  const end = '<!-- results:end -->';
  const table = `${begin}\nLast run: ${meta.at}, Node ${meta.node}, ${meta.cores} cores, load average ${meta.loadavg.map((l) => l.toFixed(2)).join(' / ')}.\n\n${rows.join('\n')}\n${end}`;
  const current = await readFile(readme, 'utf8').catch(() => '');
  const next = current.includes(begin)
    ? current.replace(new RegExp(`${begin}[\\s\\S]*${end}`), table)
    : `${current}\n${table}\n`;
  await writeFile(readme, next);
  process.stdout.write(`${JSON.stringify({ bench: 'all', results: results.length, file: 'bench/results.json' })}\n`);
  if (results.some((r) => 'error' in r)) process.exitCode = 1;
}

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (names.length === 0) {
  await runAll();
} else {
  for (const name of names) {
    const run = benches[name];
    if (!run) {
      process.stderr.write(`unknown benchmark '${name}'; known: ${Object.keys(benches).join(', ')}\n`);
      process.exit(2);
    }
    await run();
  }
}
