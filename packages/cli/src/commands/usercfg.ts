import type { Command } from 'commander';

/** `tenantgate usercfg …` — placeholder until its issue lands; registers nothing yet. */
export function register(program: Command): void {
  void program;
}
