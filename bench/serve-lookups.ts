// Load on `kairos serve`: p50/p99 latency and throughput of GET /customers/{id} and of POST /customers/{id}/rescore,
// at a fixed 500 requests/s and at the most the server gives, measured by autocannon against 127.0.0.1.
//
//   npx tsx bench/serve-lookups.ts [--customers 1000000] [--runs 3] [--seconds 10] [--connections 10] [--build-only]
//   npx tsx bench/serve-lookups.ts --customers 1000000 --calls 50      # the handlers' work in-process, one call at a time
//
// The store (simulated purchase logs of the reference's shape, bench/purchase-log.ts, seed 42, ingested with the
// cdnow preset and scored by `runScores` with the default configuration: every scorer) is built once per size in
// bench/out/serve-N.duckdb and reused. The server runs in its own process (this script with --serve STORE: the app of
// `kairos serve`, no request log, the rate limit raised out of the way), autocannon in this one; each case is run
// --runs times, interleaved, and the medians are printed with every run. Ids are drawn at random (seeded) from
// the customers with a purchase, so lookups touch the whole store and every rescoring has orders to read.
// Results go to stdout and bench/out/serve-lookups-results.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_CONFIG } from '../src/config.js';
import { ingest } from '../src/ingest/ingest.js';
import { explainCustomer, explainRow } from '../src/scores/explain.js';
import { DEFAULT_REGISTRY } from '../src/scores/registry.js';
import { rescoreCustomers } from '../src/scores/rescore.js';
import { customerScoresRow, storedResults } from '../src/scores/results.js';
import { runScores } from '../src/scores/run.js';
import { buildSnapshot, ServingSnapshot, snapshotKey } from '../src/scores/lookup.js';
import { buildServer } from '../src/server/app.js';
import { createKey } from '../src/server/keys.js';
import { Store } from '../src/store/db.js';
import { machine, median, option } from './machine.js';
import { purchaseLog } from './purchase-log.js';

interface AutocannonResult {
  latency: { p50: number; p99: number; p97_5: number; average: number; max: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const OUT = resolve('bench/out');

/** The store of `customers` customers, built on first use (ingest + a default run), then reused. */
async function buildStore(customers: number): Promise<string> {
  const path = resolve(OUT, `serve-${customers}.duckdb`);
  if (existsSync(path)) return path;
  mkdirSync(OUT, { recursive: true });
  const log = purchaseLog(OUT, customers, 42);
  const part = `${path}.part`;
  rmSync(part, { force: true });
  const store = await Store.open(part);
  try {
    let t = performance.now();
    await ingest(store, { entity: 'orders', files: [log.csv], preset: 'cdnow', rejectsDir: OUT });
    console.log(`ingested ${log.purchases.toLocaleString('en')} purchases in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await runScores(store, { config: DEFAULT_CONFIG });
    console.log(`scored ${customers.toLocaleString('en')} customers in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    store.close();
  }
  renameSync(part, path);
  return path;
}

/** Child mode: serve STORE on 127.0.0.1 (any free port), print `{ url, read, write }` and the ids to draw from. */
async function serve(path: string): Promise<void> {
  const store = await Store.open(path);
  const read = (await createKey(store, 'read', 'bench')).key;
  const write = (await createKey(store, 'write', 'bench')).key;
  const ids = (await store.all<{ customer_id: string }>(`SELECT customer_id FROM customers WHERE customer_id IN (SELECT customer_id FROM orders USING SAMPLE 20000 ROWS) ORDER BY customer_id`)).map(
    (r) => r.customer_id,
  );
  // The serving snapshot of the published scores (src/scores/lookup.ts) is made here, timed, rather than in the
  // background by the server's start: the look-ups are then measured on it. Kept beside the store for the next runs.
  const t = performance.now();
  const built = await buildSnapshot(store, DEFAULT_REGISTRY, path);
  if (built) {
    console.error(`serving snapshot: ${built.rows} rows, ${(built.bytes / 2 ** 20).toFixed(0)} MiB, in ${((performance.now() - t) / 1000).toFixed(1)} s (load ${loadavg()[0]?.toFixed(2)})`);
  }
  const app = await buildServer(store, {
    version: 'bench',
    config: DEFAULT_CONFIG,
    rateLimit: { max: 1e9, timeWindowMs: 60_000 },
    ...(process.env['KAIROS_READ_CONNECTIONS'] ? { readConnections: Number(process.env['KAIROS_READ_CONNECTIONS']) } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ url, read, write, ids })}\n`);
  const stop = async (): Promise<void> => {
    await app.close();
    store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
}

/** Starts the server process and waits for its first line. */
async function startServer(path: string): Promise<{ child: ChildProcess; url: string; read: string; write: string; ids: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/serve-lookups.ts', '--serve', path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((ok, fail) => {
    lines.once('line', ok);
    child.once('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
  return { child, ...(JSON.parse(first) as { url: string; read: string; write: string; ids: string[] }) };
}

/** A seeded stream of ids. */
function drawer(ids: readonly string[], seed: number): () => string {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ids[(s >>> 0) % ids.length] as string;
  };
}

interface Case {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: (id: string) => string;
  readonly key: 'read' | 'write';
  /** Requests per second over all connections; 0 for as many as the server answers. */
  readonly rate: number;
}

interface Measure {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly rps: number;
  readonly requests: number;
  readonly failures: number;
}

async function measure(server: { url: string; read: string; write: string; ids: string[] }, c: Case, seconds: number, connections: number, seed: number): Promise<Measure> {
  const next = drawer(server.ids, seed);
  const r = await autocannon({
    url: server.url,
    connections,
    duration: seconds,
    ...(c.rate > 0 ? { overallRate: c.rate } : {}),
    requests: [
      {
        method: c.method,
        headers: { authorization: `Bearer ${server[c.key]}` },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, path: c.path(next()) }),
      },
    ],
  });
  return { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average, rps: r.requests.average, requests: r.requests.total, failures: r.non2xx + r.errors + r.timeouts };
}

/** --calls N: the handlers' work in this process, one call at a time (no HTTP, no queue): milliseconds per call. */
async function inProcess(path: string, calls: number): Promise<void> {
  const store = await Store.open(path);
  try {
    const ids = (await store.all<{ customer_id: string }>(`SELECT customer_id FROM orders USING SAMPLE ${calls * 2} ROWS`)).map((r) => r.customer_id).slice(0, calls);
    const time = async (label: string, fn: (id: string) => Promise<unknown>): Promise<void> => {
      const ms: number[] = [];
      for (const id of ids) {
        const t = performance.now();
        await fn(id);
        ms.push(performance.now() - t);
      }
      const sorted = [...ms].sort((a, b) => a - b);
      console.log(`${label}: median ${median(ms).toFixed(1)} ms, p90 ${(sorted[Math.floor(sorted.length * 0.9)] as number).toFixed(1)} ms over ${ms.length} customers (load ${loadavg()[0]?.toFixed(2)})`);
    };
    await time('customerScoresRow + explainCustomer', async (id) => explainCustomer(store, id, DEFAULT_REGISTRY, { row: (await customerScoresRow(store, DEFAULT_REGISTRY, id)) as Record<string, unknown> }));
    await time('customer_scores view, one row', (id) => store.one('SELECT * FROM customer_scores WHERE customer_id = ?', [id]));
    await buildSnapshot(store, DEFAULT_REGISTRY, path);
    const state = await storedResults(store, DEFAULT_REGISTRY);
    let t = performance.now();
    const snapshot = ServingSnapshot.open(path, DEFAULT_REGISTRY, await snapshotKey(store, DEFAULT_REGISTRY, state));
    if (snapshot === null) throw new Error('no serving snapshot');
    console.log(`serving snapshot opened: ${snapshot.size} lines in ${(performance.now() - t).toFixed(0)} ms`);
    const currencies = new Map(Object.entries(snapshot.meta.currencies).map(([k, v]) => [Number(k), v]));
    await time('serving snapshot: get + explainRow', async (id) => {
      const held = snapshot.get(id);
      return held && explainRow(DEFAULT_REGISTRY, state, held.row, held.items, currencies);
    });
    t = performance.now();
    for (let k = 0; k < 10; k++) for (const id of ids) snapshot.get(id);
    console.log(`serving snapshot get alone: ${(((performance.now() - t) / (10 * ids.length)) * 1000).toFixed(1)} us per customer`);
    snapshot.close();
    await time('rescoreCustomers', (id) => rescoreCustomers(store, DEFAULT_REGISTRY, { customerId: id }));
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serve(option('--serve', ''));
  const customers = Number(option('--customers', '1000000'));
  const runs = Number(option('--runs', '3'));
  const seconds = Number(option('--seconds', '10'));
  const connections = Number(option('--connections', '10'));
  const m = await machine();
  const path = await buildStore(customers);
  if (process.argv.includes('--build-only')) return;
  if (process.argv.includes('--calls')) return inProcess(path, Number(option('--calls', '50')));
  const server = await startServer(path);
  const cases: Case[] = [
    { name: 'GET /customers/{id} at 500/s', method: 'GET', path: (id) => `/customers/${encodeURIComponent(id)}`, key: 'read', rate: 500 },
    { name: 'GET /customers/{id} at max', method: 'GET', path: (id) => `/customers/${encodeURIComponent(id)}`, key: 'read', rate: 0 },
    { name: 'POST /customers/{id}/rescore at 500/s', method: 'POST', path: (id) => `/customers/${encodeURIComponent(id)}/rescore`, key: 'write', rate: 500 },
    { name: 'POST /customers/{id}/rescore at max', method: 'POST', path: (id) => `/customers/${encodeURIComponent(id)}/rescore`, key: 'write', rate: 0 },
  ];
  const results = new Map<string, Measure[]>(cases.map((c) => [c.name, []]));
  try {
    // Warm-up: the first requests read the store's pages from disk.
    await measure(server, cases[1] as Case, 3, connections, 7);
    for (let run = 0; run < runs; run++) {
      for (const c of cases) {
        const r = await measure(server, c, seconds, connections, 1000 + run);
        results.get(c.name)?.push(r);
        console.log(
          `${c.name}, run ${run + 1}: p50 ${r.p50} ms, p99 ${r.p99} ms, mean ${r.mean.toFixed(1)} ms, ${r.rps.toFixed(0)} req/s, ${r.requests} requests, ${r.failures} failed (load ${loadavg()[0]?.toFixed(2)})`,
        );
      }
    }
  } finally {
    server.child.stdin?.end();
  }
  const summary = cases.map((c) => {
    const rs = results.get(c.name) ?? [];
    // A run in which no request completed has no latency: its throughput (0) counts, its latencies do not.
    const answered = rs.filter((r) => r.requests > 0);
    return {
      case: c.name,
      p50: answered.length ? median(answered.map((r) => r.p50)) : Number.NaN,
      p99: answered.length ? median(answered.map((r) => r.p99)) : Number.NaN,
      rps: Math.round(median(rs.map((r) => r.rps))),
      failures: rs.reduce((a, r) => a + r.failures, 0),
      runs: rs,
    };
  });
  console.log(`\n${customers.toLocaleString('en')} customers, ${connections} connections, ${seconds} s per run, medians of ${runs} runs:`);
  for (const s of summary) console.log(`  ${s.case}: p50 ${s.p50} ms, p99 ${s.p99} ms, ${s.rps} req/s (${s.failures} failed)`);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(resolve(OUT, 'serve-lookups-results.json'), JSON.stringify({ machine: m, customers, connections, seconds, runs, summary }, null, 2));
}

await main();
