// The HTTP API over one store (kairos serve): keys and scopes, rate limits, validated input, JSON errors with codes, /openapi.json.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { z } from 'zod';
import { DEFAULT_CONFIG, type KairosConfig } from '../config.js';
import { HTTP_STATUSES, KairosError, asKairosError } from '../errors.js';
import { DEFAULT_REGISTRY, type ScoreRegistry } from '../scores/registry.js';
import type { Store } from '../store/db.js';
import { recoverInterruptedRuns } from '../scores/run.js';
import { allows, KeyChecker, type ApiKey, type Scope } from './keys.js';
import { Runner } from './runner.js';
import { ServingSnapshots } from './serving.js';
import { openApiDocument } from './openapi.js';
import { apiRoutes, Download, type RouteSpec } from './routes.js';
import { RescoreJournal, replayJournal } from '../scores/rescore-journal.js';
import { parseInput } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's key, once checked (null on public routes). */
    apiKey: ApiKey | null;
  }
  interface FastifyInstance {
    /** The jobs off the request path (scoring runs, ingests); stopped by `close()` (src/server/runner.ts). */
    runner: Runner;
    /** The runs found interrupted at the start (left 'running' by a killed server), now marked failed. */
    interruptedRuns: readonly number[];
    /** Resolves when the serving snapshot of the published scores is not being opened or made (src/server/serving.ts). */
    servingCopyIdle: () => Promise<void>;
    /** The serving snapshot of the published scores (src/server/serving.ts). */
    serving: ServingSnapshots;
    /** The rescorings answered, on their way to the store (src/scores/rescore-journal.ts). */
    rescores: RescoreJournal;
  }
}

/** Limits and defaults of the server, in one place. */
export const SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  /** Largest request body (bytes). */
  bodyLimit: 1024 * 1024,
  /** Requests per key (or per address, without a key) and window. */
  rateLimit: { max: 600, timeWindowMs: 60_000 },
  /** Read connections (ReadPool): DuckDB runs their statements at once, on its own threads. */
  readConnections: 3,
} as const;

/** The Retry-After (seconds) of a 503 BUSY: a job holds what the request needs; a run at 1M takes a minute or two. */
export const BUSY_RETRY_SECONDS = 10;

export interface ServerOptions {
  readonly version: string;
  /** Where the explanations and stored results are looked up (default: the scorers Kairos ships). */
  readonly registry?: ScoreRegistry;
  /** The settings: personalFields (shown to admin keys only), ingest mappings, time zone (default: the defaults). */
  readonly config?: KairosConfig;
  /** Fastify's pino logger: false for none (tests), or its options (level, stream): one JSON line per request. */
  readonly logger?: FastifyServerOptions['logger'];
  readonly bodyLimit?: number;
  readonly rateLimit?: { readonly max: number; readonly timeWindowMs: number };
  /** More routes on the same app and store (the dashboard, src/dashboard), registered after the API's. */
  readonly plugins?: readonly ServerPlugin[];
  /** Read connections for the read routes (default SERVER_DEFAULTS.readConnections). */
  readonly readConnections?: number;
  /**
   * The server's local token (kairos serve writes it beside the store for its owner: src/store/served.ts): taken as an
   * admin key by the routes that accept it (the key routes and erasure, for `kairos keys` and `kairos erase` while the
   * store is served), by no other.
   */
  readonly localToken?: string;
}

/** What a plugin gets: the app, the store's one-at-a-time runner, the key checker and the settings. */
export interface ServerPluginContext {
  readonly db: <T>(fn: (store: Store) => Promise<T>) => Promise<T>;
  readonly keys: KeyChecker;
  readonly registry: ScoreRegistry;
  readonly config: KairosConfig;
  readonly version: string;
  readonly serving?: ServingSnapshots;
}

/** Adds routes to the server (in its own Fastify context: its hooks and error handler stay its own). */
export type ServerPlugin = (app: FastifyInstance, ctx: ServerPluginContext) => Promise<void>;

/** A runner of functions on the store, one after the other: the store has one DuckDB connection. */
function serialised(store: Store): <T>(fn: (store: Store) => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
    const next = tail.then(() => fn(store));
    tail = next.catch(() => undefined);
    return next;
  };
}

/**
 * A pool of read connections on the store's DuckDB instance (Store.connectAgain): the read routes (key checks,
 * /health, GET /customers/{id}) run on the first idle one, `size` at a time, each statement under DuckDB's MVCC
 * (the last committed state, whatever the writer does meanwhile). Writes keep the one serialised connection.
 * Before, every request waited for the one before it on that connection (docs/benchmarks.md, "Serving look-ups").
 */
class ReadPool {
  private readonly idle: Store[] = [];
  private readonly waiting: ((s: Store) => void)[] = [];
  private all: Store[] = [];

  private constructor() {}

  static async open(store: Store, size: number): Promise<ReadPool> {
    const pool = new ReadPool();
    for (let i = 0; i < size; i++) pool.all.push(await store.connectAgain());
    pool.idle.push(...pool.all);
    return pool;
  }

  readonly run = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
    const s = this.idle.pop() ?? (await new Promise<Store>((ok) => this.waiting.push(ok)));
    try {
      return await fn(s);
    } finally {
      const next = this.waiting.shift();
      if (next) next(s);
      else this.idle.push(s);
    }
  };

  /** Closes every connection once the requests in flight have given theirs back. */
  async close(): Promise<void> {
    const count = this.all.length;
    this.all = [];
    for (let i = 0; i < count; i++) (this.idle.pop() ?? (await new Promise<Store>((ok) => this.waiting.push(ok)))).close();
  }
}

/** Anything thrown in a request as a Kairos error: Fastify's own (body too large, bad JSON, rate limit) mapped by status. */
function requestError(err: unknown): KairosError {
  if (err instanceof KairosError) return err;
  const status = (err as { statusCode?: number }).statusCode;
  const message = err instanceof Error ? err.message : String(err);
  if (status === 413) return new KairosError('TOO_LARGE', message, { hint: `the largest body this server takes is set by --body-limit` });
  if (status === 429) return new KairosError('RATE_LIMITED', message);
  if (status === 404) return new KairosError('NOT_FOUND', message);
  if (status === 415) return new KairosError('USAGE', message, { hint: 'send Content-Type: application/json' });
  if (status !== undefined && status >= 400 && status < 500) return new KairosError('VALIDATION', message);
  return asKairosError(err);
}

/**
 * The API over `store` (opened for writing by the caller, who closes it after `close()`): the routes of routes.ts,
 * each checked for its scope, its input parsed by its zod schemas, errors as `{ error: { code, message, hint } }`
 * with the status of HTTP_STATUSES; internal errors are logged with their stack and answered without it.
 */
export async function buildServer(store: Store, options: ServerOptions): Promise<FastifyInstance> {
  const db = serialised(store);
  const localToken = options.localToken;
  const reads = await ReadPool.open(store, Math.max(1, options.readConnections ?? SERVER_DEFAULTS.readConnections));
  const keys = new KeyChecker(reads.run);
  // A run left 'running' by a server killed during it is reported failed from the start (its rows were never shown).
  const registry = options.registry ?? DEFAULT_REGISTRY;
  const recovered = await db((s) => s.transaction(() => recoverInterruptedRuns(s, registry)));
  const app = Fastify({
    logger: options.logger ?? false,
    // One line per request (onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? SERVER_DEFAULTS.bodyLimit,
    routerOptions: { maxParamLength: 256 },
  });
  app.decorateRequest('apiKey', null);
  const config = options.config ?? DEFAULT_CONFIG;
  const file = store.path === ':memory:' ? null : store.path;
  const log = (level: 'info' | 'warn', details: Record<string, unknown>, message: string): void => app.log[level](details, message);
  // Rescorings answered by a server that stopped before they reached the store (killed): into it before anything reads it.
  const replayed = file === null ? null : await db((s) => replayJournal(s, file));
  if (replayed !== null) app.log.info(replayed, 'rescorings of the journal moved into the store');
  const rescores = new RescoreJournal(file, db, log);
  const serving = new ServingSnapshots(file, db, reads.run, registry, log, rescores);
  const runner = new Runner(
    store,
    db,
    config,
    (level, message, details) => app.log[level]({ ...details }, message),
    (job) => serving.jobEnded(job.kind),
    // The snapshot of what the run is about to publish: put to use when it has ended.
    (key, why) => serving.prepare(key, why),
  );
  app.decorate('runner', runner);
  serving.watchWriters(() => runner.ingesting());
  app.decorate('interruptedRuns', recovered.failed);
  app.decorate('servingCopyIdle', () => serving.idle());
  app.decorate('serving', serving);
  app.decorate('rescores', rescores);
  if (recovered.failed.length > 0) app.log.warn({ runs: recovered.failed }, 'interrupted runs (the server stopped during them) marked failed');
  // After the requests in flight: the job in progress stops at its next step (a run that publishes completes).
  app.addHook('onClose', async () => {
    await runner.stop();
    await rescores.close();
    await serving.idle();
    serving.close();
    await reads.close();
  });
  // The serving snapshot (src/scores/lookup.ts) replaces the serving copy tables of earlier versions (derived data).
  await db(async (s) => {
    await s.run('DROP TABLE IF EXISTS customer_lookup');
    await s.run('DROP TABLE IF EXISTS customer_lookup_key');
  });
  // Opened before the server answers when it is current; made in the background when it is not (look-ups read the
  // store meanwhile), and checked again after each job.
  await serving.start();
  // NDJSON bodies (POST /ingest) arrive as text; the route's schema checks them.
  app.addContentTypeParser(['application/x-ndjson', 'application/jsonl'], { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const e = requestError(err);
    const internal = e.code === 'INTERNAL' || e.code === 'STORE';
    if (internal) req.log.error({ err }, 'request failed');
    const body = internal
      ? { code: e.code, message: `internal error (request ${req.id}); the server log has the details` }
      : { code: e.code, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(typeof e.details['position'] === 'number' ? { position: e.details['position'] } : {}) };
    if (e.code === 'BUSY') void reply.header('retry-after', String(BUSY_RETRY_SECONDS));
    void reply.status(HTTP_STATUSES[e.code]).send({ error: body });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}`, hint: 'GET /openapi.json lists the routes' } });
  });

  // Authentication first: the rate limit then counts per key (per address on public routes).
  app.addHook('onRequest', async (req) => {
    const scope = (req.routeOptions.config as { scope?: Scope | null }).scope;
    if (scope === undefined || scope === null) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new KairosError('UNAUTHORIZED', 'this route needs an API key', { hint: 'send Authorization: Bearer <key> (kairos keys create makes one)' });
    const token = m[1] as string;
    const local = (req.routeOptions.config as { local?: boolean }).local === true && localToken !== undefined && sameSecret(token, localToken);
    const key = local ? LOCAL_KEY : await keys.check(token);
    if (!allows(key.scope, scope)) throw new KairosError('FORBIDDEN', `this route needs a key of scope ${scope} (this key is ${key.scope})`);
    req.apiKey = key;
  });
  app.addHook('onResponse', async (req, reply) => {
    // The route's pattern, not the URL: customer ids stay out of the log.
    req.log.info({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, key: req.apiKey?.keyId }, 'request');
  });

  const limit = options.rateLimit ?? SERVER_DEFAULTS.rateLimit;
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    keyGenerator: (req) => (req.apiKey ? `key:${req.apiKey.keyId}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new KairosError('RATE_LIMITED', `more than ${ctx.max} requests in ${Math.round(limit.timeWindowMs / 1000)} s with this key`, { hint: `try again in ${ctx.after}` }),
  });

  const routes: RouteSpec[] = apiRoutes({ registry, config, version: options.version, runner, serving, rescores });
  let document: Record<string, unknown> = {};
  routes.push({
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openApi',
    summary: 'this document (no key needed)',
    scope: null,
    response: z.record(z.string(), z.unknown()),
    handler: async () => document,
  });
  document = openApiDocument(routes, options.version);

  const empty = z.object({});
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.path.replace(/\{(\w+)\}/g, ':$1'),
      config: { scope: r.scope, local: r.localToken === true },
      handler: async (req, reply) => {
        if (r.exclusive) runner.checkIdle(`${r.method} ${r.path} cannot change the store now`);
        const input = {
          params: parseInput(r.params ?? empty, req.params, 'path') as Record<string, unknown>,
          query: parseInput(r.query ?? z.strictObject({}), req.query, 'query') as Record<string, unknown>,
          body: r.body === undefined ? noBody(r, req.body) : parseInput(r.body, req.body, 'body'),
          key: req.apiKey,
          requestId: req.id,
          db,
          reads: reads.run,
        };
        const result = await r.handler(input);
        void reply.status(r.status ?? 200);
        if (result instanceof Download) {
          const stream = createReadStream(result.file);
          stream.on('close', result.cleanup);
          void reply.header('content-type', result.contentType).header('content-disposition', `attachment; filename="${result.filename.replace(/[^\w.-]+/g, '_')}"`);
          return reply.send(stream);
        }
        return result;
      },
    });
  }
  for (const plugin of options.plugins ?? []) {
    await app.register(async (child) =>
      plugin(child, { db, keys, registry: options.registry ?? DEFAULT_REGISTRY, config: options.config ?? DEFAULT_CONFIG, version: options.version, serving }),
    );
  }
  return app;
}

/**
 * A route without a body refuses one that holds anything (an empty object or nothing passes): the fields of an order
 * sent to POST /customers/{id}/rescore, say, would otherwise be dropped without a word.
 */
function noBody(route: RouteSpec, body: unknown): undefined {
  const empty = body === undefined || body === null || body === '' || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
  if (empty) return undefined;
  throw new KairosError('VALIDATION', `body: ${route.method} ${route.path} takes no body`, { hint: route.bodyHint ?? 'send the request without one' });
}

/** Who a request made with the server's local token is (kairos keys or erase on the machine, by the store file's owner). */
const LOCAL_KEY: ApiKey = { keyId: 'local', name: "the server's local token", scope: 'admin', createdAt: '', revokedAt: null };

/** Whether two secrets are equal, in a time that does not depend on where they differ (their SHA-256s compared). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}
