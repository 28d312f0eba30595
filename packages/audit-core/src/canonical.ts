import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON. Values JSON cannot represent (undefined at the top level,
 * functions, symbols) are refused instead of silently producing a different hash input.
 */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new TypeError('value has no canonical JSON form');
  return out;
}
