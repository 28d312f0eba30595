import { GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from 'graphql';

/**
 * Strings PostgreSQL cannot store: U+0000 (text and jsonb refuse it) and unpaired UTF-16
 * surrogates (not Unicode scalar values: refused, or stored as U+FFFD). Every string that reaches
 * the gateway through an argument — a literal in the document or a variable, nested in input
 * objects, lists and JSON scalars, object keys included — is checked here once per operation
 * (Apollo plugin and graphql-ws onSubscribe), before any resolver runs, so no resolver has to.
 */
export function invalidStringInputs(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const seen = new Set<string>();
  const report = (argument: string, problem: string) => {
    if (seen.has(argument)) return;
    seen.add(argument);
    errors.push(
      new GraphQLError(`Argument "${argument}" contains ${problem}, which is not allowed`, {
        extensions: { code: 'BAD_USER_INPUT', argument },
      }),
    );
  };
  /** Where each variable is first used, as the argument path it fills (`filter.text`). */
  const usedAt = new Map<string, string>();

  const walkLiteral = (node: ValueNode, path: string): void => {
    switch (node.kind) {
      case Kind.STRING: {
        const problem = stringProblem(node.value);
        if (problem) report(path, problem);
        return;
      }
      case Kind.LIST:
        for (const v of node.values) walkLiteral(v, path);
        return;
      case Kind.OBJECT:
        for (const f of node.fields) walkLiteral(f.value, `${path}.${f.name.value}`);
        return;
      case Kind.VARIABLE:
        if (!usedAt.has(node.name.value)) usedAt.set(node.name.value, path);
        return;
      default:
        return;
    }
  };

  visit(document, {
    Argument(node) {
      walkLiteral(node.value, node.name.value);
    },
    VariableDefinition(node) {
      if (node.defaultValue) walkLiteral(node.defaultValue, `$${node.variable.name.value}`);
    },
  });

  const walkValue = (value: unknown, path: string, depth: number): void => {
    if (depth > 64) return;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) report(path, problem);
    } else if (Array.isArray(value)) {
      for (const v of value) walkValue(v, path, depth + 1);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const key = `${path}.${printable(k)}`;
        const problem = stringProblem(k);
        if (problem) report(key, `a key with ${problem}`);
        walkValue(v, key, depth + 1);
      }
    }
  };
  if (variables && typeof variables === 'object' && !Array.isArray(variables)) {
    for (const [name, value] of Object.entries(variables)) walkValue(value, usedAt.get(name) ?? `$${name}`, 0);
  }
  return errors;
}

/** Why a string cannot be stored, or null. */
export function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'a NUL character (U+0000)';
  if (!s.isWellFormed()) return 'an unpaired UTF-16 surrogate';
  return null;
}

/** A key as it may appear in an error message (nothing that is itself refused). */
function printable(key: string): string {
  return key.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

/**
 * `s` made storable for the audit trail where it cannot be refused (an id an attempt was made
 * with): U+0000 and unpaired surrogates become U+FFFD, and it is cut at `max` code units without
 * splitting a surrogate pair.
 */
export function storableText(s: string, max: number): string {
  let out = s.replaceAll('\u0000', '\uFFFD').toWellFormed();
  if (out.length > max) out = out.slice(0, /[\uD800-\uDBFF]/.test(out[max - 1]!) ? max - 1 : max);
  return out;
}
