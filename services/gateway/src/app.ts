import { randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError, isAppError, warnRateLimited, type Logger, type Orm } from '@tenantgate/shared';
import { denied } from './graphql/denials.ts';
import { Authentication } from './auth/authentication.ts';
import { Authorization } from './auth/authorization.ts';
import type { RequestAuth } from './auth/principal.ts';
import { applyShield } from './auth/shield.ts';
import { PortalAudit } from './data/portal-audit.ts';
import { ResourceRepository } from './data/resources.ts';
import { TaskRepository } from './data/tasks.ts';
import { AuditLogRepository } from './data/audit-log.ts';
import { AuditBundleRepository } from './data/audit-bundle.ts';
import { AlertRepository } from './data/alerts.ts';
import { TenantRepository } from './data/tenants.ts';
import { createLoaders, type GatewayContext } from './graphql/context.ts';
import { buildBaseSchema } from './graphql/schema.ts';
import {
  formatError,
  httpErrorHandler,
  isExpected,
  requireJsonBody,
  toGraphQLError,
  unavailableCause,
  unavailableHttpHead,
  withCode,
} from './http/errors.ts';
import { outageReporter, serviceUnavailable, unavailableDependency } from './http/unavailable.ts';
import { requestIdOf } from './http/request-id.ts';
import { invalidStringInputs } from './graphql/input-strings.ts';
import { GatewayMetrics } from './http/metrics.ts';
import { mountGraphiql } from './http/graphiql.ts';
import type { GatewayServices } from './services.ts';
import { AlertFeed } from './subscriptions/alert-feed.ts';
import { TaskFeed } from './subscriptions/task-feed.ts';
import { PowerActions, defaultPveClientFactory, type PveClientFactory } from './data/power.ts';

export interface GatewayAppOptions {
  introspection: boolean;
  graphiql: boolean;
  sessionTtlS: number;
  credentialsKey: Buffer;
  queuePrefix: string;
  loginMaxFailures: number;
  loginLockoutS: number;
  loginIpLimit: number;
  loginIpWindowS: number;
  maxPageSize: number;
  maxDepth: number;
  maxCost: number;
  bodyLimit: string;
  /** Public keys of the auditor's checkpoint signatures: exported bundles carry and verify with them. */
  auditPublicKeys?: readonly KeyObject[];
  /** Open subscriptions re-authorize this often, and before each event (default 30 s). */
  subscriptionRecheckMs?: number;
  /** Safety poll of taskUpdates subscriptions when no Redis wake-up arrives (default 5 s). */
  taskPollMs?: number;
  /** Collect process metrics (once per process: main.ts). */
  processMetrics?: boolean;
  /**
   * Benchmark baselines only (never reachable from configuration): `no-shield` drops
   * graphql-shield; `bare` also drops the tenant predicate from SQL.
   */
  benchmarkBaseline?: 'no-shield' | 'bare';
}

export interface GatewayDeps {
  logger: Logger;
  orm: Orm;
  /** Commands (throttling, publishing). */
  redis: Redis;
  /** A dedicated connection in subscriber mode. */
  redisSubscriber: Redis;
  /** The auditor's wake-up queue on the `redis` connection (whose status says whether to try it). */
  wakeupQueue: Queue;
  options: GatewayAppOptions;
  /** How PVE clients are built for power actions (default: PveClient with the connection's pinned fingerprint). */
  pveClientFactory?: PveClientFactory;
}

export interface GatewayApp {
  app: express.Express;
  httpServer: Server;
  schema: GraphQLSchema;
  services: GatewayServices;
  metrics: GatewayMetrics;
  /** Starts Apollo and listens; resolves with the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Starts Apollo without listening (in-process tests use `app` directly). */
  start(): Promise<void>;
  /** Drains HTTP and WebSocket clients and stops Apollo. Idempotent. */
  stop(): Promise<void>;
}

const TENANT_HEADER = 'x-tenant-id';
/** Token limit of a GraphQL document (HTTP and graphql-ws). */
const MAX_TOKENS = 2000;
/** graphql-armor's replacement for field suggestions when introspection is off. */
const SUGGESTION_MASK = '[Suggestion hidden]';

/** Builds the express app, the HTTP server and graphql-ws on it; `listen` is separate (Fastify style). */
export async function createGatewayApp(deps: GatewayDeps): Promise<GatewayApp> {
  const { logger, orm, options } = deps;
  const authz = new Authorization();
  const audit = new PortalAudit(deps.wakeupQueue, deps.redis, logger);
  const alerts = new AlertRepository();
  const services: GatewayServices = {
    orm,
    logger,
    authz,
    audit,
    authn: new Authentication(orm, deps.redis, audit, authz, {
      sessionTtlS: options.sessionTtlS,
      maxFailures: options.loginMaxFailures,
      lockoutS: options.loginLockoutS,
      ipLimit: options.loginIpLimit,
      ipWindowS: options.loginIpWindowS,
      prefix: options.queuePrefix,
    }),
    resources: new ResourceRepository(),
    tasks: new TaskRepository(),
    auditLog: new AuditLogRepository(),
    auditBundles: new AuditBundleRepository(),
    auditPublicKeys: options.auditPublicKeys ?? [],
    alerts,
    tenants: new TenantRepository(),
    alertFeed: new AlertFeed(orm, alerts, deps.redisSubscriber, deps.redis, options.queuePrefix, logger),
    maxPageSize: options.maxPageSize,
    subscriptionRecheckMs: options.subscriptionRecheckMs ?? 30_000,
    credentialsKey: options.credentialsKey,
    taskFeed: new TaskFeed(
      orm,
      deps.redisSubscriber,
      deps.redis,
      options.queuePrefix,
      options.taskPollMs ?? 5000,
      logger,
    ),
    power: new PowerActions(
      orm,
      audit,
      options.credentialsKey,
      deps.pveClientFactory ?? defaultPveClientFactory,
      logger,
    ),
  };
  const metrics = new GatewayMetrics(options.processMetrics ?? false);
  // Postgres or Redis briefly unavailable: one warn per outage-ish, not an error per request.
  const reportOutage = outageReporter(logger);
  /** An error formatError retypes or masks: an outage at warn (rate-limited), the unexpected at error. */
  const logFailure = (e: GraphQLError, log: Logger, msg: string) => {
    const dependency = unavailableCause(e);
    if (dependency) reportOutage(dependency, e.originalError ?? e);
    else if (!isExpected(e) && !isAppError(e.originalError))
      log.error({ err: e.originalError ?? e, path: e.path }, msg);
  };
  const base = buildBaseSchema();
  const schema = options.benchmarkBaseline ? base : applyShield(base);
  const armor = new ApolloArmor({
    maxDepth: { n: options.maxDepth },
    costLimit: { maxCost: options.maxCost },
    maxAliases: { n: 15 },
    maxDirectives: { n: 20 },
    // Off: armor's Apollo plugin re-parses in parsingDidStart, outside Apollo's parse error
    // handling, so every syntax error became an HTTP 500. graphql-js enforces the same limit in
    // Apollo's own parse (parseOptions below): 400 GRAPHQL_PARSE_FAILED.
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: !options.introspection },
  }).protect();

  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);

  const buildContext = (
    requestId: string,
    srcIp: string | null,
    auth: RequestAuth,
    recheckAuth: GatewayContext['recheckAuth'] = null,
  ): GatewayContext => {
    const partial = {
      requestId,
      srcIp,
      em: orm.em.fork(),
      auth,
      recheckAuth,
      services,
      logger: logger.child({ requestId }),
      unscoped: options.benchmarkBaseline === 'bare',
    };
    return { ...partial, loaders: createLoaders(partial) };
  };

  // graphql-ws on the same server: authenticated in connection_init, authorized again at subscribe.
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const wsServer = useServer<
    Record<string, unknown>,
    { auth?: RequestAuth; srcIp?: string | null; authorization?: string; tenantId?: string }
  >(
    {
      schema,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = params.authorization ?? params.Authorization;
        const tenantId = params.tenantId ?? params.tenantID;
        try {
          if (typeof header !== 'string') return false;
          const auth = await services.authn.authenticate(
            orm.em.fork(),
            header,
            typeof tenantId === 'string' ? tenantId : undefined,
          );
          if (!auth.principal) return false;
          ctx.extra.auth = auth;
          ctx.extra.authorization = header;
          ctx.extra.tenantId = typeof tenantId === 'string' ? tenantId : undefined;
          ctx.extra.srcIp = ctx.extra.request.socket.remoteAddress ?? null;
          if (auth.rejectedTenantId) {
            const c = buildContext(randomUUID(), ctx.extra.srcIp, auth);
            await denied(c, AppError.forbidden(), { type: 'tenant', id: auth.rejectedTenantId });
          }
          return true;
        } catch (err) {
          const dependency = unavailableDependency(err);
          if (dependency) {
            // 1013 "Try Again Later", not 4403: the credentials were not refused, the database was away.
            reportOutage(dependency, err);
            ctx.extra.socket.close(1013, 'SERVICE_UNAVAILABLE');
            return false;
          }
          if (!isAppError(err)) logger.error({ err }, 'graphql-ws authentication failed');
          metrics.authFailures.inc();
          return false;
        }
      },
      onSubscribe: (_ctx, _id, payload) => {
        // graphql-ws bypasses Apollo: the same token limit, armor rules and input check here, with
        // Apollo's codes (the onError hook passes coded GraphQL errors through unmasked).
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: MAX_TOKENS });
        } catch (err) {
          return [
            withCode(err instanceof GraphQLError ? err : new GraphQLError('Invalid query'), 'GRAPHQL_PARSE_FAILED'),
          ];
        }
        const errors = validate(schema, document, [...specifiedRules, ...armor.validationRules]);
        if (errors.length)
          return errors.map((e) =>
            withCode(e, 'GRAPHQL_VALIDATION_FAILED', options.introspection ? undefined : SUGGESTION_MASK),
          );
        const inputErrors = invalidStringInputs(document, payload.variables);
        if (inputErrors.length) return inputErrors;
        metrics.subscriptions.inc();
      },
      // The stream's credential is authenticated again on each event and periodically (reauthorize.ts).
      context: (ctx) =>
        buildContext(randomUUID(), ctx.extra.srcIp ?? null, ctx.extra.auth!, () =>
          services.authn.authenticate(orm.em.fork(), ctx.extra.authorization, ctx.extra.tenantId),
        ),
      onError: (_ctx, _id, _payload, errors) => {
        for (const e of errors) logFailure(e, logger, 'subscription error');
        return errors.map((e) => formatError(e.toJSON(), e));
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        for (const e of result.errors) logFailure(e, logger, 'subscription error');
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
    },
    wss,
  );

  const observe: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        // One check of every string argument (literals and variables) before any resolver runs.
        async didResolveOperation({ document, request }) {
          const [first] = invalidStringInputs(document, request.variables);
          if (first)
            throw new GraphQLError(first.message, { extensions: { ...first.extensions, http: { status: 400 } } });
        },
        async didEncounterErrors({ errors, contextValue }) {
          for (const e of errors) logFailure(e, contextValue.logger, 'unexpected error (masked)');
        },
        async willSendResponse({ operation, errors, contextValue, response }) {
          // Postgres/Redis unavailable (formatError made it SERVICE_UNAVAILABLE): 503 + Retry-After.
          const unavailable =
            response.body.kind === 'single' ? unavailableHttpHead(response.body.singleResult.errors) : null;
          if (unavailable) {
            response.http.status = unavailable.status;
            response.http.headers.set('retry-after', unavailable.retryAfter);
          }
          const type = operation?.operation ?? 'unknown';
          metrics.operations.inc({ type, outcome: errors?.length ? 'error' : 'ok' });
          metrics.duration.observe({ type }, Number(process.hrtime.bigint() - started) / 1e9);
          contextValue.logger.debug({ operation: type }, 'graphql request');
        },
      };
    },
  };

  const apollo = new ApolloServer<GatewayContext>({
    schema,
    introspection: options.introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: MAX_TOKENS },
    formatError,
    plugins: [
      ...(armor.plugins as ApolloServerPlugin<GatewayContext>[]),
      observe,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsServer.dispose();
            },
          };
        },
      },
      // Apollo's landing page loads from a CDN: off. GraphiQL is served locally (http/graphiql.ts).
      ApolloServerPluginLandingPageDisabled(),
      // No HTTP caching of tenant data; and its field instrumentation wraps every resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Probes run every few seconds: one warning per dependency per 30 s, and the answer names what is down.
  const notReady = {
    postgres: warnRateLimited(logger, 'not ready: postgres', { dependency: 'postgres' }),
    redis: warnRateLimited(logger, 'not ready: redis', { dependency: 'redis' }),
  };
  const probe = async (dep: 'postgres' | 'redis', check: () => Promise<unknown>) => {
    try {
      await check();
      return 'up';
    } catch (err) {
      notReady[dep](err);
      return 'down';
    }
  };
  app.get('/readyz', async (_req, res) => {
    const [postgres, redis] = await Promise.all([
      probe('postgres', () => orm.em.fork().execute('SELECT 1')),
      probe('redis', () => deps.redis.ping()),
    ]);
    const ready = postgres === 'up' && redis === 'up';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', postgres, redis });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // Before the GraphQL middleware: browsers asking GET /graphql for HTML get the page.
  if (options.graphiql) mountGraphiql(app);

  let started: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  const start = async () => {
    started ??= (async () => {
      await apollo.start();
      app.use(
        '/graphql',
        requireJsonBody(),
        express.json({ limit: options.bodyLimit }),
        expressMiddleware(apollo, {
          context: async ({ req, res }) => {
            const requestId = requestIdOf(req);
            res.setHeader('x-request-id', requestId);
            const srcIp = req.socket.remoteAddress ?? null;
            const tenantHeader = req.headers[TENANT_HEADER];
            try {
              const auth = await services.authn.authenticate(
                orm.em.fork(),
                req.headers.authorization,
                typeof tenantHeader === 'string' ? tenantHeader : undefined,
              );
              const ctx = buildContext(requestId, srcIp, auth);
              // Asking for a tenant one is not a member of is a refused access: audited.
              if (auth.rejectedTenantId)
                await denied(ctx, AppError.forbidden(), { type: 'tenant', id: auth.rejectedTenantId });
              return ctx;
            } catch (err) {
              const dependency = unavailableDependency(err);
              if (dependency) {
                reportOutage(dependency, err);
                throw toGraphQLError(serviceUnavailable(dependency, err), true);
              }
              metrics.authFailures.inc();
              if (isAppError(err)) throw toGraphQLError(err, true);
              logger.error({ err, requestId }, 'authentication failed unexpectedly');
              throw new GraphQLError('Internal server error', {
                extensions: { code: 'INTERNAL', http: { status: 500 } },
              });
            }
          },
        }),
      );
      app.use((_req, res) => {
        res.status(404).json({ error: 'not found' });
      });
      // Body-parser failures (malformed JSON, oversize, bad charset) and anything else thrown
      // before or around Apollo: a GraphQL-shaped JSON error, never Express's HTML page.
      app.use(httpErrorHandler(logger));
    })();
    await started;
  };

  return {
    app,
    httpServer,
    schema,
    services,
    metrics,
    start,
    async listen(port, host) {
      await start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => resolve());
      });
      return (httpServer.address() as AddressInfo).port;
    },
    async stop() {
      stopping ??= (async () => {
        if (started) await apollo.stop();
        else await wsServer.dispose();
        wss.close();
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      })();
      await stopping;
    },
  };
}
