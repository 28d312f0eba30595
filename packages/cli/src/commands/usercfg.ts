import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DEFAULT_PVE_VERSION, parseUserCfg, writeUserCfg, type ParseResult } from '@tenantgate/pve-access';

/** Reads and parses a user.cfg; PVE's parse warnings go to stderr. Unreadable files throw a clear error. */
export async function loadUserCfg(file: string, pveVersion: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read user.cfg '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  const result = parseUserCfg(text, { pveVersion });
  for (const w of result.warnings) process.stderr.write(`warning: ${file}: ${w}\n`);
  return result;
}

/** `tenantgate usercfg …` — PVE user.cfg tools. */
export function register(program: Command): void {
  const usercfg = program.command('usercfg').description('PVE /etc/pve/user.cfg tools');
  usercfg
    .command('normalize')
    .description("print the file in PVE's canonical writer form (what PVE would write back)")
    .argument('<file>', 'path to a PVE user.cfg')
    .option('--pve-version <version>', 'PVE version whose privileges are known (e.g. 9.1, 8.4)', DEFAULT_PVE_VERSION)
    .action(async (file: string, opts: { pveVersion: string }) => {
      const { config } = await loadUserCfg(file, opts.pveVersion);
      process.stdout.write(writeUserCfg(config, { pveVersion: opts.pveVersion }));
    });
}
