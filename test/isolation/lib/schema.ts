// The gateway's schema as the running gateway reports it (introspection), and what the fuzz
// derives from it: root fields, their arguments, and selection sets of scalar leaves.

export interface TypeRef {
  kind: 'SCALAR' | 'OBJECT' | 'INTERFACE' | 'UNION' | 'ENUM' | 'INPUT_OBJECT' | 'LIST' | 'NON_NULL';
  name: string | null;
  ofType: TypeRef | null;
}

export interface InputValue {
  name: string;
  type: TypeRef;
  defaultValue: string | null;
}

export interface Field {
  name: string;
  args: InputValue[];
  type: TypeRef;
}

export interface FullType {
  kind: TypeRef['kind'];
  name: string;
  fields: Field[] | null;
  inputFields: InputValue[] | null;
  enumValues: Array<{ name: string }> | null;
  possibleTypes: Array<{ name: string }> | null;
}

export interface IntrospectedSchema {
  queryType: { name: string } | null;
  mutationType: { name: string } | null;
  subscriptionType: { name: string } | null;
  types: FullType[];
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }';

/** A standard introspection query (without descriptions and directives: the fuzz needs types only). */
export const INTROSPECTION_QUERY = `query Introspect {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types {
      kind name
      fields(includeDeprecated: true) { name args { name defaultValue type { ${TYPE_REF} } } type { ${TYPE_REF} } }
      inputFields { name defaultValue type { ${TYPE_REF} } }
      enumValues(includeDeprecated: true) { name }
      possibleTypes { name }
    }
  }
}`;

export type OperationKind = 'query' | 'mutation' | 'subscription';

export interface RootField {
  operation: OperationKind;
  field: Field;
}

export class Schema {
  readonly #types = new Map<string, FullType>();

  constructor(readonly raw: IntrospectedSchema) {
    for (const t of raw.types) this.#types.set(t.name, t);
  }

  type(name: string): FullType {
    const t = this.#types.get(name);
    if (!t) throw new Error(`type ${name} is not in the schema`);
    return t;
  }

  /** Every field of Query, Mutation and Subscription. */
  rootFields(): RootField[] {
    const out: RootField[] = [];
    const roots: Array<[OperationKind, { name: string } | null]> = [
      ['query', this.raw.queryType],
      ['mutation', this.raw.mutationType],
      ['subscription', this.raw.subscriptionType],
    ];
    for (const [operation, root] of roots) {
      if (!root) continue;
      for (const field of this.type(root.name).fields ?? []) out.push({ operation, field });
    }
    return out;
  }

  /**
   * A selection set of scalar and enum leaves, following object fields without arguments (or with
   * only optional ones) up to `depth` levels. Interfaces and unions get `__typename` plus each
   * possible type's leaves in inline fragments.
   */
  selection(ref: TypeRef, depth = 3): string {
    const named = namedType(ref);
    const t = this.type(named.name!);
    if (t.kind === 'SCALAR' || t.kind === 'ENUM') return '';
    if (t.kind === 'INTERFACE' || t.kind === 'UNION') {
      const parts = ['__typename'];
      for (const p of t.possibleTypes ?? []) {
        const inner = this.#objectLeaves(this.type(p.name), depth);
        if (inner) parts.push(`... on ${p.name} ${inner}`);
      }
      return `{ ${parts.join(' ')} }`;
    }
    return this.#objectLeaves(t, depth) || '{ __typename }';
  }

  #objectLeaves(t: FullType, depth: number): string {
    const parts: string[] = ['__typename'];
    for (const f of t.fields ?? []) {
      if (f.args.some((a) => a.type.kind === 'NON_NULL' && a.defaultValue === null)) continue;
      const inner = this.type(namedType(f.type).name!);
      if (inner.kind === 'SCALAR' || inner.kind === 'ENUM') parts.push(f.name);
      else if (depth > 1) {
        const sub = this.selection(f.type, depth - 1);
        if (sub) parts.push(`${f.name} ${sub}`);
      }
    }
    return parts.length > 1 ? `{ ${parts.join(' ')} }` : '';
  }
}

export function namedType(ref: TypeRef): TypeRef {
  let r = ref;
  while (r.ofType) r = r.ofType;
  return r;
}

/** The type as written in a variable definition, e.g. `[ID!]!`. */
export function typeString(ref: TypeRef): string {
  if (ref.kind === 'NON_NULL') return `${typeString(ref.ofType!)}!`;
  if (ref.kind === 'LIST') return `[${typeString(ref.ofType!)}]`;
  return ref.name!;
}

export function isNonNull(ref: TypeRef): boolean {
  return ref.kind === 'NON_NULL';
}

export function isList(ref: TypeRef): boolean {
  const r = ref.kind === 'NON_NULL' ? ref.ofType! : ref;
  return r.kind === 'LIST';
}
