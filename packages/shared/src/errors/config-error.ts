import { AppError, ErrorCode } from './app-error.ts';

/** All configuration problems at once, so an operator fixes them in one go. */
export class ConfigError extends AppError {
  constructor(readonly problems: string[]) {
    super(ErrorCode.CONFIG_INVALID, `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      problems,
    });
    this.name = 'ConfigError';
  }
}
