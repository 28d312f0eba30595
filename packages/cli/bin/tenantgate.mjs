#!/usr/bin/env node
// `npx tenantgate …` from the repo root. The CLI is TypeScript and needs Node 24; when the node
// running this shim is older, re-run under the project-local Node 24 installed by scripts/bootstrap.mjs.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const major = Number(process.versions.node.split('.')[0]);
let nodeBin = process.execPath;
if (major < 24) {
  const local = join(root, '.tools', 'node', 'node_modules', '.bin', 'node');
  if (!existsSync(local)) {
    process.stderr.write(
      'tenantgate needs Node >= 24: run `npm test` or `npm start` once to install it into .tools/\n',
    );
    process.exit(1);
  }
  nodeBin = local;
}
const child = spawn(
  nodeBin,
  ['--import', import.meta.resolve('tsx'), join(here, '..', 'src', 'main.ts'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
