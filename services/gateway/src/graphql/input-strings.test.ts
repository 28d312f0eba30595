import { describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { invalidStringInputs, storableText, stringProblem } from './input-strings.ts';

const messages = (query: string, variables?: Record<string, unknown>) =>
  invalidStringInputs(parse(query), variables).map((e) => `${e.extensions.code} ${e.message}`);

describe('invalidStringInputs', () => {
  it('finds U+0000 and unpaired surrogates in variables, named by the argument they fill', () => {
    expect(messages('query ($t: String) { a(filter: { text: $t }) }', { t: 'x\u0000' })).toEqual([
      'BAD_USER_INPUT Argument "filter.text" contains a NUL character (U+0000), which is not allowed',
    ]);
    expect(messages('query ($f: F) { a(filter: $f) }', { f: { tags: ['ok', 'b\uD800'] } })).toEqual([
      'BAD_USER_INPUT Argument "filter.tags" contains an unpaired UTF-16 surrogate, which is not allowed',
    ]);
    expect(messages('query ($p: JSON) { a(params: $p) }', { p: { 'k\u0000': 1 } })).toEqual([
      'BAD_USER_INPUT Argument "params.k?" contains a key with a NUL character (U+0000), which is not allowed',
    ]);
    // A variable no argument uses is still checked, under its own name.
    expect(messages('query ($u: String) { a }', { u: '\uDC00' })).toEqual([
      'BAD_USER_INPUT Argument "$u" contains an unpaired UTF-16 surrogate, which is not allowed',
    ]);
  });

  it('finds them in literals, directive arguments and variable defaults', () => {
    expect(messages('{ a(name: "x\\u0000y") }')).toHaveLength(1);
    expect(messages('{ a(list: ["ok", """block"""], o: { deep: { s: "\\u0000" } }) }')).toEqual([
      'BAD_USER_INPUT Argument "o.deep.s" contains a NUL character (U+0000), which is not allowed',
    ]);
    expect(messages('{ a @d(reason: "\\u0000") }')).toHaveLength(1);
    expect(messages('query ($t: String = "\\u0000") { a(t: $t) }')).toHaveLength(1);
  });

  it('accepts everything else, astral characters and emoji included', () => {
    expect(
      messages('query ($t: String, $n: Int, $o: O) { a(t: $t, n: $n, o: $o, s: "😀 \\u00e9") }', {
        t: 'fuzz😀🏳️‍🌈👩‍👩‍👧 𠜎 e\u0301 \u202E \uFEFF',
        n: 5,
        o: { b: true, nested: [null, { x: 'مرحبا' }] },
      }),
    ).toEqual([]);
    expect(stringProblem('\uD83D\uDE00')).toBeNull();
  });
});

describe('storableText', () => {
  it('regression: an audited id cut at 200 code units never ends in half a surrogate pair, and NUL is replaced', () => {
    const id = `${'a'.repeat(199)}😀tail`;
    expect(id.slice(0, 200).isWellFormed()).toBe(false);
    expect(storableText(id, 200)).toBe('a'.repeat(199));
    expect(storableText('x\u0000y\uD800', 200)).toBe('x\uFFFDy\uFFFD');
    expect(storableText('ok😀', 200)).toBe('ok😀');
  });
});
