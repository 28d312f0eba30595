// Arguments for every root field, generated from the introspected types. Each ID argument (at
// any depth of input objects and lists) and each username argument is a *probe*: the fuzz fills
// it with another tenant's id, a well-formed random id, and garbage, while everything else gets a
// valid value. Scalars the generator does not know make `plan` throw, so new fields cannot slip
// through silently.
import { inferKind, type ProbeKind } from './ids.ts';
import { isList, namedType, typeString, type Field, type InputValue, type Schema, type TypeRef } from './schema.ts';

/** A path into the arguments: names of args/input fields; list positions are implicit (one element). */
export type ArgPath = string[];

export interface Probe {
  path: ArgPath;
  kind: ProbeKind;
  /** Inside a list: the value is wrapped in a one-element list. */
  list: boolean;
}

export interface FieldPlan {
  field: Field;
  probes: Probe[];
  /** Argument values for one probe (or none), with `value` at the probe's path. */
  args(
    probe: Probe | null,
    value: unknown,
    fill: (kind: ProbeKind) => unknown,
    scalar?: ScalarOverride,
  ): Record<string, unknown>;
  /** `query ($a: T!, ...) { field(a: $a ...) selection }` over the arguments present in `args`. */
  document(operation: 'query' | 'mutation' | 'subscription', selection: string, args: Record<string, unknown>): string;
}

export class CannotGenerate extends Error {}

/** Replaces the generated value of a scalar leaf (return undefined to keep it). */
export type ScalarOverride = (type: string, name: string) => unknown;

/** Valid values for non-probe leaves, by scalar name and argument name. */
function scalarValue(type: string, name: string): unknown {
  switch (type) {
    case 'Int':
      return name === 'pollIntervalMs' ? 5000 : name === 'first' ? 5 : 1;
    case 'Float':
      return 1.5;
    case 'Boolean':
      return false;
    case 'DateTimeISO':
      return '2099-01-01T00:00:00.000Z';
    case 'JSONObject':
      return {};
    case 'String':
      return stringFor(name);
    case 'ID':
      // Only reached for IDs that are not probes (never: every ID is a probe).
      throw new CannotGenerate(`ID ${name} without a probe`);
    default:
      throw new CannotGenerate(`no generator for scalar ${type} (argument ${name})`);
  }
}

const STRINGS: Record<string, string> = {
  password: 'not-the-password-1',
  name: 'fuzzname',
  slug: 'fuzz-slug',
  role: 'tenant_user',
  code: 'TEN-901',
  kind: 'TASK-002',
  severity: 'medium',
  baseUrl: 'https://127.0.0.1:9',
  fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
  tokenId: 'fuzz@pve!t1',
  secret: 'fuzz-secret-value',
  privileges: 'VM.Audit',
  note: 'fuzz note',
};

function stringFor(name: string): string {
  return STRINGS[name] ?? 'fuzz';
}

/** Plans the arguments of one root field; throws CannotGenerate for anything it cannot fill. */
export function plan(schema: Schema, field: Field): FieldPlan {
  const returnType = namedType(field.type).name;
  const probes: Probe[] = [];

  const walk = (v: InputValue, path: ArgPath, seen: Set<string>): void => {
    const named = namedType(v.type);
    const t = schema.type(named.name!);
    if (t.kind === 'INPUT_OBJECT') {
      if (seen.has(t.name)) return; // recursive input types: one level is enough
      for (const f of t.inputFields ?? []) walk(f, [...path, f.name], new Set([...seen, t.name]));
      return;
    }
    if (named.name === 'ID' || (named.name === 'String' && v.name === 'username')) {
      const kind: ProbeKind | null = v.name === 'username' ? 'Username' : inferKind(v.name, field.name, returnType);
      if (!kind) throw new CannotGenerate(`cannot tell what ${field.name}(${path.join('.')}) identifies`);
      probes.push({ path, kind, list: isList(v.type) });
    }
  };
  for (const a of field.args) walk(a, [a.name], new Set());

  const build = (
    v: InputValue,
    path: ArgPath,
    probe: Probe | null,
    value: unknown,
    fill: (k: ProbeKind) => unknown,
    scalar?: ScalarOverride,
  ): unknown => {
    const onProbePath = probe !== null && probe.path.slice(0, path.length).join('.') === path.join('.');
    const required = v.type.kind === 'NON_NULL' && v.defaultValue === null;
    if (!required && !onProbePath) return undefined;
    const named = namedType(v.type);
    const t = schema.type(named.name!);
    const wrap = (x: unknown) => (isList(v.type) ? [x] : x);
    if (probe && path.join('.') === probe.path.join('.')) return wrap(value);
    if (t.kind === 'INPUT_OBJECT') {
      const obj: Record<string, unknown> = {};
      for (const f of t.inputFields ?? []) {
        const x = build(f, [...path, f.name], probe, value, fill, scalar);
        if (x !== undefined) obj[f.name] = x;
      }
      return wrap(obj);
    }
    if (t.kind === 'ENUM') return wrap(t.enumValues![0]!.name);
    const own = probes.find((p) => p.path.join('.') === path.join('.'));
    if (own) return wrap(fill(own.kind));
    return wrap(scalar?.(named.name!, v.name) ?? scalarValue(named.name!, v.name));
  };

  // Fail early for required leaves nobody can fill.
  for (const a of field.args) build(a, [a.name], null, null, () => 'x');

  return {
    field,
    probes,
    args(probe, value, fill, scalar) {
      const out: Record<string, unknown> = {};
      for (const a of field.args) {
        const x = build(a, [a.name], probe, value, fill, scalar);
        if (x !== undefined) out[a.name] = x;
      }
      return out;
    },
    document(operation, selection, args) {
      const used = field.args.filter((a) => args[a.name] !== undefined);
      const defs = used.map((a) => `$${a.name}: ${typeString(a.type)}`).join(', ');
      const call = used.length ? `(${used.map((a) => `${a.name}: $${a.name}`).join(', ')})` : '';
      return `${operation} Fuzz${defs ? `(${defs})` : ''} { ${field.name}${call} ${selection} }`;
    },
  };
}

/** Every string-typed input position of a field (for the unicode corpus): paths and list-ness. */
export function stringInputs(schema: Schema, field: Field): Array<{ path: ArgPath; list: boolean }> {
  const out: Array<{ path: ArgPath; list: boolean }> = [];
  const walk = (v: InputValue, path: ArgPath, seen: Set<string>) => {
    const named = namedType(v.type);
    const t = schema.type(named.name!);
    if (t.kind === 'INPUT_OBJECT') {
      if (seen.has(t.name)) return;
      for (const f of t.inputFields ?? []) walk(f, [...path, f.name], new Set([...seen, t.name]));
    } else if (named.name === 'String') out.push({ path, list: isList(v.type) });
  };
  for (const a of field.args) walk(a, [a.name], new Set());
  return out;
}

export type { TypeRef };
