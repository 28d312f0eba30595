import type { Command } from 'commander';
import * as acl from './acl.ts';
import * as usercfg from './usercfg.ts';
import * as sim from './sim.ts';
import * as audit from './audit.ts';

/** Command groups. Each module owns one group and exports `register(program)`. */
export function registerCommands(program: Command): void {
  for (const group of [acl, usercfg, sim, audit]) group.register(program);
}
