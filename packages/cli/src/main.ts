// The `tenantgate` operator CLI: one binary for every operator command. Each command group lives
// in ./commands/<group>.ts and registers itself on the program.
import { Command } from 'commander';
import { registerCommands } from './commands/index.ts';

const program = new Command()
  .name('tenantgate')
  .description('tenantgate operator CLI')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
  if (e.code?.startsWith('commander.')) process.exit(e.exitCode ?? 2);
  process.stderr.write(`tenantgate: ${e.message ?? String(err)}\n`);
  process.exit(1);
}
