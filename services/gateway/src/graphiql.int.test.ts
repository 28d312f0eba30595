import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { startHarness, type Harness } from './testing/harness.ts';
import { GRAPHIQL_ASSETS } from './http/graphiql.ts';

let db: TestDatabase;
let on: Harness;
let off: Harness;

beforeAll(async () => {
  db = await createTestDatabase('gateway_graphiql');
  on = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwi'), { graphiql: true });
  off = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwj'), { graphiql: false });
});

afterAll(async () => {
  await on?.close();
  await off?.close();
  await db?.drop();
});

const origin = (h: Harness) => new URL(h.url).origin;
const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

/** Every URL the page or its boot script references (src/href attributes and quoted paths). */
function referencedUrls(text: string): string[] {
  return [...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
}

describe('GraphiQL (GRAPHIQL=true)', () => {
  it('serves a page at /graphiql and at GET /graphql for browsers, referencing only same-origin assets', async () => {
    for (const path of ['/graphiql', '/graphql']) {
      const res = await fetch(`${origin(on)}${path}`, { headers: html });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      const page = await res.text();
      const urls = referencedUrls(page);
      expect(urls.length).toBeGreaterThanOrEqual(3);
      for (const u of urls) expect(u).toMatch(/^\/graphiql\/assets\//);
      expect(page).not.toMatch(/https?:\/\//);
    }
  });

  it('serves the bundle, stylesheet, Monaco workers and boot script with correct content types', async () => {
    const expected: Record<string, RegExp> = { 'graphiql.css': /^text\/css/ };
    for (const name of [...GRAPHIQL_ASSETS, 'boot.js']) {
      const res = await fetch(`${origin(on)}/graphiql/assets/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toMatch(expected[name] ?? /^text\/javascript/);
      expect((await res.arrayBuffer()).byteLength, name).toBeGreaterThan(100);
    }
    const boot = await (await fetch(`${origin(on)}/graphiql/assets/boot.js`)).text();
    // Same-origin endpoint, graphql-ws for subscriptions, the CSRF header Apollo accepts.
    expect(boot).toContain('"/graphql"');
    expect(boot).toContain("subscriptionsProtocol: 'WS'");
    expect(boot).toContain('apollo-require-preflight');
    expect(boot).not.toMatch(/https?:\/\//);
  });

  it('serves nothing else from the package and still answers GraphQL on GET /graphql for API clients', async () => {
    const other = await fetch(`${origin(on)}/graphiql/assets/..%2Fpackage.json`);
    expect(other.status).toBe(404);
    const es = await fetch(`${origin(on)}/graphiql/assets/yoga-graphiql.es.js`);
    expect(es.status).toBe(404);
    const api = await fetch(`${on.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(api.status).toBe(200);
    expect(await api.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

// Optional: a real browser renders the page from the local assets under its CSP (Debian `chromium`).
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

describe.skipIf(!CHROMIUM)('GraphiQL in headless Chromium', () => {
  it('renders the GraphiQL editor (React + Monaco) from same-origin assets only', async () => {
    const { stdout } = await promisify(execFile)(
      CHROMIUM!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--virtual-time-budget=15000',
        '--dump-dom',
        `${origin(on)}/graphiql`,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    expect(stdout).toContain('graphiql-container');
    expect(stdout).toContain('monaco-editor');
  }, 60_000);
});

describe('GraphiQL (GRAPHIQL=false)', () => {
  it('serves no page and no assets', async () => {
    expect((await fetch(`${origin(off)}/graphiql`, { headers: html })).status).toBe(404);
    expect((await fetch(`${origin(off)}/graphiql/assets/yoga-graphiql.umd.js`)).status).toBe(404);
    const res = await fetch(`${origin(off)}/graphql`, { headers: html });
    expect(res.headers.get('content-type') ?? '').not.toMatch(/^text\/html/);
  });
});
