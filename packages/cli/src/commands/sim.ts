import type { Command } from 'commander';

/** `tenantgate sim …` — placeholder until its issue lands; registers nothing yet. */
export function register(program: Command): void {
  void program;
}
