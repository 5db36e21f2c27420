// The HTTP API in-process (app.inject): keys and scopes, personal fields, reads, pagination, errors, limits, erasure, and its OpenAPI document.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { ingest } from '../ingest/ingest.js';
import { explainCustomer } from '../scores/explain.js';
import { readSnapshotMeta, snapshotFiles } from '../scores/lookup.js';
import { journalFiles } from '../scores/rescore-journal.js';
import { DEFAULT_REGISTRY, type ScoreRegistry } from '../scores/registry.js';
import { runScores } from '../scores/run.js';
import { quoteIdentifier, type Store } from '../store/db.js';
import { toyStore } from '../testing/toy-scorers.js';
import { buildServer, type ServerOptions } from './app.js';
import { createKey, revokeKey } from './keys.js';
import { apiRoutes } from './routes.js';

/** The customer erased at the end; a rejected order line of theirs is ingested too. */
const VICTIM = 'K0002';
const BUYER = 'K0001';

let dir: string;
let store: Store;
let app: FastifyInstance;
const keys: Record<'read' | 'write' | 'admin', string> = { read: '', write: '', admin: '' };

function server(options: Partial<ServerOptions> = {}): Promise<FastifyInstance> {
  return buildServer(store, { version: 'test', ...options });
}

async function get(path: string, key: string | null = keys.read, on: FastifyInstance = app): Promise<{ status: number; body: any }> {
  const res = await on.inject({ method: 'GET', url: path, headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  return { status: res.statusCode, body: res.json() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-server-'));
  store = await toyStore(dir, join(dir, 'k.duckdb'));
  // A rejected line that names the victim: the rejects table keeps its text.
  writeFileSync(join(dir, 'bad.csv'), `order_id,customer_id,ordered_at,amount\nbad-1,${VICTIM},not a date,10\n`);
  await ingest(store, { entity: 'orders', files: [join(dir, 'bad.csv')], rejectsDir: dir, now: new Date('2030-01-01T00:00:00Z') });
  const config = structuredClone(DEFAULT_CONFIG);
  await runScores(store, { config, asOf: '2023-07-01', scorers: ['rfm'] });
  await runScores(store, { config, asOf: '2023-10-01', scorers: ['rfm', 'clv', 'recommend'] });
  for (const scope of ['read', 'write', 'admin'] as const) keys[scope] = (await createKey(store, scope, `${scope} key`)).key;
  app = await server();
});

afterAll(async () => {
  await app?.close();
  store?.close();
});

describe('kairos serve: the API', () => {
  it('answers /health and /openapi.json without a key, and every other route only with a valid key', async () => {
    expect(await get('/health', null)).toEqual({ status: 200, body: { status: 'ok', version: 'test' } });
    expect((await get('/openapi.json', null)).status).toBe(200);
    const missing = await get('/customers', null);
    expect(missing).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const forged = await get('/customers', `${keys.read.slice(0, -4)}AAAA`);
    expect(forged).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'invalid or revoked API key' } } });
    expect((await get('/customers', 'not-a-key')).status).toBe(401);
    expect((await get('/customers')).status).toBe(200);
  });

  it('checks a new key once for its first requests arriving together, and still refuses a forged one among them', async () => {
    const { key } = await createKey(store, 'read');
    const forged = `${key.slice(0, -4)}AAAA`;
    const answers = await Promise.all([...Array.from({ length: 8 }, () => get('/runs', key)), ...Array.from({ length: 4 }, () => get('/runs', forged))]);
    expect(answers.map((a) => a.status)).toEqual([...Array(8).fill(200), ...Array(4).fill(401)]);
    expect((await get('/runs', forged)).status).toBe(401);
    expect((await get('/runs', key)).status).toBe(200);
  });

  it('refuses a revoked key at once, though it passed before', async () => {
    const { key, keyId } = await createKey(store, 'read');
    expect((await get('/runs', key)).status).toBe(200);
    await revokeKey(store, keyId);
    expect(await get('/runs', key)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
  });

  it('lists, creates and revokes keys through /keys (admin, or the local token there and on erasure only); a revoked key refused at once', async () => {
    const send = (on: FastifyInstance, method: 'GET' | 'POST' | 'DELETE', url: string, key: string, payload?: unknown) =>
      on.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
    expect((await send(app, 'GET', '/keys', keys.write)).statusCode).toBe(403);
    const made = await send(app, 'POST', '/keys', keys.admin, { scope: 'read', name: 'crm sync' });
    expect(made.statusCode, made.body).toBe(201);
    const created = made.json() as { key: string; keyId: string };
    expect(created).toMatchObject({ scope: 'read', name: 'crm sync', revokedAt: null });
    expect(created.key).toMatch(/^kairos_[0-9a-f]{12}_/);
    expect((await get('/runs', created.key)).status).toBe(200);
    const listed = (await send(app, 'GET', '/keys', keys.admin)).json() as { keys: { keyId: string }[] };
    expect(listed.keys.map((k) => k.keyId)).toContain(created.keyId);
    expect(JSON.stringify(listed)).not.toContain(created.key.split('_')[2]);
    expect((await send(app, 'POST', '/keys', keys.admin, { scope: 'root' })).statusCode).toBe(400);
    expect((await send(app, 'POST', '/keys', keys.admin, { scope: 'read', extra: 1 })).statusCode).toBe(400);
    const revoked = await send(app, 'DELETE', `/keys/${created.keyId}`, keys.admin);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ keyId: created.keyId, revokedAt: expect.any(String) });
    expect(await get('/runs', created.key)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect((await send(app, 'DELETE', '/keys/000000000000', keys.admin)).json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    // The local token (kairos serve writes it beside the store for its owner) is an admin key on /keys and erasure only.
    const token = `local_${'t'.repeat(43)}`;
    const local = await server({ localToken: token });
    try {
      expect((await send(local, 'GET', '/keys', token)).statusCode).toBe(200);
      const byToken = await send(local, 'POST', '/keys', token, { scope: 'write' });
      expect(byToken.statusCode).toBe(201);
      expect((await send(local, 'DELETE', `/keys/${(byToken.json() as { keyId: string }).keyId}`, token)).statusCode).toBe(200);
      expect((await send(local, 'GET', '/customers', token)).statusCode).toBe(401);
      expect((await send(local, 'GET', '/keys', `${token.slice(0, -1)}u`)).statusCode).toBe(401);
      // A server started without one takes none.
      expect((await send(app, 'GET', '/keys', token)).statusCode).toBe(401);
    } finally {
      await local.close();
    }
  });

  it('gives a customer, every score and the explanations kairos show prints; personal fields to admin keys only', async () => {
    const read = await get(`/customers/${BUYER}`);
    expect(read.status).toBe(200);
    const expected = await explainCustomer(store, BUYER);
    expect(read.body.explanations).toEqual(expected.explanations);
    expect(Object.keys(read.body.explanations)).toEqual(expect.arrayContaining(['rfm', 'clv', 'recommend']));
    expect(read.body.customer['churn_risk']).toBe(expected.customer['churn_risk']);
    expect(read.body.customer).not.toHaveProperty('email');
    expect(read.body.redacted).toEqual(['email']);
    const admin = await get(`/customers/${BUYER}`, keys.admin);
    expect(admin.body.customer['email']).toBe('k1@example.org');
    expect(admin.body.redacted).toEqual([]);
    expect(await get('/customers/NOBODY')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it('pages through every customer in customer_id order', async () => {
    const ids: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await get(`/customers?limit=150${after === null ? '' : `&cursor=${after}`}`);
      expect(page.status).toBe(200);
      expect(page.body.customers.every((c: Record<string, unknown>) => !('email' in c))).toBe(true);
      ids.push(...page.body.customers.map((c: { customer_id: string }) => c.customer_id));
      after = page.body.next;
      pages++;
    } while (after !== null);
    const all = (await store.all<{ customer_id: string }>('SELECT customer_id FROM customers ORDER BY customer_id')).map((r) => r.customer_id);
    expect(ids).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 150));
  });

  it("gives a customer's score history over the runs, recommendations, and says when affinities are not stored", async () => {
    const history = await get(`/customers/${BUYER}/history?score=frequency`);
    expect(history.status).toBe(200);
    expect(history.body.history.map((h: { as_of: string }) => h.as_of)).toEqual(['2023-10-01', '2023-07-01']);
    expect((await get(`/customers/${BUYER}/history`)).body.history.length).toBeGreaterThan(10);
    const recommended = String(await store.value('SELECT min(customer_id) FROM customer_recommendations'));
    const recs = await get(`/customers/${recommended}/recommendations`);
    expect(recs.status).toBe(200);
    expect(recs.body.products.length).toBeGreaterThan(0);
    expect(await get(`/customers/${BUYER}/affinities`)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no category affinities stored' } } });
    expect((await get('/customers/NOBODY/history')).status).toBe(404);
  });

  it('lists runs, gives one run with its scorers, models and notes, and the fitted models', async () => {
    const runs = await get('/runs');
    expect(runs.body.runs.map((r: { run_id: number; status: string }) => [r.run_id, r.status])).toEqual([
      [2, 'completed'],
      [1, 'completed'],
    ]);
    const run = await get('/runs/2');
    expect(run.body.scorers.map((s: { name: string }) => s.name)).toEqual(['rfm', 'clv', 'recommend']);
    expect(run.body.models.length).toBeGreaterThan(0);
    // The run's notes, as kairos score printed them: the purchase model's choice among them.
    expect(run.body.notes.some((n: string) => /chosen/.test(n))).toBe(true);
    expect(await get('/runs/99')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const models = await get('/models');
    expect(models.body.runId).toBe(2);
    expect(models.body.fits.length).toBe(run.body.models.length);
  });

  it('validates every input and answers JSON errors with a code, never a stack trace', async () => {
    expect(await get('/customers?limit=0')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    expect((await get('/customers?limit=0')).body.error.message).toMatch(/^query\.limit: /);
    expect(await get('/customers?colour=red')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    expect(await get('/runs/abc')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    expect(await get(`/customers/${BUYER}/history?score=x;drop`)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    expect(await get('/nowhere')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    // A failure inside a handler: 500, the code, no message of the cause and no stack.
    const broken = { get scorers(): never { throw new Error('boom at secret.ts:1') } } as unknown as ScoreRegistry;
    const failing = await server({ registry: broken });
    try {
      const res = await get(`/customers/${BUYER}/affinities`, keys.read, failing);
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL');
      expect(JSON.stringify(res.body)).not.toMatch(/boom|secret|\bat\b/);
    } finally {
      await failing.close();
    }
  });

  it('enforces scopes, the rate limit per key and the body limit', async () => {
    const forbidden = await app.inject({ method: 'DELETE', url: `/customers/${BUYER}`, headers: { authorization: `Bearer ${keys.write}` } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const limited = await server({ rateLimit: { max: 2, timeWindowMs: 3_600_000 } });
    try {
      expect((await get('/runs', keys.read, limited)).status).toBe(200);
      expect((await get('/runs', keys.read, limited)).status).toBe(200);
      expect(await get('/runs', keys.read, limited)).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
      // Another key has its own count.
      expect((await get('/runs', keys.admin, limited)).status).toBe(200);
    } finally {
      await limited.close();
    }
    const small = await server({ bodyLimit: 64 });
    try {
      const res = await small.inject({
        method: 'DELETE',
        url: `/customers/${BUYER}`,
        headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ padding: 'x'.repeat(200) }),
      });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ error: { code: 'TOO_LARGE' } });
    } finally {
      await small.close();
    }
    expect((await get(`/customers/${BUYER}`)).status).toBe(200);
  });

  it('ingests orders as a JSON array and events as NDJSON with the CLI accounting, rejects returned; write scope needed', async () => {
    const post = (url: string, payload: string, type: string, key = keys.write) =>
      app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${key}`, 'content-type': type } });
    const orders = [
      { order_id: 'api-1', customer_id: 'NEW1', ordered_at: '2023-11-02T10:00:00Z', amount: 25 },
      { order_id: 'api-2', customer_id: 'NEW1', ordered_at: '2023-11-09', amount: 30 },
      { order_id: 'api-1', customer_id: 'NEW1', ordered_at: '2023-11-02T10:00:00Z', amount: 25 },
      { order_id: 'api-3', customer_id: 'NEW2', ordered_at: 'yesterday', amount: 5 },
    ];
    const json = await post('/ingest/orders', JSON.stringify(orders), 'application/json');
    expect(json.statusCode, json.body).toBe(200);
    const report = json.json();
    expect(report).toMatchObject({ entity: 'orders', read: 4, loaded: 2, rejected: 1, duplicates: 1, customersCreated: 1 });
    expect(report.read).toBe(report.loaded + report.rejected + report.duplicates);
    expect(report.rejects).toHaveLength(1);
    expect(report.rejects[0].reason).toContain('ordered_at');
    expect(report.rejects[0].raw).toContain('yesterday');
    const lines = [
      JSON.stringify({ customer_id: 'NEW1', occurred_at: '2023-11-03T08:00:00Z', type: 'web_visit' }),
      'not json',
      JSON.stringify({ customer_id: 'NEW1', occurred_at: '2023-11-04T08:00:00Z', type: 'email_open' }),
    ].join('\n');
    const ndjson = await post('/ingest/events', lines, 'application/x-ndjson');
    expect(ndjson.statusCode, ndjson.body).toBe(200);
    expect(ndjson.json()).toMatchObject({ entity: 'events', read: 3, loaded: 2, rejected: 1, duplicates: 0 });
    expect(Number(await store.value("SELECT count(*) FROM orders WHERE customer_id = 'NEW1'"))).toBe(2);
    // Not scored yet: the customer without scores.
    expect(await get('/customers/NEW1')).toMatchObject({ status: 200, body: { customer: { customer_id: 'NEW1', run_id: null }, explanations: {} } });
    expect((await post('/ingest/orders', JSON.stringify(orders), 'application/json', keys.read)).statusCode).toBe(403);
    expect((await post('/ingest/things', JSON.stringify(orders), 'application/json')).json()).toMatchObject({ error: { code: 'VALIDATION' } });
    expect((await post('/ingest/orders', '{"order_id": 1}', 'application/json')).json()).toMatchObject({ error: { code: 'VALIDATION' } });
    expect((await post('/ingest/orders', '[{', 'application/json')).json()).toMatchObject({ error: { code: 'VALIDATION' } });
  });

  it('serves an OpenAPI 3.1 document that an independent validator accepts and that holds every route', async () => {
    const doc = (await get('/openapi.json', null)).body;
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const routes = apiRoutes({ registry: DEFAULT_REGISTRY, config: DEFAULT_CONFIG, version: 'test' });
    for (const r of routes) expect(doc.paths[r.path]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeDefined();
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(methods)) {
        expect(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path}`).toBe(true);
      }
    }
    expect(doc.paths['/customers'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'cursor', 'after', 'sort', 'filter', 'segment', 'rfm_segment', 'clv_12m_min', 'churn_risk_max']),
    );
  });

  it('erases a customer from every table in one request, keeps an audit row without the id, and finds it nowhere after', async () => {
    const before = Number(await store.value('SELECT count(*) FROM rejects WHERE contains(raw, ?)', [VICTIM]));
    expect(before).toBe(1);
    // The serving snapshot beside the store (src/scores/lookup.ts) holds the customer's line until the erasure.
    await app.servingCopyIdle();
    const snapshot = snapshotFiles(store.path).data;
    expect(readFileSync(snapshot, 'utf8')).toContain(VICTIM);
    // A rescoring answered just before: in the journal beside the store (src/scores/rescore-journal.ts), on its way to the store.
    const rescored = await app.inject({ method: 'POST', url: `/customers/${VICTIM}/rescore`, headers: { authorization: `Bearer ${keys.write}` } });
    expect(rescored.statusCode, rescored.body).toBe(200);
    expect(app.rescores.pending(VICTIM)).toBeDefined();
    const res = await app.inject({ method: 'DELETE', url: `/customers/${VICTIM}`, headers: { authorization: `Bearer ${keys.admin}` } });
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report.rowsDeleted).toMatchObject({ customers: 1, rejects: 1, scores_rfm: 2 });
    expect(Object.keys(report.rowsDeleted)).toEqual(expect.arrayContaining(['orders', 'events', 'scores_clv', 'scores_recommend']));
    // Every column of every table and view, as text.
    const columns = await store.all<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = current_database() AND table_schema = 'main' ORDER BY 1, 2`,
    );
    expect(columns.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const table of new Set(columns.map((c) => c.table_name))) {
      const mentions = columns
        .filter((c) => c.table_name === table)
        .map((c) => `count(*) FILTER (contains(${quoteIdentifier(c.column_name)}::VARCHAR, $1)) AS ${quoteIdentifier(c.column_name)}`);
      const counts = (await store.one(`SELECT ${mentions.join(', ')} FROM ${quoteIdentifier(table)}`, [VICTIM])) ?? {};
      for (const [column, n] of Object.entries(counts)) if (Number(n) > 0) found.push(`${table}.${column}`);
    }
    expect(found).toEqual([]);
    expect(readFileSync(snapshot, 'utf8')).not.toContain(VICTIM);
    expect(readSnapshotMeta(store.path)).not.toBeNull();
    expect(journalFiles(store.path).map((f) => readFileSync(f, 'utf8')).join('')).not.toContain(VICTIM);
    expect(app.rescores.pending(VICTIM)).toBeUndefined();
    const late = await app.inject({ method: 'POST', url: `/customers/${VICTIM}/rescore`, headers: { authorization: `Bearer ${keys.write}` } });
    expect(late.statusCode).toBe(404);
    const audit = await store.all('SELECT * FROM erasures');
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(VICTIM);
    expect(await get(`/customers/${VICTIM}`)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    // Erasing again: nothing left, NOT_FOUND, no second audit row.
    const again = await app.inject({ method: 'DELETE', url: `/customers/${VICTIM}`, headers: { authorization: `Bearer ${keys.admin}` } });
    expect(again.statusCode).toBe(404);
    expect(Number(await store.value('SELECT count(*) FROM erasures'))).toBe(1);
    // The neighbours are untouched.
    expect((await get(`/customers/${BUYER}`)).status).toBe(200);
  });
});
