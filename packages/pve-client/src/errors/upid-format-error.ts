import { AppError, ErrorCode } from '@tenantgate/shared';

/** A string that is not a UPID (formats.md §1.1). Input to parseUpid, so BAD_USER_INPUT. */
export class UpidFormatError extends AppError {
  readonly upid: string;

  constructor(upid: string, reason: string) {
    super(ErrorCode.BAD_USER_INPUT, `malformed UPID ${JSON.stringify(upid.slice(0, 200))}: ${reason}`, {
      upid: upid.slice(0, 200),
      reason,
    });
    this.name = 'UpidFormatError';
    this.upid = upid;
  }
}
