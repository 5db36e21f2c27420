// Scoring runs: per-scorer results survive partial runs, dependencies are honoured or refused, items are stored and shown, runs are timed.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportScores } from '../cli/commands/query.js';
import { printCustomer } from '../cli/commands/score.js';
import { run } from '../cli/main.js';
import { DEFAULT_CONFIG } from '../config.js';
import { EXIT_CODES, KairosError } from '../errors.js';
import { Store } from '../store/db.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { lockHolder, spawnScript } from '../testing/child.js';
import { toyItemScorer, toyStore } from '../testing/toy-scorers.js';
import { explainCustomer } from './explain.js';
import { DEFAULT_REGISTRY, ScoreRegistry, SCORERS } from './registry.js';
import { compactHistory } from './results.js';
import { runScores } from './run.js';
import type { Scorer } from './types.js';

// The runs' mechanics, not the learned models' (src/scores/learned has their tests): the trees are not trained here.
const config = { ...DEFAULT_CONFIG, learned: { ...DEFAULT_CONFIG.learned, enabled: false } };
let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-runs-'));
  store = await toyStore(join(dir, 'data'), join(dir, 'k.duckdb'));
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const BUYER = 'K0003';

describe('partial runs', () => {
  it('a run of one scorer replaces only its results: the others stay, with their run, and explain still works', async () => {
    const full = await runScores(store, { config, asOf: '2023-10-01' });
    const before = await store.one<Record<string, unknown>>('SELECT * FROM customer_scores WHERE customer_id = ?', [BUYER]);
    expect(before?.['run_id']).toBe(full.runId);
    expect(full.asOf).toBe('2023-10-01T00:00:00Z');
    const partial = await runScores(store, { config, asOf: '2023-10-01', scorers: ['clv'] });
    expect(partial.scorers.map((s) => s.name)).toEqual(['clv']);
    const after = await store.one<Record<string, unknown>>('SELECT * FROM customer_scores WHERE customer_id = ?', [BUYER]);
    // RFM columns are those of the full run; clv's were recomputed (same data, same values but for the last bits of
    // DuckDB's parallel DOUBLE sums: 2e-16 seen); run_id is the latest.
    for (const c of SCORERS[0]?.columns ?? []) expect(after?.[c.name], c.name).toEqual(before?.[c.name]);
    expect(Math.abs(Number(after?.['p_alive']) - Number(before?.['p_alive']))).toBeLessThan(1e-12);
    expect(after?.['run_id']).toBe(partial.runId);
    const state = await store.all('SELECT scorer, max(run_id) AS run_id FROM scorer_results GROUP BY scorer ORDER BY scorer');
    expect(state).toEqual([
      { scorer: 'affinity', run_id: full.runId },
      { scorer: 'clv', run_id: partial.runId },
      { scorer: 'engagement', run_id: full.runId },
      { scorer: 'learned', run_id: full.runId },
      { scorer: 'lifecycle', run_id: full.runId },
      { scorer: 'promotion', run_id: full.runId },
      { scorer: 'recommend', run_id: full.runId },
      { scorer: 'rfm', run_id: full.runId },
    ]);
    const { explanations } = await explainCustomer(store, BUYER);
    expect(explanations['clv']?.join(' ')).toMatch(/^bought \d+ time\(s\), last \d+ days ago/);
    expect(JSON.stringify(explanations)).not.toMatch(/undefined|NaN/);
    // History holds each scorer's columns once per run that computed them.
    expect(await store.value(`SELECT count(DISTINCT run_id) FROM score_history WHERE score = 'frequency'`)).toBe(1);
    expect(await store.value(`SELECT count(DISTINCT run_id) FROM score_history WHERE score = 'p_alive'`)).toBe(2);
  });

  it('a dependent scorer alone needs its dependency stored for the same as-of, and says how to run both', async () => {
    await expect(runScores(store, { config, asOf: '2023-09-01', scorers: ['clv'] })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/scorer clv reads the rfm scores as of 2023-09-01, but the stored rfm results are as of 2023-10-01/),
      hint: expect.stringMatching(/kairos score --scorer rfm,clv --as-of 2023-09-01/),
    });
  });

  it('a dependency alone at another as-of than its stored dependents is refused (they would mix two dates)', async () => {
    await expect(runScores(store, { config, asOf: '2023-09-01', scorers: ['rfm'] })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/scorer clv \(stored as of 2023-10-01, run \d+\) reads the rfm scores/),
    });
    // Together with every scorer that reads them (learned reads clv, lifecycle rfm and clv) at the new as-of, they are fine and leave the store consistent.
    await runScores(store, { config, asOf: '2023-09-01', scorers: ['clv', 'rfm', 'learned', 'lifecycle'] });
    expect(await store.value(`SELECT count(DISTINCT as_of) FROM scorer_results WHERE run_id = (SELECT max(run_id) FROM scorer_results)`)).toBe(1);
    expect(await store.value(`SELECT count(DISTINCT scorer) FROM scorer_results WHERE run_id = (SELECT max(run_id) FROM scorer_results)`)).toBe(4);
  });

  it('a scorer that runs out of memory where DuckDB cannot spill runs again under a 4x memory limit, and the run says so', async () => {
    await store.run("SET memory_limit = '64MB'");
    let calls = 0;
    const hungry: Scorer = {
      ...toyItemScorer,
      name: 'hungry',
      items: [],
      columns: [],
      dependsOn: [],
      run: async (ctx) => {
        calls++;
        if (calls === 1) throw new KairosError('STORE', 'query failed: Out of Memory Error: failed to pin block of size 256.0 KiB (61.0 MiB/61.0 MiB used)');
        await ctx.store.run('CREATE OR REPLACE TEMP TABLE __hungry AS SELECT customer_id FROM asof_customers');
        return { table: '__hungry', models: [], notes: [] };
      },
    };
    const run = await runScores(store, { config, asOf: '2023-10-01', registry: new ScoreRegistry([...SCORERS, hungry]), scorers: ['hungry'] });
    expect(calls).toBe(2);
    expect(run.notes).toContainEqual(expect.stringMatching(/^hungry: not enough memory under 61\.0 MiB, again under 244\.0 MiB \(set --memory-limit 244\.0MiB or more/));
    expect(await store.value("SELECT current_setting('memory_limit')")).toBe('244.0 MiB');
    // Any other error fails the run at once.
    const broken: Scorer = { ...hungry, name: 'broken', run: () => Promise.reject(new KairosError('STORE', 'query failed: Binder Error')) };
    await expect(runScores(store, { config, asOf: '2023-10-01', registry: new ScoreRegistry([...SCORERS, broken]), scorers: ['broken'] })).rejects.toThrow(/Binder/);
  });

  it('a failed run leaves every stored result as it was', async () => {
    const before = await store.all('SELECT * FROM scorer_results ORDER BY scorer');
    const snapshot = await store.all('SELECT * FROM scores_rfm ORDER BY customer_id');
    const failing: Scorer = { ...toyItemScorer, name: 'failing', items: [], columns: [], dependsOn: [], run: () => Promise.reject(new Error('boom')) };
    await expect(runScores(store, { config, asOf: '2023-10-01', registry: new ScoreRegistry([...SCORERS, failing]) })).rejects.toThrow(/boom/);
    expect(await store.all('SELECT * FROM scorer_results ORDER BY scorer')).toEqual(before);
    expect(await store.all('SELECT * FROM scores_rfm ORDER BY customer_id')).toEqual(snapshot);
  });
});

describe('a store made before per-scorer results (schema 1)', () => {
  it('keeps its customer_scores until the next run, which replaces latest_scores with the scorers\' tables', async () => {
    const db = join(dir, 'v1.duckdb');
    const old = await toyStore(join(dir, 'v1-data'), db);
    // Back to schema 1 as an older Kairos left it: no per-scorer state, scores in latest_scores.
    await old.run('DROP TABLE scorer_results');
    await old.run('DROP VIEW score_history');
    await old.run('ALTER TABLE score_history_v1 RENAME TO score_history');
    await old.run('ALTER TABLE score_runs DROP COLUMN pid');
    await old.run('ALTER TABLE score_runs DROP COLUMN notes');
    await old.run('DELETE FROM schema_migrations WHERE version > 1');
    await old.run("INSERT INTO score_runs VALUES (7, TIMESTAMP '2023-09-01', TIMESTAMP '2023-09-02', TIMESTAMP '2023-09-02', 'completed', 'x', '[]', '{}', 1, 'EUR')");
    await old.run("INSERT INTO latest_scores VALUES ('K0001', 7)");
    await old.run("INSERT INTO score_history VALUES (7, 'K0001', 'frequency', 3, NULL, NULL, NULL)");
    old.close();
    const reopened = await Store.open(db);
    try {
      expect(await reopened.value('SELECT max(version) FROM schema_migrations')).toBe(SCHEMA_VERSION);
      expect(await reopened.value("SELECT run_id FROM customer_scores WHERE customer_id = 'K0001'")).toBe(7);
      await runScores(reopened, { config, asOf: '2023-10-01', scorers: ['rfm'] });
      expect(await reopened.value("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'latest_scores'")).toBe(0);
      expect(await reopened.one("SELECT run_id, frequency FROM customer_scores WHERE customer_id = 'K0001'")).toMatchObject({ run_id: 8 });
      // The clv scorer never ran: its columns are there, empty.
      expect(await reopened.value('SELECT count(p_alive) FROM customer_scores')).toBe(0);
      // Schema 1's history is still read through score_history, beside the new run's.
      expect(await reopened.all("SELECT run_id, value_num FROM score_history WHERE customer_id = 'K0001' AND score = 'frequency' ORDER BY run_id")).toEqual([
        { run_id: 7, value_num: 3 },
        { run_id: 8, value_num: expect.any(Number) },
      ]);
    } finally {
      reopened.close();
    }
  });
});

describe('a run killed at any moment', () => {
  it('leaves nothing visible when killed while committing its rows; its id is not reused; the next run marks it failed and removes its rows', async () => {
    const db = join(dir, 'killed.duckdb');
    const s1 = await toyStore(join(dir, 'killed-data'), db);
    const first = await runScores(s1, { config, asOf: '2023-10-01', scorers: ['rfm'] });
    const before = await s1.all('SELECT * FROM customer_scores ORDER BY customer_id');
    // What a kill during the commit of the rows can leave (DuckDB replaying part of the transaction from its WAL): the
    // run's 'running' row (committed first) and some of its rows, with no completion.
    await s1.run(
      "INSERT INTO score_runs (run_id, as_of, started_at, finished_at, status, data_fingerprint, scorers, config, customers, currency, pid) VALUES (2, TIMESTAMP '2023-11-01', now(), NULL, 'running', '', '[]', '{}', 0, 'EUR', NULL)",
    );
    await s1.run("INSERT INTO scores_rfm SELECT 2, customer_id, first_order_date, last_order_date, 999, 999, 999, 1, 1, 1, '111', 'Lost' FROM scores_rfm WHERE run_id = 1");
    await s1.run("INSERT INTO scorer_results VALUES ('rfm', 2, TIMESTAMP '2023-11-01', '1.0.0', 'x')");
    s1.close();
    // Its process is gone: kairos runs says it was interrupted.
    const listed: string[] = [];
    const io = { out: (line: string) => void listed.push(line), err: () => {}, isTty: false };
    expect(await run(['--db', db, '--json', 'runs'], io)).toBe(0);
    expect(JSON.parse(listed.join('\n'))).toMatchObject([{ run_id: 2, status: 'failed (interrupted)' }, { run_id: first.runId, status: 'completed' }]);
    const s2 = await Store.open(db);
    try {
      expect(await s2.all('SELECT * FROM customer_scores ORDER BY customer_id')).toEqual(before);
      expect(await s2.value('SELECT count(*) FROM score_history WHERE run_id = 2')).toBe(0);
      const next = await runScores(s2, { config, asOf: '2023-10-01', scorers: ['rfm'] });
      expect(next.runId).toBe(3);
      expect(await s2.all('SELECT run_id, status FROM score_runs ORDER BY run_id')).toEqual([
        { run_id: first.runId, status: 'completed' },
        { run_id: 2, status: 'failed' },
        { run_id: 3, status: 'completed' },
      ]);
      expect(await s2.value('SELECT count(*) FROM scores_rfm WHERE run_id = 2')).toBe(0);
      expect(await s2.value('SELECT count(*) FROM scorer_results WHERE run_id = 2')).toBe(0);
      expect(await s2.value('SELECT count(DISTINCT run_id) FROM score_history')).toBe(2);
    } finally {
      s2.close();
    }
  });

  it('a run that fails is recorded as failed, its rows gone, the published results as they were', async () => {
    const before = await store.all('SELECT * FROM customer_scores ORDER BY customer_id');
    const failing: Scorer = { ...toyItemScorer, name: 'failing_late', items: [], columns: [], dependsOn: [], run: () => Promise.reject(new Error('late boom')) };
    await expect(runScores(store, { config, asOf: '2023-09-01', registry: new ScoreRegistry([...SCORERS, failing]) })).rejects.toThrow(/late boom/);
    const last = await store.one<{ status: string; finished: boolean }>('SELECT status, finished_at IS NOT NULL AS finished FROM score_runs ORDER BY run_id DESC LIMIT 1');
    expect(last).toEqual({ status: 'failed', finished: true });
    expect(await store.all('SELECT * FROM customer_scores ORDER BY customer_id')).toEqual(before);
  });
});

describe('history compaction', () => {
  it('keeps the last days whole and one run per month before them, and always the published runs', async () => {
    const db = join(dir, 'compact.duckdb');
    const s = await toyStore(join(dir, 'compact-data'), db);
    try {
      const dates = ['2023-06-01', '2023-06-15', '2023-07-01', '2023-07-20', '2023-09-25', '2023-10-01'];
      for (const asOf of dates) await runScores(s, { config, asOf, scorers: ['rfm'] });
      const rowsOfRemoved = Number(await s.value('SELECT count(*) FROM scores_rfm WHERE run_id IN (1, 3)'));
      const result = await compactHistory(s, DEFAULT_REGISTRY, 30);
      expect(result).toEqual({ removed: [1, 3], kept: 4, rowsDeleted: rowsOfRemoved });
      expect(await s.all('SELECT run_id, status FROM score_runs ORDER BY run_id')).toEqual([
        { run_id: 1, status: 'compacted' },
        { run_id: 2, status: 'completed' },
        { run_id: 3, status: 'compacted' },
        { run_id: 4, status: 'completed' },
        { run_id: 5, status: 'completed' },
        { run_id: 6, status: 'completed' },
      ]);
      expect(await s.all("SELECT DISTINCT run_id FROM score_history WHERE score = 'frequency' ORDER BY 1")).toEqual([2, 4, 5, 6].map((run_id) => ({ run_id })));
      // Compacting again changes nothing; the published run (6) stays whatever the window.
      expect((await compactHistory(s, DEFAULT_REGISTRY, 30)).removed).toEqual([]);
      expect((await compactHistory(s, DEFAULT_REGISTRY, 0)).removed).toEqual([]);
      expect(await s.value('SELECT max(run_id) FROM customer_scores')).toBe(6);
    } finally {
      s.close();
    }
  });
});

describe('item scores end to end (toy item scorer)', () => {
  const registry = new ScoreRegistry([...SCORERS, toyItemScorer]);

  it('stores items, offers them in customer_scores, explains them, and records the run time', async () => {
    const summary = await runScores(store, { config, asOf: '2023-10-01', registry });
    expect(summary.scorers.map((s) => s.name)).toEqual(['rfm', 'clv', 'lifecycle', 'engagement', 'learned', 'recommend', 'affinity', 'promotion', 'toy_items']);
    expect(summary.seconds).toBeGreaterThan(0);
    const seconds = await store.value<number>('SELECT epoch(finished_at) - epoch(started_at) FROM score_runs WHERE run_id = ?', [summary.runId]);
    expect(seconds).toBeGreaterThan(0);
    const row = await store.one<Record<string, unknown>>(
      'SELECT toy_top_products, toy_top_products_1, toy_category_share FROM customer_scores WHERE customer_id = ?',
      [BUYER],
    );
    const items = await store.all<{ key: string }>(`SELECT key FROM items_toy_top_products WHERE customer_id = ? ORDER BY rank`, [BUYER]);
    expect(row?.['toy_top_products']).toEqual(items.slice(0, 4).map((i) => i.key));
    expect(row?.['toy_top_products_1']).toBe(items[0]?.key);
    const shares = Object.values(row?.['toy_category_share'] as Record<string, number>);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Filtering by category needs no JSON: a native MAP.
    expect(Number(await store.value(`SELECT count(*) FROM customer_scores WHERE toy_category_share['Home'] > 0.5`))).toBeGreaterThan(0);
    const explained = await explainCustomer(store, BUYER, registry);
    expect(explained.explanations['toy_items']?.[0]).toMatch(/distinct product\(s\) over \d+ order\(s\); most bought P\d/);
    expect(explained.items['toy_top_products']?.[0]).toMatchObject({ rank: 1, key: items[0]?.key });
  });

  it('a staging write that runs out of memory after its items are in runs again from none of them (no duplicate rows)', async () => {
    const original = store.run.bind(store);
    let failed = false;
    // The first insert of the toy scorer's results fails as DuckDB does when out of memory, after its items were staged.
    store.run = async (sql, params) => {
      if (!failed && /^INSERT INTO "staging"\."scores_toy_items"/.test(sql)) {
        failed = true;
        throw new KairosError('STORE', 'query failed: Out of Memory Error: failed to allocate data of size 16.0 MiB');
      }
      return original(sql, params);
    };
    try {
      const summary = await runScores(store, { config, asOf: '2023-10-01', registry });
      expect(failed).toBe(true);
      expect(summary.notes.join(' ')).toMatch(/writing toy_items: not enough memory/);
      const counts = await store.one<{ n: number; distinct: number }>(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT (customer_id, rank))::INTEGER AS distinct FROM items_toy_top_products WHERE run_id = ?`,
        [summary.runId],
      );
      expect(counts?.n).toBeGreaterThan(0);
      expect(counts?.n).toBe(counts?.distinct);
      expect(await store.value('SELECT count(*) FROM scorer_results WHERE run_id = ? AND scorer = ?', [summary.runId, 'toy_items'])).toBe(1);
    } finally {
      store.run = original;
    }
  });

  it('kairos show prints the items; kairos export --items writes the long table', async () => {
    const out: string[] = [];
    const io = { out: (line: string) => void out.push(line), err: (line: string) => void out.push(line), isTty: false };
    printCustomer(io, BUYER, await explainCustomer(store, BUYER, registry));
    const top = await store.one<{ key: string; value: number; reason: string }>(`SELECT key, value, reason FROM items_toy_top_products WHERE customer_id = ? AND rank = 1`, [BUYER]);
    expect(out).toContain('toy_top_products:');
    expect(out).toContain(`  1. ${top?.key} (${top?.value})${top?.reason ? `: ${top.reason}` : ''}`);
    const db = join(dir, 'k.duckdb');
    store.close();
    try {
      const file = join(dir, 'items.csv');
      const written = await exportScores(db, { format: 'csv', out: file, items: 'toy_top_products', registry });
      expect(written.columns).toEqual(['customer_id', 'rank', 'key', 'value', 'reason']);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.length - 1).toBe(written.rows);
      expect(lines[0]).toBe('customer_id,rank,key,value,reason');
      await expect(exportScores(db, { format: 'csv', out: file, items: 'nope', registry })).rejects.toThrow(
        /unknown item output "nope" \(available: recommendations, category_affinity, toy_top_products, toy_category_share\)/,
      );
      // The toy scorer is not shipped: the CLI, with the shipped scorers only, does not know its output.
      expect(await run(['--db', db, 'export', '--items', 'toy_top_products', '--out', file], io)).toBe(2);
    } finally {
      store = await Store.open(db);
    }
  });
});

/** `kairos score` as the CLI runs it (a switchable store), in another process, held once its results are staged until it reads a line. */
const HELD_RUN = `
import { createInterface } from 'node:readline';
const [db, asOf] = process.argv.slice(1);
const { Store } = await import(${JSON.stringify(new URL('../store/db.ts', import.meta.url).pathname)});
const { runScores } = await import(${JSON.stringify(new URL('./run.ts', import.meta.url).pathname)});
const { DEFAULT_CONFIG } = await import(${JSON.stringify(new URL('../config.ts', import.meta.url).pathname)});
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const store = await Store.open(db, { mustExist: true, switchable: true, waitSeconds: 60 });
try {
  const run = await runScores(store, { config: DEFAULT_CONFIG, asOf, scorers: ['rfm'], beforePublish: async () => { console.log('staged'); await lines.next(); } });
  console.log('published ' + run.runId);
} finally {
  store.close();
}`;

describe('readers and writers: a run computing in another process', () => {
  it('lets readers read the published scores, makes writers wait (or fail at once with --wait 0), then publishes', async () => {
    const db = join(dir, 'shared.duckdb');
    const data = join(dir, 'shared-data');
    const s = await toyStore(data, db);
    let first: number;
    try {
      first = (await runScores(s, { config, asOf: '2023-09-01', scorers: ['rfm'] })).runId;
    } finally {
      s.close();
    }
    const out = (io: { stdout: string[] }): string => io.stdout.join('\n');
    const capture = (onErr: (line: string) => void = () => {}) => {
      const stdout: string[] = [];
      const stderr: string[] = [];
      return { stdout, stderr, isTty: false, out: (l: string) => void stdout.push(l), err: (l: string) => void (stderr.push(l), onErr(l)) };
    };
    const kairos = async (...argv: string[]) => {
      const io = capture();
      return { code: await run(['--db', db, '--json', ...argv], io), out: out(io), err: io.stderr.join('\n') };
    };
    const child = spawnScript(HELD_RUN, [db, '2023-10-01'], { tsx: true });
    try {
      expect(await child.line()).toBe('staged');
      // The run holds a read lock: readers read the scores published before it, and see it running.
      const scores = await kairos('sql', 'SELECT DISTINCT run_id, scored_as_of FROM customer_scores WHERE run_id IS NOT NULL');
      expect(scores.code, scores.err).toBe(0);
      expect(JSON.parse(scores.out)).toEqual([{ run_id: first, scored_as_of: '2023-09-01T00:00:00Z' }]);
      expect(JSON.parse((await kairos('runs')).out)).toMatchObject([{ run_id: first + 1, status: `running (PID ${child.pid})` }, { run_id: first, status: 'completed' }]);
      expect((await kairos('show', BUYER)).code).toBe(0);
      // A writer without a wait is BUSY, in Kairos's words.
      const orders = join(data, 'orders.csv');
      const busy = await kairos('--wait', '0', 'ingest', 'orders', orders, '--rejects-dir', data);
      expect(busy.code).toBe(EXIT_CODES.BUSY);
      expect(JSON.parse(busy.out)).toMatchObject({
        error: { code: 'BUSY', message: expect.stringMatching(new RegExp(`is in use: another process \\(PID ${child.pid}, .*\\) is reading it`)), hint: expect.stringMatching(/--wait SECONDS/) },
      });
      expect(busy.out).not.toMatch(/readonly|read-only mode/);
      // A writer with a wait says so once on stderr, and goes on when the run has published.
      let waiting = (): void => {};
      const said = new Promise<void>((done) => (waiting = done));
      const io = capture((line) => /^waiting for the store /.test(line) && waiting());
      const ingesting = run(['--db', db, '--wait', '60', 'ingest', 'orders', orders, '--rejects-dir', data], io);
      await said;
      child.send('publish');
      expect(await child.line()).toBe(`published ${first + 1}`);
      expect(await ingesting, io.stderr.join('\n')).toBe(0);
      expect(io.stderr.filter((l) => l.startsWith('waiting for the store'))).toEqual([
        expect.stringMatching(new RegExp(`^waiting for the store ${db}: another process \\(PID ${child.pid}, .*\\) is (reading|writing to) it .*; waiting up to 60 s \\(--wait\\)$`)),
      ]);
      const after = await kairos('sql', 'SELECT DISTINCT run_id FROM customer_scores WHERE run_id IS NOT NULL');
      expect(JSON.parse(after.out)).toEqual([{ run_id: first + 1 }]);
      expect(JSON.parse((await kairos('runs')).out)).toMatchObject([{ run_id: first + 1, status: 'completed' }, { run_id: first, status: 'completed' }]);
    } finally {
      await child.exit();
    }
  });
});

describe('readers and writers: a run that cannot publish', () => {
  it('fails BUSY saying the run was computed but not published, leaves the published scores and no scratch file, and counts as interrupted', async () => {
    const db = join(dir, 'unpublished.duckdb');
    (await toyStore(join(dir, 'unpublished-data'), db)).close();
    const reader = lockHolder();
    const store = await Store.open(db, { switchable: true, waitSeconds: 0 });
    try {
      const first = await runScores(store, { config, asOf: '2023-09-01', scorers: ['rfm'] });
      const before = await store.all('SELECT * FROM customer_scores ORDER BY customer_id');
      // Another process starts reading while the run computes (with a read lock too), and is still reading when it would publish.
      await expect(
        runScores(store, { config, asOf: '2023-10-01', scorers: ['rfm'], beforePublish: () => reader.hold(db, 'read') }),
      ).rejects.toMatchObject({
        code: 'BUSY',
        message: expect.stringMatching(new RegExp(`^run ${first.runId + 1} was computed but not published: the store ${db} is in use: another process \\(PID ${reader.pid}, .*\\) is reading it`)),
      });
      expect(existsSync(`${db}.staging-${first.runId + 1}`)).toBe(false);
      await reader.release();
      await store.setAccess('write');
      expect(await store.all('SELECT * FROM customer_scores ORDER BY customer_id')).toEqual(before);
      // Still 'running', with this process's id: the next run marks it failed (this process is not computing it).
      expect(await store.all('SELECT run_id, status, pid FROM score_runs ORDER BY run_id')).toEqual([
        { run_id: first.runId, status: 'completed', pid: process.pid },
        { run_id: first.runId + 1, status: 'running', pid: process.pid },
      ]);
      const next = await runScores(store, { config, asOf: '2023-10-01', scorers: ['rfm'] });
      expect(await store.all('SELECT run_id, status FROM score_runs ORDER BY run_id')).toEqual([
        { run_id: first.runId, status: 'completed' },
        { run_id: first.runId + 1, status: 'failed' },
        { run_id: next.runId, status: 'completed' },
      ]);
    } finally {
      store.close();
      await reader.release();
      await reader.stop();
    }
  });
});
