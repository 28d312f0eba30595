// The fuzz's argument planner on a small hand-written schema: it finds every ID at any depth,
// names what each identifies, and refuses (rather than skips) what it cannot generate.
import { describe, expect, it } from 'vitest';
import { CannotGenerate, plan, stringInputs } from './lib/args.ts';
import { decodeGlobalId, globalId, inferKind } from './lib/ids.ts';
import { Schema, type FullType, type IntrospectedSchema, type TypeRef } from './lib/schema.ts';
import { inputStrings, leakedSentinels, normalizedAnswer } from './lib/compare.ts';

const named = (kind: TypeRef['kind'], name: string): TypeRef => ({ kind, name, ofType: null });
const nonNull = (t: TypeRef): TypeRef => ({ kind: 'NON_NULL', name: null, ofType: t });
const list = (t: TypeRef): TypeRef => ({ kind: 'LIST', name: null, ofType: t });
const ID = named('SCALAR', 'ID');
const STR = named('SCALAR', 'String');
const arg = (name: string, type: TypeRef) => ({ name, type, defaultValue: null });
const obj = (name: string, fields: FullType['fields']): FullType => ({
  kind: 'OBJECT',
  name,
  fields,
  inputFields: null,
  enumValues: null,
  possibleTypes: null,
});

function schemaWith(queryFields: FullType['fields'], extra: FullType[] = []): Schema {
  const raw: IntrospectedSchema = {
    queryType: { name: 'Query' },
    mutationType: null,
    subscriptionType: null,
    types: [
      obj('Query', queryFields),
      obj('Alert', [
        { name: 'id', args: [], type: nonNull(ID) },
        { name: 'title', args: [], type: STR },
      ]),
      { kind: 'SCALAR', name: 'ID', fields: null, inputFields: null, enumValues: null, possibleTypes: null },
      { kind: 'SCALAR', name: 'String', fields: null, inputFields: null, enumValues: null, possibleTypes: null },
      { kind: 'SCALAR', name: 'Money', fields: null, inputFields: null, enumValues: null, possibleTypes: null },
      {
        kind: 'INPUT_OBJECT',
        name: 'Filter',
        fields: null,
        inputFields: [arg('resourceId', ID), arg('clusterIds', list(nonNull(ID))), arg('text', STR)],
        enumValues: null,
        possibleTypes: null,
      },
      ...extra,
    ],
  };
  return new Schema(raw);
}

describe('argument planner', () => {
  it('finds IDs at any depth and infers their kind from names and return types', () => {
    const s = schemaWith([
      { name: 'alert', args: [arg('id', nonNull(ID))], type: nonNull(named('OBJECT', 'Alert')) },
      { name: 'search', args: [arg('filter', named('INPUT_OBJECT', 'Filter'))], type: STR },
    ]);
    const alert = plan(s, s.rootFields()[0]!.field);
    expect(alert.probes).toEqual([{ path: ['id'], kind: 'Alert', list: false }]);
    expect(alert.args(alert.probes[0]!, 'X', () => 'fill')).toEqual({ id: 'X' });
    expect(alert.document('query', s.selection(s.rootFields()[0]!.field.type), { id: 'X' })).toBe(
      'query Fuzz($id: ID!) { alert(id: $id) { __typename id title } }',
    );
    const search = plan(s, s.rootFields()[1]!.field);
    expect(search.probes.map((p) => [p.path.join('.'), p.kind, p.list])).toEqual([
      ['filter.resourceId', 'Guest', false],
      ['filter.clusterIds', 'Connection', true],
    ]);
    // Optional inputs appear only on the probe's path; list probes are wrapped.
    expect(search.args(search.probes[1]!, 'C', () => 'fill')).toEqual({ filter: { clusterIds: ['C'] } });
    expect(search.args(null, null, () => 'fill')).toEqual({});
    expect(stringInputs(s, s.rootFields()[1]!.field)).toEqual([{ path: ['filter', 'text'], list: false }]);
  });

  it('refuses an ID it cannot name and a scalar it cannot generate', () => {
    const s = schemaWith([
      { name: 'frobnicate', args: [arg('id', nonNull(ID))], type: STR },
      { name: 'pay', args: [arg('amount', nonNull(named('SCALAR', 'Money')))], type: STR },
    ]);
    expect(() => plan(s, s.rootFields()[0]!.field)).toThrow(CannotGenerate);
    expect(() => plan(s, s.rootFields()[1]!.field)).toThrow(/Money/);
  });

  it('infers kinds like the gateway names them', () => {
    expect(inferKind('id', 'revokeApiToken', 'Boolean')).toBe('ApiToken');
    expect(inferKind('id', 'deleteAlertRule', 'Boolean')).toBe('AlertRule');
    expect(inferKind('id', 'unassign', 'Boolean')).toBe('Assignment');
    expect(inferKind('id', 'node', 'Node')).toBe('Node');
    expect(inferKind('tenantId', 'assign', 'ID')).toBe('Tenant');
    expect(inferKind('id', 'updateThing', 'Thing')).toBeNull();
    expect(decodeGlobalId(globalId('Guest', 'k:1'))).toEqual({ kind: 'Guest', key: 'k:1' });
  });
});

describe('answer comparison and leak search', () => {
  it('ignores ids and the caller’s own inputs, but not codes, messages or shape', () => {
    const inputs = inputStrings({ id: 'B-ID-123' });
    const a = { errors: [{ message: 'Resource B-ID-123 not found', extensions: { code: 'NOT_FOUND' } }], data: null };
    const b = { errors: [{ message: 'Resource R-ID-999 not found', extensions: { code: 'NOT_FOUND' } }], data: null };
    expect(normalizedAnswer(200, a, inputs)).toBe(normalizedAnswer(200, b, inputStrings({ id: 'R-ID-999' })));
    const c = { errors: [{ message: 'Forbidden', extensions: { code: 'FORBIDDEN' } }], data: null };
    expect(normalizedAnswer(200, a, inputs)).not.toBe(normalizedAnswer(200, c, inputs));
    const one = { data: { xs: [{ id: '1' }] } };
    const none = { data: { xs: [] } };
    expect(normalizedAnswer(200, one, [])).not.toBe(normalizedAnswer(200, none, []));
    expect(leakedSentinels('{"name":"secret-b"}', [], ['secret-b'])).toEqual(['secret-b']);
    expect(leakedSentinels('{"echo":"secret-b"}', ['secret-b'], ['secret-b'])).toEqual([]);
  });
});
