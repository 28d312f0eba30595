// `npm run bench -- NAME [NAME...]`: runs the named benchmarks (all when none is named). Each prints
// one JSON object as its last stdout line: {"bench": NAME, "metrics": {...}} (see ./report.ts).
import * as acl from './acl.ts';
import * as sync from './sync.ts';
import * as audit from './audit.ts';
import * as gateway from './gateway.ts';

const benches: Record<string, () => Promise<void>> = {
  acl: acl.run,
  sync: sync.run,
  audit: audit.run,
  gateway: gateway.run,
};

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const selected = names.length > 0 ? names : Object.keys(benches);
for (const name of selected) {
  const run = benches[name];
  if (!run) {
    process.stderr.write(`unknown benchmark '${name}'; known: ${Object.keys(benches).join(', ')}\n`);
    process.exit(2);
  }
  await run();
}
