// Jobs off the request path (src/server/runner.ts) through the API: POST /runs, its progress, one job at a time, a stop mid-run, ingest jobs.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { readSnapshotMeta } from '../scores/lookup.js';
import { runScores } from '../scores/run.js';
import type { Store } from '../store/db.js';
import { toyStore } from '../testing/toy-scorers.js';
import { BUSY_RETRY_SECONDS, buildServer } from './app.js';
import type { JobState } from './jobs.js';
import { SNAPSHOT_STAGE } from './run-worker.js';
import { createKey } from './keys.js';
import { entityOfFile, FolderWatcher } from './watch.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
let key = '';
let admin = '';
let closed = false;

async function call(method: 'GET' | 'POST', url: string, body?: unknown, k = key): Promise<{ status: number; body: any; retryAfter: unknown }> {
  const res = await app.inject({ method, url, headers: { authorization: `Bearer ${k}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.json(), retryAfter: res.headers['retry-after'] };
}

/** Polls GET /jobs/{id} until the job has ended. */
async function ended(jobId: number): Promise<JobState> {
  for (;;) {
    const { body } = await call('GET', `/jobs/${jobId}`);
    if (body.status !== 'running') return body as JobState;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-runner-'));
  store = await toyStore(dir, join(dir, 'k.duckdb'));
  await runScores(store, { config: structuredClone(DEFAULT_CONFIG), asOf: '2023-07-01', scorers: ['rfm'] });
  key = (await createKey(store, 'write', 'test')).key;
  admin = (await createKey(store, 'admin', 'test')).key;
  app = await buildServer(store, { version: 'test' });
});

afterAll(async () => {
  if (!closed) await app?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('jobs off the request path', () => {
  it('POST /runs starts a run in a worker: 202 with its id, one at a time (the second is BUSY), reads answered meanwhile, progress to completed', async () => {
    const [a, b] = await Promise.all([call('POST', '/runs', { asOf: '2023-10-01', scorers: ['rfm'] }), call('POST', '/runs', { asOf: '2023-10-01', scorers: ['rfm'] })]);
    const started = a.status === 202 ? a : b;
    const refused = a.status === 202 ? b : a;
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ kind: 'score', status: 'running', origin: 'api', runId: 2 });
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'BUSY' } }, retryAfter: String(BUSY_RETRY_SECONDS) });
    expect(refused.body.error.message).toMatch(/scoring run (2|\(starting\)) is in progress/);
    // Writes on the request path wait for no run: refused while it runs.
    const current = await call('GET', '/runs/current');
    if (current.body.job !== null) {
      const erase = await call('POST', '/ingest/orders', [{ order_id: 'x', customer_id: 'K0001', ordered_at: '2023-01-01', amount: 1 }]);
      expect(erase).toMatchObject({ status: 503, body: { error: { code: 'BUSY' } } });
    }
    // A read is answered during the run, from the run published before it.
    const read = await call('GET', '/customers/K0001');
    expect(read.status).toBe(200);
    const job = await ended(started.body.jobId);
    const atEnd = readSnapshotMeta(store.path);
    // Its last step: the serving snapshot of what it publishes, made before it is marked completed.
    expect(job).toMatchObject({ status: 'completed', runId: 2, stage: SNAPSHOT_STAGE, done: 1, total: 1, error: null });
    expect((job.result as { customers: number }).customers).toBeGreaterThan(300);
    expect(job.elapsedSeconds).toBeGreaterThan(0);
    const run = await call('GET', '/runs/2');
    expect(run.body).toMatchObject({ status: 'completed', as_of: '2023-10-01', progress: { jobId: job.jobId, status: 'completed' } });
    // The run's snapshot is the one in use: there when the run ended, of run 2, not made again by the server after.
    expect(atEnd?.state.find((st) => st.scorer === 'rfm')?.runId).toBe(2);
    await app.servingCopyIdle();
    expect(app.serving.serving).toBe(true);
    expect(readSnapshotMeta(store.path)?.madeAt).toBe(atEnd?.madeAt);
    expect(app.serving.find('K0001')?.row['run_id']).toBe(2);
    expect((await call('GET', '/customers/K0001')).body.customer.run_id).toBe(2);
    expect((await call('GET', '/runs/current')).body).toEqual({ job: null });
  });

  it('refuses a run the CLI would refuse, before it starts (a bad scorer), with its error', async () => {
    const bad = await call('POST', '/runs', { scorers: ['nope'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/nope/);
  });

  it('ingests a body and a server file as jobs; the report is the job result', async () => {
    const lines = '{"order_id":"j1","customer_id":"K0001","ordered_at":"2023-09-01","amount":12.5}\n{"order_id":"j2","customer_id":"K0001","ordered_at":"bad","amount":1}\n';
    const res = await app.inject({ method: 'POST', url: '/ingest/orders/jobs', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' }, payload: lines });
    expect(res.statusCode).toBe(202);
    const job = await ended(res.json().jobId);
    expect(job).toMatchObject({ kind: 'ingest', status: 'completed' });
    // Timed to the millisecond, not from finishedAt's whole seconds (a job under a second read -0.3 s).
    expect(job.elapsedSeconds).toBeGreaterThanOrEqual(0);
    expect(job.elapsedSeconds).toBeLessThanOrEqual((Date.parse(job.finishedAt as string) - Date.parse(job.startedAt)) / 1000 + 1);
    expect((job.result as { files: { read: number; loaded: number; rejected: number }[] }).files[0]).toMatchObject({ read: 2, loaded: 1, rejected: 1 });
    const file = join(dir, 'more.csv');
    writeFileSync(file, 'order_id,customer_id,ordered_at,amount\nf1,K0002,2023-09-02,3\n');
    expect((await call('POST', '/ingest/orders/files', { path: file })).status).toBe(403);
    const started = await call('POST', '/ingest/orders/files', { path: file }, admin);
    expect(started.status).toBe(202);
    expect((await ended(started.body.jobId)).status).toBe('completed');
    expect(Number(await store.value("SELECT count(*) FROM orders WHERE order_id IN ('j1', 'f1')"))).toBe(2);
    expect((await call('POST', '/ingest/orders/files', { path: 'relative.csv' }, admin)).body.error.code).toBe('VALIDATION');
  });

  it('--watch: ingests the files that rest in the folder, moves them to done/ or failed/ with rejects and errors beside', async () => {
    expect(entityOfFile('orders-2024-01.csv', {})).toBe('orders');
    expect(entityOfFile('Customers.parquet', {})).toBe('customers');
    expect(entityOfFile('ordersheet.csv', {})).toBeUndefined();
    expect(entityOfFile('crm_export_7.csv', { 'crm_export_*.csv': 'customers' })).toBe('customers');
    const folder = join(dir, 'drop');
    mkdirSync(folder);
    writeFileSync(join(folder, 'orders-w.csv'), 'order_id,customer_id,ordered_at,amount\nw1,K0003,2023-09-03,4\nw2,K0003,not a date,4\n');
    writeFileSync(join(folder, 'mystery.csv'), 'a,b\n1,2\n');
    writeFileSync(join(folder, 'orders-late.csv.part'), 'order_id\n');
    const outcomes: string[] = [];
    const watcher = new FolderWatcher(folder, app.runner, { entities: {}, intervalSeconds: 1, settleSeconds: 0 }, (o) => outcomes.push(`${o.file} ${o.status}`));
    // The first look only notes sizes: a file is taken once it has not changed between two looks.
    expect(await watcher.poll()).toEqual([]);
    const taken = await watcher.poll();
    expect(taken.map((o) => `${o.file} ${o.status}`)).toEqual(['mystery.csv failed', 'orders-w.csv done']);
    expect(outcomes).toHaveLength(2);
    expect(taken[1]?.message).toBe('orders: read 2 = loaded 1 + rejected 1 + duplicates 0');
    expect(readdirSync(folder).sort()).toEqual(['done', 'failed', 'orders-late.csv.part']);
    expect(readdirSync(join(folder, 'done')).sort()).toEqual(['orders-w.csv', 'orders-w.csv.rejects.csv']);
    expect(readFileSync(join(folder, 'done', 'orders-w.csv.rejects.csv'), 'utf8')).toMatch(/not a date/);
    expect(readdirSync(join(folder, 'failed')).sort()).toEqual(['mystery.csv', 'mystery.csv.error.txt']);
    expect(readFileSync(join(folder, 'failed', 'mystery.csv.error.txt'), 'utf8')).toMatch(/no entity for "mystery.csv"/);
    expect(Number(await store.value("SELECT count(*) FROM orders WHERE order_id = 'w1'"))).toBe(1);
  });

  it('a stop during a run (SIGTERM) leaves no half-written run: it is marked failed and the store is as before it', async () => {
    // On the test server itself (its worker already started): it is closed here, as a SIGTERM closes it.
    const other = app;
    closed = true;
    const before = await store.all('SELECT * FROM customer_scores ORDER BY customer_id');
    // The stop is asked before the worker starts: the run is stopped at its first step, deterministically.
    const starting = other.runner.start({ kind: 'score', scorers: ['rfm'] }, 'test');
    const stopped = other.close();
    const job = await starting;
    await stopped;
    const ended = other.runner.job(job.jobId);
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
    const run = await store.one<{ status: string }>('SELECT status FROM score_runs WHERE run_id = ?', [job.runId]);
    expect(run?.status).toBe('failed');
    expect(Number(await store.value('SELECT count(*) FROM scores_rfm WHERE run_id = ?', [job.runId]))).toBe(0);
    const after = await store.all('SELECT * FROM customer_scores ORDER BY customer_id');
    expect(after).toEqual(before);
  });

  it('reports at start a run left running by a killed server as failed, its rows removed', async () => {
    const id = Number(await store.value('SELECT max(run_id) + 1 FROM score_runs'));
    // A run of a process that is gone (no process has this id), with rows it had appended before it was killed.
    await store.run(
      `INSERT INTO score_runs (run_id, as_of, started_at, finished_at, status, data_fingerprint, scorers, config, customers, currency, pid)
       VALUES (?, TIMESTAMP '2023-11-01', now()::TIMESTAMP, NULL, 'running', '', '[]', '{}', 0, 'EUR', 99999999)`,
      [id],
    );
    await store.run(`INSERT INTO scores_rfm BY NAME SELECT * REPLACE (${id} AS run_id) FROM scores_rfm WHERE run_id = 2`);
    const restarted = await buildServer(store, { version: 'test' });
    try {
      expect(restarted.interruptedRuns).toEqual([id]);
      const res = await restarted.inject({ method: 'GET', url: `/runs/${id}`, headers: { authorization: `Bearer ${key}` } });
      expect(res.json()).toMatchObject({ run_id: id, status: 'failed', progress: null });
      expect(res.json().notes[0]).toMatch(/^interrupted/);
      expect(Number(await store.value('SELECT count(*) FROM scores_rfm WHERE run_id = ?', [id]))).toBe(0);
    } finally {
      await restarted.close();
    }
  });
});
