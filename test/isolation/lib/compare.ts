// How the fuzz compares two answers and looks for another tenant's data in one.

/** Every string and number in the request variables (what the caller itself sent). */
export function inputStrings(variables: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number') out.push(String(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(variables);
  return out.filter((s) => s.length > 0);
}

function withoutInputs(text: string, inputs: string[]): string {
  let t = text;
  // Longest first, so a value that contains another is removed whole.
  for (const s of [...inputs].sort((a, b) => b.length - a.length)) {
    if (s.length < 3) continue;
    t = t.split(s).join('<INPUT>');
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) t = t.split(escaped).join('<INPUT>');
  }
  return t;
}

/**
 * The answer with ids and paths removed: error codes and messages (the caller's own inputs
 * replaced), and the data's shape (objects, array lengths, nulls, booleans; other leaves masked).
 */
export function normalizedAnswer(status: number, body: any, inputs: string[]): string {
  const errors = ((body?.errors ?? []) as Array<{ message?: string; extensions?: { code?: string } }>)
    .map((e) => `${e.extensions?.code ?? '?'}|${withoutInputs(e.message ?? '', inputs)}`)
    .sort();
  const mask = (v: unknown): unknown => {
    if (v === null || typeof v === 'boolean') return v;
    if (Array.isArray(v)) return v.map(mask);
    if (typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, mask((v as Record<string, unknown>)[k])]),
      );
    return '*';
  };
  return JSON.stringify({ status, errors, data: body?.data === undefined ? 'absent' : mask(body.data) });
}

/** Sentinel strings of another tenant that occur in `text` once the caller's own inputs are removed. */
export function leakedSentinels(text: string, inputs: string[], sentinels: Iterable<string>): string[] {
  const t = withoutInputs(text, inputs);
  const found: string[] = [];
  for (const s of sentinels) if (t.includes(s)) found.push(s);
  return found;
}
