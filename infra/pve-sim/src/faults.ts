// Fault knobs of one simulated cluster: what a flaky or misbehaving PVE puts on the wire.
export interface FaultSettings {
  /** Extra delay before every API response. */
  latencyMs: number;
  /** Share (0..1) of API requests answered with a 5xx. */
  http5xxRate: number;
  /** Status used for injected 5xx answers (default 500; 596 is what pveproxy sends when a node is unreachable). */
  http5xxStatus: number;
  /** Share (0..1) of API requests whose connection is reset before any response. */
  resetRate: number;
  /** Serve the JSON body cut in half (HTTP 200, consistent Content-Length). */
  truncateJson: boolean;
  /** Serve a syntactically invalid JSON body (HTTP 200). */
  invalidJson: boolean;
  /** Answer with an HTML error page (HTTP 502, text/html), as a reverse proxy in front of PVE does. */
  htmlErrorPage: boolean;
  /** Turn numbers into strings and strings into numbers inside `data`. */
  wrongFieldTypes: boolean;
  /** Pad array results to at least this many bytes (0 = off). */
  hugeResponseBytes: number;
  /** Only requests whose API path (after /api2/json) starts with this prefix are affected. */
  pathPrefix: string;
}

export const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  http5xxRate: 0,
  http5xxStatus: 500,
  resetRate: 0,
  truncateJson: false,
  invalidJson: false,
  htmlErrorPage: false,
  wrongFieldTypes: false,
  hugeResponseBytes: 0,
  pathPrefix: '',
};

/** Default size for `hugeResponse: true`. */
export const HUGE_RESPONSE_DEFAULT_BYTES = 64 * 1024 * 1024;

export function parseFaultPatch(input: unknown): Partial<FaultSettings> {
  if (typeof input !== 'object' || input === null) throw new TypeError('faults must be an object');
  const o = input as Record<string, unknown>;
  const out: Partial<FaultSettings> = {};
  const numField = (k: keyof FaultSettings, min: number, max: number): void => {
    if (o[k] === undefined) return;
    const v = Number(o[k]);
    if (!Number.isFinite(v) || v < min || v > max) throw new RangeError(`${k} must be a number in [${min}, ${max}]`);
    (out as Record<string, unknown>)[k] = v;
  };
  const boolField = (k: keyof FaultSettings): void => {
    if (o[k] === undefined) return;
    if (typeof o[k] !== 'boolean') throw new TypeError(`${k} must be a boolean`);
    (out as Record<string, unknown>)[k] = o[k];
  };
  numField('latencyMs', 0, 600_000);
  numField('http5xxRate', 0, 1);
  numField('http5xxStatus', 500, 599);
  numField('resetRate', 0, 1);
  boolField('truncateJson');
  boolField('invalidJson');
  boolField('htmlErrorPage');
  boolField('wrongFieldTypes');
  if (o.hugeResponse !== undefined)
    out.hugeResponseBytes =
      o.hugeResponse === true ? HUGE_RESPONSE_DEFAULT_BYTES : o.hugeResponse === false ? 0 : Number(o.hugeResponse);
  numField('hugeResponseBytes', 0, 2 ** 31);
  if (o.pathPrefix !== undefined) out.pathPrefix = String(o.pathPrefix);
  const known = new Set([...Object.keys(NO_FAULTS), 'hugeResponse']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new RangeError(`unknown fault knob '${k}'`);
  return out;
}

/** Flips value types the way a broken or different-version API would (numbers ↔ strings). */
export function scrambleTypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrambleTypes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrambleTypes(v)]));
  }
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' && value !== '' && !/^\d+$/.test(value)) return value.length;
  if (typeof value === 'string') return Number(value);
  return value;
}
