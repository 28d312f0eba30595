import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type express from 'express';

// GraphiQL served from the installed @graphql-yoga/graphiql bundle: no CDN. Its UMD build carries
// React and GraphiQL; the page only adds the Monaco worker wiring and the endpoint configuration.

const dist = join(dirname(createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json')), 'dist');

/** Served files: URL name → file in the package's dist and content type. Nothing else is reachable. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'yoga-graphiql.umd.js': { file: 'yoga-graphiql.umd.js', type: 'text/javascript; charset=utf-8' },
  'graphiql.css': { file: 'graphiql.css', type: 'text/css; charset=utf-8' },
  'editor.worker.js': { file: 'monacoeditorwork/editor.worker.bundle.js', type: 'text/javascript; charset=utf-8' },
  'graphql.worker.js': { file: 'monacoeditorwork/graphql.worker..bundle.js', type: 'text/javascript; charset=utf-8' },
  'json.worker.js': { file: 'monacoeditorwork/json.worker.bundle.js', type: 'text/javascript; charset=utf-8' },
};

export const GRAPHIQL_ASSETS = Object.keys(ASSETS);
const BASE = '/graphiql/assets';

/** Boot script: same-origin endpoint, graphql-ws for subscriptions with the Authorization/X-Tenant-Id headers. */
function bootScript(endpoint: string): string {
  return `'use strict';
(function () {
  var workers = { graphql: 'graphql.worker.js', json: 'json.worker.js' };
  self.MonacoEnvironment = {
    getWorker: function (_id, label) {
      return new Worker(${JSON.stringify(BASE)} + '/' + (workers[label] || 'editor.worker.js'));
    },
  };
  // GraphiQL keeps the headers editor in localStorage; graphql-ws sends them as connection params.
  function storedHeaders() {
    try {
      return JSON.parse(localStorage.getItem('graphiql:headers') || '{}') || {};
    } catch (e) {
      return {};
    }
  }
  var endpoint = new URL(${JSON.stringify(endpoint)}, location.href);
  var ws = new URL(endpoint.href);
  ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('graphiql'), {
    endpoint: endpoint.href,
    subscriptionsProtocol: 'WS',
    subscriptionsEndpoint: ws.href,
    credentials: 'same-origin',
    // Apollo's CSRF prevention: JSON POSTs pass; this header covers GET requests too.
    additionalHeaders: { 'apollo-require-preflight': 'true' },
    connectionParams: function () {
      var h = storedHeaders();
      return { authorization: h.Authorization || h.authorization, tenantId: h['X-Tenant-Id'] || h['x-tenant-id'] };
    },
    headers: '{\\n  "Authorization": "Bearer <session or API token>",\\n  "X-Tenant-Id": "<tenant id>"\\n}',
    title: 'tenantgate',
  });
})();
`;
}

export function graphiqlPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tenantgate GraphiQL</title>
<link rel="stylesheet" href="${BASE}/graphiql.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql"></div>
<script src="${BASE}/yoga-graphiql.umd.js"></script>
<script src="${BASE}/boot.js"></script>
</body>
</html>
`;
}

/** Same-origin only: scripts, workers, styles and connections (HTTP and WebSocket) to this host. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Mounts GraphiQL: the page at GET /graphiql and at GET /graphql for browsers (Accept: text/html
 * without a query), the assets under /graphiql/assets. Call before the GraphQL middleware.
 */
export function mountGraphiql(app: express.Express, endpoint = '/graphql'): void {
  const boot = bootScript(endpoint);
  const page = graphiqlPage();
  const sendPage = (res: express.Response) => {
    res.setHeader('content-security-policy', CSP);
    res.type('text/html; charset=utf-8').send(page);
  };
  app.get('/graphiql', (_req, res) => sendPage(res));
  app.get(endpoint, (req, res, next) => {
    if (req.query.query === undefined && req.accepts(['application/json', 'text/html']) === 'text/html')
      return sendPage(res);
    next();
  });
  app.get(`${BASE}/boot.js`, (_req, res) => {
    res.type('text/javascript; charset=utf-8').send(boot);
  });
  app.get(`${BASE}/:name`, (req, res, next) => {
    const asset = ASSETS[req.params.name];
    if (!asset) return next();
    // The path runs through node_modules/.pnpm: allow that dot segment (names are whitelisted above).
    res.sendFile(join(dist, asset.file), {
      dotfiles: 'allow',
      headers: { 'content-type': asset.type, 'cache-control': 'public, max-age=86400' },
    });
  });
}
