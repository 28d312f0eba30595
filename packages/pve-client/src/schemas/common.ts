import { z } from 'zod';
import { isUpid } from '../upid.ts';

// PVE is Perl: booleans arrive as 0/1, some numbers as strings read from text files, optional fields are
// omitted. These helpers accept exactly those wire forms and nothing looser.

/** A documented PVE boolean: 0/1 (also true/false, which newer Rust-backed endpoints send); typed result is a boolean. */
export const pveBool = z.union([z.literal(0), z.literal(1), z.boolean()]).transform((v) => v === 1 || v === true);

/** A boolean that PVE sometimes sends as the string "0"/"1" (e.g. `saved`, read from the `active` file). */
export const pveBoolLoose = z
  .union([z.literal(0), z.literal(1), z.literal('0'), z.literal('1'), z.boolean()])
  .transform((v) => v === 1 || v === '1' || v === true);

/** An integer, also accepted as a decimal string (lxc `vmid`, values read from config files). */
export const pveInt = z
  .union([z.number().int(), z.string().regex(/^-?\d+$/, 'expected an integer or a decimal integer string')])
  .transform((v) => (typeof v === 'number' ? v : Number(v)));

/** A number, also accepted as a numeric string. */
export const pveNumber = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'expected a number or a numeric string')])
  .transform((v) => (typeof v === 'number' ? v : Number(v)));

/** Non-negative integer (sizes, counters, epoch seconds). */
export const pveUint = pveInt.pipe(z.number().int().nonnegative());

export const vmid = pveInt.pipe(z.number().int().min(1).max(999_999_999));

export const upid = z.string().refine(isUpid, 'not a valid UPID (UPID:node:pid:pstart:starttime:type:id:user:)');

/** A comma-joined list as PVE sends it (`""` when empty); typed result is an array. */
export const commaList = z.string().transform((s) => (s === '' ? [] : s.split(',')));

/**
 * Parses with `schema` and keeps the unmodified JSON item as `raw` (pve-sync stores guests' raw JSON).
 * Violations keep their field paths.
 */
export function withRaw<T extends z.ZodType>(schema: T) {
  return z.unknown().transform((input, ctx): z.output<T> & { raw: Record<string, unknown> } => {
    const result = schema.safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    }
    return Object.assign(result.data as object, { raw: input as Record<string, unknown> }) as z.output<T> & {
      raw: Record<string, unknown>;
    };
  });
}

/**
 * Picks a schema by the item's `type` and falls back to `other` for types this client does not know yet
 * (PVE adds resource types over versions; an unknown type must not fail a whole inventory call).
 */
export function byType<const M extends Record<string, z.ZodType>, O extends z.ZodType>(schemas: M, other: O) {
  const typeOnly = z.looseObject({ type: z.string() });
  return typeOnly.transform((input, ctx): z.output<M[keyof M]> | z.output<O> => {
    const schema: z.ZodType = Object.hasOwn(schemas, input.type) ? schemas[input.type]! : other;
    const result = schema.safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    }
    return result.data as z.output<M[keyof M]>;
  });
}
