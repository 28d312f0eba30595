// PVE's API schema (pve-docs api-viewer apidata.js, PVE 9.1; see ../README.md for provenance) and a
// small checker for its JSON-schema dialect: type integer/number/string/boolean (0/1)/array/
// object/null/any, properties, optional, items, enum, additionalProperties, minimum/maximum,
// pattern, maxLength, oneOf. Used to route and validate request parameters exactly like PVE, and
// by the tests as the judge of every response.
import { readFileSync } from 'node:fs';

export interface PveSchema {
  type?: string | string[];
  optional?: 0 | 1;
  properties?: Record<string, PveSchema>;
  items?: PveSchema;
  additionalProperties?: 0 | 1 | PveSchema;
  enum?: (string | number)[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  format?: unknown;
  oneOf?: PveSchema[];
  default?: unknown;
  description?: string;
}

export interface MethodInfo {
  name: string;
  method: string;
  permissions?: unknown;
  allowtoken?: 0 | 1;
  protected?: 0 | 1;
  parameters?: PveSchema;
  returns?: PveSchema;
}

interface TreeNode {
  path: string;
  info?: Record<string, MethodInfo>;
  children?: TreeNode[];
}

export interface EndpointMatch {
  template: string;
  info: MethodInfo | undefined;
  pathParams: Record<string, string>;
  methods: string[];
}

const schemaUrl = new URL('../schema/pve-api-schema-9.1.json', import.meta.url);

class Trie {
  readonly literal = new Map<string, Trie>();
  param?: { name: string; node: Trie };
  template?: string;
  info?: Record<string, MethodInfo>;
}

let cached: { root: Trie; byTemplate: Map<string, Record<string, MethodInfo>> } | undefined;

function load(): { root: Trie; byTemplate: Map<string, Record<string, MethodInfo>> } {
  if (cached) return cached;
  const doc = JSON.parse(readFileSync(schemaUrl, 'utf8')) as { schema: TreeNode[] };
  const root = new Trie();
  const byTemplate = new Map<string, Record<string, MethodInfo>>();
  const add = (n: TreeNode): void => {
    let t = root;
    for (const seg of n.path.split('/').filter(Boolean)) {
      const m = /^\{(.+)\}$/.exec(seg);
      if (m) {
        t.param ??= { name: m[1] as string, node: new Trie() };
        t = t.param.node;
      } else {
        let next = t.literal.get(seg);
        if (!next) t.literal.set(seg, (next = new Trie()));
        t = next;
      }
    }
    t.template = n.path;
    t.info = n.info ?? {};
    byTemplate.set(n.path, t.info);
    for (const c of n.children ?? []) add(c);
  };
  for (const n of doc.schema) add(n);
  cached = { root, byTemplate };
  return cached;
}

/** Finds the endpoint template for a concrete path (`/nodes/pve1/tasks` → `/nodes/{node}/tasks`). */
export function matchEndpoint(method: string, path: string): EndpointMatch | undefined {
  const { root } = load();
  let t: Trie | undefined = root;
  const pathParams: Record<string, string> = {};
  for (const raw of path.split('/').filter(Boolean)) {
    const seg = decodeURIComponent(raw);
    const lit: Trie | undefined = t.literal.get(seg);
    if (lit) t = lit;
    else if (t.param) {
      pathParams[t.param.name] = seg;
      t = t.param.node;
    } else return undefined;
  }
  if (!t.template) return undefined;
  const info = t.info ?? {};
  return { template: t.template, info: info[method], pathParams, methods: Object.keys(info) };
}

export function methodInfo(template: string, method: string): MethodInfo | undefined {
  return load().byTemplate.get(template)?.[method];
}

export function allEndpoints(): { template: string; method: string }[] {
  const out: { template: string; method: string }[] = [];
  for (const [template, info] of load().byTemplate)
    for (const method of Object.keys(info)) out.push({ template, method });
  return out;
}

// ---- parameter verification (PVE::JSONSchema messages) -----------------------------------------

const TRUE_RE = /^(1|true|yes|on)$/i;
const FALSE_RE = /^(0|false|no|off)$/i;

/** Coerced parameter values: numbers for integer/number, 0/1 for booleans, strings otherwise. */
export type Params = Record<string, string | number>;

export function verifyParameters(
  schema: PveSchema | undefined,
  raw: Record<string, string>,
): { params: Params; errors?: Record<string, string> } {
  const props = schema?.properties ?? {};
  const errors: Record<string, string> = {};
  const params: Params = {};
  for (const [name, value] of Object.entries(raw)) {
    const p = props[name];
    if (!p) {
      if (schema?.additionalProperties === 0) {
        errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
      } else params[name] = value;
      continue;
    }
    const r = checkScalar(p, value);
    if (typeof r === 'string' && r.startsWith('\u0000')) errors[name] = r.slice(1);
    else params[name] = r;
  }
  for (const [name, p] of Object.entries(props)) {
    if (!p.optional && !(name in raw)) errors[name] = 'property is missing and it is not optional';
  }
  return Object.keys(errors).length > 0 ? { params, errors } : { params };
}

function checkScalar(p: PveSchema, value: string): string | number {
  const fail = (msg: string): string => `\u0000${msg}`;
  const type = Array.isArray(p.type) ? p.type[0] : p.type;
  let out: string | number = value;
  if (type === 'integer') {
    if (!/^[+-]?\d+$/.test(value.trim())) return fail(`type check ('integer') failed - got '${value}'`);
    out = Number(value);
  } else if (type === 'number') {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()))
      return fail(`type check ('number') failed - got '${value}'`);
    out = Number(value);
  } else if (type === 'boolean') {
    if (TRUE_RE.test(value)) out = 1;
    else if (FALSE_RE.test(value)) out = 0;
    else return fail(`type check ('boolean') failed - got '${value}'`);
  }
  if (typeof out === 'number') {
    if (p.minimum !== undefined && out < p.minimum) return fail(`value must have a minimum value of ${p.minimum}`);
    if (p.maximum !== undefined && out > p.maximum) return fail(`value must have a maximum value of ${p.maximum}`);
  } else {
    if (p.maxLength !== undefined && value.length > p.maxLength)
      return fail(`value may only be ${p.maxLength} characters long`);
    if (p.minLength !== undefined && value.length < p.minLength)
      return fail(`value must be at least ${p.minLength} characters long`);
  }
  if (p.enum && !p.enum.map(String).includes(String(out))) {
    return fail(`value '${value}' does not have a value in the enumeration '${p.enum.join(', ')}'`);
  }
  if (p.pattern && typeof out === 'string') {
    const re = perlRegex(p.pattern);
    if (re && !re.test(out)) return fail('value does not match the regex pattern');
  }
  return out;
}

/** Translates the `(?^:...)` groups of Perl-stringified patterns into JS; PVE anchors patterns. */
function perlRegex(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern.replace(/\(\?\^:/g, '(?:')})$`);
  } catch {
    return undefined;
  }
}

// ---- response checking --------------------------------------------------------------------------

/** Validates a response `data` value against a `returns` schema; returns a list of violations. */
export function checkValue(schema: PveSchema | undefined, value: unknown, at = 'data'): string[] {
  if (!schema) return [];
  const errors: string[] = [];
  const check = (s: PveSchema, v: unknown, path: string): void => {
    if (s.oneOf) {
      if (!s.oneOf.some((alt) => checkValue(alt, v, path).length === 0))
        errors.push(`${path}: matches no alternative of oneOf`);
      return;
    }
    const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
    if (types.length > 0 && !types.some((t) => typeMatches(t, v))) {
      errors.push(`${path}: expected ${types.join('|')}, got ${describe(v)}`);
      return;
    }
    if (v === null || v === undefined) return;
    if (s.enum && !s.enum.map(String).includes(String(v)))
      errors.push(`${path}: '${String(v)}' not in enum ${s.enum.join(',')}`);
    if (typeof v === 'number') {
      if (s.minimum !== undefined && v < s.minimum) errors.push(`${path}: ${v} < minimum ${s.minimum}`);
      if (s.maximum !== undefined && v > s.maximum) errors.push(`${path}: ${v} > maximum ${s.maximum}`);
    }
    if (typeof v === 'string') {
      if (s.maxLength !== undefined && v.length > s.maxLength) errors.push(`${path}: longer than ${s.maxLength}`);
      if (s.pattern) {
        const re = perlRegex(s.pattern);
        if (re && !re.test(v)) errors.push(`${path}: '${v}' does not match /${s.pattern}/`);
      }
    }
    if (Array.isArray(v)) {
      if (s.items) v.forEach((item, i) => check(s.items as PveSchema, item, `${path}[${i}]`));
      return;
    }
    if (typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      const props = s.properties ?? {};
      for (const [k, p] of Object.entries(props)) {
        if (!(k in obj)) {
          if (!p.optional) errors.push(`${path}.${k}: missing (not optional)`);
          continue;
        }
        if (obj[k] === null && !typeIncludesNull(p)) {
          errors.push(`${path}.${k}: null (optional fields must be omitted, not null)`);
          continue;
        }
        check(p, obj[k], `${path}.${k}`);
      }
      for (const k of Object.keys(obj)) {
        if (k in props) continue;
        if (s.additionalProperties === 0) errors.push(`${path}.${k}: not allowed (additionalProperties 0)`);
        else if (typeof s.additionalProperties === 'object') check(s.additionalProperties, obj[k], `${path}.${k}`);
      }
    }
  };
  check(schema, value, at);
  return errors;
}

function typeIncludesNull(s: PveSchema): boolean {
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  return types.includes('null') || types.includes('any');
}

function typeMatches(t: string, v: unknown): boolean {
  switch (t) {
    case 'any':
      return true;
    case 'null':
      return v === null;
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      // PVE serialises booleans as the integers 0 and 1.
      return v === 0 || v === 1;
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    default:
      return true;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}
