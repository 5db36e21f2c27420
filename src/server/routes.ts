// The API's routes, one table: path, scope, the schemas of the request and answer, and the handler over the store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { ingest } from '../ingest/ingest.js';
import { customerRecommendations } from '../scores/recommend/stored.js';
import type { ScoreRegistry } from '../scores/registry.js';
import { customerItems, storedResults } from '../scores/results.js';
import { fittedModels, listRuns } from '../scores/runs.js';
import type { Store } from '../store/db.js';
import { eraseCustomer } from '../store/erase.js';
import { getEvaluation, listEvaluations } from '../evaluate/stored.js';
import { allows, type ApiKey, type Scope } from './keys.js';
import type { Runner } from './runner.js';
import { customerExplained, type ServingSnapshots } from './serving.js';
import { runRoutes } from './routes-runs.js';
import { customerListRoutes } from './routes-customers.js';
import { historyRoutes } from './routes-history.js';
import { rescoreBatch, rescoreRoutes } from './routes-rescore.js';
import type { RescoreJournal } from '../scores/rescore-journal.js';
import { segmentRoutes } from './routes-segments.js';
import { keyRoutes } from './routes-keys.js';
import {
  Affinities,
  Customer,
  CustomerParams,
  Erasure,
  Evaluation,
  EvaluationParams,
  Evaluations,
  EvaluationsQuery,
  Health,
  History,
  HistoryQuery,
  IngestBody,
  IngestLines,
  IngestParams,
  IngestResult,
  IngestRows,
  Models,
  ModelsQuery,
  Recommendations,
  RunDetail,
  RunParams,
  Runs,
  RunsQuery,
  REJECTS_SHOWN,
} from './schemas.js';

/** What a handler gets: the parsed request, the caller's key (null on public routes), and the store. */
export interface RouteInput {
  readonly params: Record<string, unknown>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
  readonly key: ApiKey | null;
  /** The request's id (Fastify's), for names and logs. */
  readonly requestId: string;
  /** Runs `fn` on the store, one statement sequence at a time (the server's store has one connection). */
  readonly db: <T>(fn: (store: Store) => Promise<T>) => Promise<T>;
  /** Runs `fn` on one of the read connections (src/server/app.ts, ReadPool): for routes that only read. */
  readonly reads: <T>(fn: (store: Store) => Promise<T>) => Promise<T>;
}

/** What the routes need beyond the store. */
export interface RouteContext {
  readonly registry: ScoreRegistry;
  /** The settings: personalFields (shown to admin keys only), ingest mappings and time zone. */
  readonly config: KairosConfig;
  readonly version: string;
  /** The runner of jobs off the request path (scoring runs, ingests): src/server/runner.ts. */
  readonly runner?: Runner;
  /** The serving snapshot of the published scores, for look-ups without a query (src/server/serving.ts). */
  readonly serving?: ServingSnapshots;
  /** Makes the API's rescorings durable in groups (src/scores/rescore-journal.ts); without one, each is written on its own. */
  readonly rescores?: RescoreJournal;
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI form: /customers/{id}. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  /** The scope the route needs; null: public (no key). */
  readonly scope: Scope | null;
  /** The server's local token (ServerOptions.localToken) is taken here as an admin key: the key routes and erasure only. */
  readonly localToken?: true;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Without `body`: the hint given when a request sends one anyway (refused: a body ignored would be data lost unseen). */
  readonly bodyHint?: string;
  /** The body per content type, for the document (default: `body` as application/json). */
  readonly bodyContent?: Readonly<Record<string, z.ZodType>>;
  readonly response: z.ZodType;
  /** The answer per content type, for the document, when it is not JSON (a Download). */
  readonly responseContent?: Readonly<Record<string, z.ZodType>>;
  readonly status?: number;
  /** Refused (BUSY) while a job of the runner runs: request-path writes that must not change the data under a run. */
  readonly exclusive?: boolean;
  readonly handler: (input: RouteInput) => Promise<unknown>;
}

/** A file answered as a download, streamed, and `cleanup` called once it is sent (or the client went away). */
export class Download {
  constructor(
    readonly file: string,
    readonly contentType: string,
    readonly filename: string,
    readonly cleanup: () => void,
  ) {}
}

/** Removes the personal fields (columns, and keys of `attributes`) a key may not see; says which it removed. */
export function redact(row: Record<string, unknown>, personal: readonly string[], key: ApiKey | null): { row: Record<string, unknown>; redacted: string[] } {
  if (key !== null && allows(key.scope, 'admin')) return { row, redacted: [] };
  const out: Record<string, unknown> = {};
  const redacted = new Set<string>();
  for (const [k, v] of Object.entries(row)) {
    if (personal.includes(k)) redacted.add(k);
    else if (k === 'attributes' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const kept: Record<string, unknown> = {};
      for (const [a, x] of Object.entries(v as Record<string, unknown>)) {
        if (personal.includes(a)) redacted.add(`attributes.${a}`);
        else kept[a] = x;
      }
      out[k] = kept;
    } else out[k] = v;
  }
  return { row: out, redacted: [...redacted].sort() };
}

async function requireCustomer(store: Store, id: string): Promise<void> {
  const known = Number(await store.value('SELECT count(*) FROM customers WHERE customer_id = ?', [id]));
  if (known === 0) throw new KairosError('NOT_FOUND', `customer "${id}" not found`, { hint: 'ids are case-sensitive; GET /customers lists them' });
}

/** The routes of the API over a store. */
export function apiRoutes(ctx: RouteContext): RouteSpec[] {
  const { registry, config } = ctx;
  const personalFields = config.personalFields;
  return [
    {
      method: 'GET',
      path: '/health',
      operationId: 'health',
      summary: 'the server is up and its store answers (no key needed)',
      scope: null,
      response: Health,
      handler: async ({ reads }) => {
        await reads((store) => store.value('SELECT 1'));
        return { status: 'ok', version: ctx.version };
      },
    },
    {
      method: 'GET',
      path: '/customers/{id}',
      operationId: 'getCustomer',
      summary: 'one customer: attributes, every score of the published run, and each scorer explanation in words (none yet for a customer not scored)',
      scope: 'read',
      params: CustomerParams,
      response: Customer,
      handler: async ({ params, key, reads }) => {
        const { id } = params as z.output<typeof CustomerParams>;
        const result = await customerExplained(ctx.serving, registry, id, reads);
        const { row, redacted } = redact(result.customer, personalFields, key);
        return { customer: row, explanations: result.explanations, items: result.items, redacted, rescored: result.rescored };
      },
    },
    {
      method: 'DELETE',
      path: '/customers/{id}',
      operationId: 'eraseCustomer',
      summary: 'erase a customer from every table, in one transaction, with an audit row that holds no personal data',
      scope: 'admin',
      exclusive: true,
      // kairos erase on a served store comes here, with the server's local token.
      localToken: true,
      params: CustomerParams,
      response: Erasure,
      handler: async ({ params, key, db }) => {
        const { id } = params as z.output<typeof CustomerParams>;
        // The rescorings answered so far into the store, where the erasure deletes the customer's; theirs refused
        // from now on (the journal's files hold customer ids, and are deleted once in the store).
        await ctx.rescores?.erasing(id);
        try {
          return await db((store) => {
            // The serving snapshot's line first (overwritten on disk): no look-up serves the customer from it once the
            // erasure begins; were the erasure to fail, look-ups would read the store, which still holds them.
            ctx.serving?.erase(id);
            return eraseCustomer(store, id, key?.keyId === 'local' ? 'cli, through kairos serve' : `api key ${key?.keyId ?? 'unknown'}`);
          });
        } finally {
          ctx.rescores?.erased(id);
        }
      },
    },
    {
      method: 'GET',
      path: '/customers/{id}/history',
      operationId: 'customerHistory',
      summary: "a customer's scores in every completed run, newest first",
      scope: 'read',
      params: CustomerParams,
      query: HistoryQuery,
      response: History,
      handler: async ({ params, query, db }) => {
        const { id } = params as z.output<typeof CustomerParams>;
        const { score, limit } = query as z.output<typeof HistoryQuery>;
        const rows = await db(async (store) => {
          await requireCustomer(store, id);
          return store.all<{ run_id: number; as_of: string; score: string; value_num: number | null; value_text: string | null; value_date: string | null; value_json: unknown }>(
            `SELECT h.run_id, strftime(r.as_of, '%Y-%m-%d') AS as_of, h.score, h.value_num, h.value_text, h.value_date::VARCHAR AS value_date, h.value_json
             FROM score_history h JOIN score_runs r USING (run_id)
             WHERE h.customer_id = ? AND (? IS NULL OR h.score = ?) ORDER BY h.run_id DESC, h.score LIMIT ?`,
            [id, score ?? null, score ?? null, limit],
          );
        });
        return {
          customer_id: id,
          history: rows.map((r) => ({ run_id: r.run_id, as_of: r.as_of, score: r.score, value: r.value_num ?? r.value_text ?? r.value_date ?? r.value_json ?? null })),
        };
      },
    },
    {
      method: 'GET',
      path: '/customers/{id}/recommendations',
      operationId: 'customerRecommendations',
      summary: "a customer's recommended products from the published run (404 NOT_FOUND when none are stored)",
      scope: 'read',
      params: CustomerParams,
      response: Recommendations,
      handler: async ({ params, db }) => {
        const { id } = params as z.output<typeof CustomerParams>;
        return db((store) => customerRecommendations(store, registry, id));
      },
    },
    {
      method: 'GET',
      path: '/customers/{id}/affinities',
      operationId: 'customerAffinities',
      summary: "a customer's category affinities from the published run (404 NOT_FOUND when affinity is off or not run)",
      scope: 'read',
      params: CustomerParams,
      response: Affinities,
      handler: async ({ params, db }) => {
        const { id } = params as z.output<typeof CustomerParams>;
        const scorer = registry.scorers.find((s) => s.name === 'affinity');
        const output = scorer?.items?.[0];
        return db(async (store) => {
          await requireCustomer(store, id);
          const st = scorer === undefined ? undefined : (await storedResults(store, registry)).get(scorer.name);
          if (scorer === undefined || output === undefined || st === undefined) {
            throw new KairosError('NOT_FOUND', 'no category affinities stored', { hint: 'turn affinity on ("affinity": { "enabled": true } in kairos.config.json) and run kairos score' });
          }
          return { customerId: id, runId: st.runId, asOf: st.asOf.slice(0, 10), groups: await customerItems(store, output, id, st.runId) };
        });
      },
    },
    {
      method: 'POST',
      path: '/ingest/{entity}',
      operationId: 'ingest',
      summary: 'load customers, products, orders or events sent as a JSON array or NDJSON, as kairos ingest does',
      description:
        'One transaction, the same checks and accounting as the CLI: read = loaded + rejected + duplicates, the rejected rows returned with their reasons. ' +
        'The mappings and time zone of kairos.config.json apply. Runs inside the request; other requests wait for it. ' +
        "Orders then rescore the batch's customers with the published run's models (`rescored`; POST /customers/{id}/rescore).",
      scope: 'write',
      exclusive: true,
      params: IngestParams,
      body: IngestBody,
      bodyContent: { 'application/json': IngestRows, 'application/x-ndjson': IngestLines },
      response: IngestResult,
      handler: async ({ params, body, requestId, db }) => {
        const { entity } = params as z.output<typeof IngestParams>;
        const rows = body as z.output<typeof IngestBody>;
        // The readers take files: the body is written as an NDJSON file, named after the request (the batch's file).
        const scratch = mkdtempSync(join(tmpdir(), 'kairos-api-ingest-'));
        const file = join(scratch, `api-${entity}-${requestId}.ndjson`);
        try {
          writeFileSync(file, typeof rows === 'string' ? rows : `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
          return await db(async (store) => {
            const report = await ingest(store, { entity, files: [file], settings: config.ingest[entity] ?? {}, timezone: config.timezone });
            const f = report.files[0];
            if (f === undefined) throw new KairosError('INTERNAL', 'ingest reported no file');
            // The customers this batch wrote are read live from now on, before the answer goes out.
            await ctx.serving?.catchUp();
            const rejects = await store.all<{ line: number | null; reason: string; raw: string | null }>(
              'SELECT line, reason, raw FROM rejects WHERE batch_id = ? ORDER BY line LIMIT ?',
              [f.batchId, REJECTS_SHOWN],
            );
            return {
              entity,
              batchId: f.batchId,
              read: f.read,
              loaded: f.loaded,
              updated: f.updated,
              rejected: f.rejected,
              duplicates: f.duplicates,
              customersCreated: f.customersCreated,
              productsCreated: f.productsCreated,
              rejectReasons: f.rejectReasons,
              rejects,
              unknownEventTypes: f.unknownEventTypes,
              // New orders rescore their customers at once with the published run's models (routes-rescore.ts).
              ...(entity === 'orders' ? { rescored: await rescoreBatch(store, registry, f.batchId, ctx.serving, ctx.rescores) } : {}),
            };
          });
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
      },
    },
    {
      method: 'GET',
      path: '/runs',
      operationId: 'listRuns',
      summary: 'scoring runs, most recent first: as-of, status, customers, time, data fingerprint',
      scope: 'read',
      query: RunsQuery,
      response: Runs,
      handler: async ({ query, db }) => {
        const { limit } = query as z.output<typeof RunsQuery>;
        return { runs: await db((store) => listRuns(store, { limit })) };
      },
    },
    {
      method: 'GET',
      path: '/runs/{id}',
      operationId: 'getRun',
      summary: 'one scoring run: its status, its scorers (versions, columns, times), the models it fitted and its notes',
      scope: 'read',
      params: RunParams,
      response: RunDetail,
      handler: async ({ params, db }) => {
        const { id } = params as z.output<typeof RunParams>;
        return db(async (store) => {
          const [run] = await listRuns(store, { runId: id, limit: 1 });
          if (run === undefined) throw new KairosError('NOT_FOUND', `no run ${id}`, { hint: 'GET /runs lists them' });
          const stored = await store.one<{ scorers: string | null; notes: string | null }>('SELECT scorers::VARCHAR AS scorers, notes::VARCHAR AS notes FROM score_runs WHERE run_id = ?', [id]);
          const models = await store.all<{ model: string }>('SELECT model FROM model_fits WHERE run_id = ? ORDER BY model', [id]);
          return {
            ...run,
            ...(ctx.runner ? { progress: ctx.runner.jobOfRun(id) ?? null } : {}),
            scorers: stored?.scorers ? (JSON.parse(stored.scorers) as unknown[]) : [],
            models: models.map((m) => m.model),
            notes: stored?.notes ? (JSON.parse(stored.notes) as string[]) : [],
          };
        });
      },
    },
    {
      method: 'GET',
      path: '/models',
      operationId: 'listModels',
      summary: 'the fitted models of a run (default: the latest with models): parameters, standard errors, diagnostics',
      scope: 'read',
      query: ModelsQuery,
      response: Models,
      handler: async ({ query, db }) => {
        const { run } = query as z.output<typeof ModelsQuery>;
        return db((store) => fittedModels(store, run));
      },
    },
    {
      method: 'GET',
      path: '/evaluations',
      operationId: 'listEvaluations',
      summary: 'the reports kairos evaluate kept, newest first: data set, windows, customers and each score grade',
      scope: 'read',
      query: EvaluationsQuery,
      response: Evaluations,
      handler: async ({ query, db }) => {
        const { limit } = query as z.output<typeof EvaluationsQuery>;
        return { evaluations: await db((store) => listEvaluations(store, limit)) };
      },
    },
    {
      method: 'GET',
      path: '/evaluations/{id}',
      operationId: 'getEvaluation',
      summary: 'one kept report of kairos evaluate, whole (metrics, grades, charts), as kairos evaluate --json prints it',
      scope: 'read',
      params: EvaluationParams,
      response: Evaluation,
      handler: async ({ params, db }) => {
        const { id } = params as z.output<typeof EvaluationParams>;
        const { entry, report } = await db((store) => getEvaluation(store, id));
        return { evaluation: entry, report };
      },
    },
    ...runRoutes(ctx),
    ...customerListRoutes(ctx),
    ...rescoreRoutes(ctx),
    ...segmentRoutes(ctx),
    ...historyRoutes(ctx),
    ...keyRoutes(),
  ];
}
