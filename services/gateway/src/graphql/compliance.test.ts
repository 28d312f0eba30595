import { describe, expect, it } from 'vitest';
import { capStrings } from './compliance.ts';

describe('capStrings (audited read payloads)', () => {
  it('keeps short strings, cuts long ones at 256 with the original length, everywhere in the payload', () => {
    const long = 'x'.repeat(90_000);
    const from = new Date('2026-11-23T00:00:00Z');
    class Filter {
      text = long;
      actor = 'alice';
      from = from;
    }
    expect(capStrings({ filter: new Filter(), first: 20, after: null, tags: [long, 'ok'] })).toEqual({
      filter: { text: `${'x'.repeat(256)}…(90000 chars)`, actor: 'alice', from },
      first: 20,
      after: null,
      tags: [`${'x'.repeat(256)}…(90000 chars)`, 'ok'],
    });
    expect(capStrings('y'.repeat(256))).toBe('y'.repeat(256));
  });

  it('never leaves half a surrogate pair at the cut', () => {
    const s = `${'a'.repeat(255)}😀${'b'.repeat(10)}`;
    const capped = capStrings(s) as string;
    expect(capped.isWellFormed()).toBe(true);
    expect(capped).toBe(`${'a'.repeat(255)}…(${s.length} chars)`);
  });
});
