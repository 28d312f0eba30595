import { readFileSync } from 'node:fs';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildBaseSchema } from './schema.ts';

// The type-graphql conversion must not change the API: the printed schema (descriptions
// included) equals the snapshot taken from the SDL-first schema it replaced. The snapshot is
// parsed and re-printed so a formatter run over it changes nothing.
const printed = (s: Parameters<typeof printSchema>[0]) => printSchema(lexicographicSortSchema(s));

describe('gateway schema', () => {
  it('prints identically to schema.snapshot.graphql', () => {
    const snapshot = readFileSync(new URL('./schema.snapshot.graphql', import.meta.url), 'utf8');
    expect(printed(buildBaseSchema())).toBe(printed(buildSchema(snapshot)));
  });

  it('builds twice in one process (metadata is not consumed)', () => {
    expect(printSchema(buildBaseSchema())).toBe(printSchema(buildBaseSchema()));
  });
});
