// Customer look-ups under load (autocannon against kairos serve on 127.0.0.1), alone and while a full scoring run started by POST /runs is in progress.
//
//   npm run build && npx tsx bench/serve-load.ts [--customers 1000000] [--rate 500] [--seconds 20] [--repeat 3] [--connections 10] [--routes customer,rescore,health] [--through-publish 60 [--whole-run]]
//
// Builds once (cached in bench/out) a store of the purchase log bench/purchase-log.ts writes (`--customers`
// customers, seed 42: `kairos ingest orders FILE --preset cdnow`, then one `kairos score`), and a read and a write key.
// Then, `--repeat` times: starts `node bin/kairos.js serve` on a copy (and a copy of its serving snapshot), sends each
// route in turn (GET /customers/{id} and POST /customers/{id}/rescore with ids drawn in turn from 1,000 scored
// customers, GET /health) at `--rate` requests/s over `--connections` connections for `--seconds` s alone, then starts
// a full scoring run with POST /runs and sends the same loads while it runs (the run must still be running at the end
// of each window, else that round is marked). Prints p50/p99/max latency, requests/s and non-2xx per phase and their
// medians over the rounds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { buildSnapshot, removeSnapshot, snapshotFiles } from '../src/scores/lookup.js';
import { DEFAULT_REGISTRY } from '../src/scores/registry.js';
import { Store } from '../src/store/db.js';
import { option } from './machine.js';
import { purchaseLog } from './purchase-log.js';
import { journalFiles } from '../src/scores/rescore-journal.js';

const customers = Number(option('--customers', '1000000'));
const rate = Number(option('--rate', '500'));
const seconds = Number(option('--seconds', '20'));
const repeat = Number(option('--repeat', '3'));
const connections = Number(option('--connections', '10'));
/** With --through-publish N: windows of 5 s from the run's publishing until N s after it has ended (0: none). */
const throughPublish = Number(option('--through-publish', '0'));
/**
 * With --whole-run (and --through-publish N): the windows of 5 s start when the during-run windows end (the rest of the
 * run), not at its publishing. Either way, the percentiles over all the answers of the windows begun while the job ran,
 * and of those after, are printed too.
 */
const wholeRun = process.argv.includes('--whole-run');
const bin = resolve('bin/kairos.js');
const out = resolve('bench/out');
const base = resolve(out, `serve-load-${customers}.duckdb`);
const work = resolve(out, `serve-load-work.duckdb`);
if (!existsSync(resolve('dist/server/run-worker.js'))) throw new Error('dist/ is missing or old: run npm run build first');

function run(args: string[]): string {
  const r = spawnSync('node', [bin, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kairos ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

if (!existsSync(base)) {
  const log = purchaseLog(out, customers, 42).csv;
  console.log(`building ${base} (ingest + one score) ...`);
  run(['--db', base, '--quiet', 'ingest', 'orders', log, '--preset', 'cdnow']);
  run(['--db', base, '--quiet', 'score']);
  const keys = ['read', 'write'].map((scope) => (JSON.parse(run(['--db', base, '--json', 'keys', 'create', '--scope', scope, '--name', 'bench'])) as { key: string }).key);
  writeFileSync(`${base}.keys.json`, JSON.stringify({ read: keys[0], write: keys[1] }));
}
const keys = JSON.parse(readFileSync(`${base}.keys.json`, 'utf8')) as { read: string; write: string };
// The serving snapshot of the published scores (src/scores/lookup.ts), made once beside the base store and copied
// with it (as a server that has served the store before finds it); timed here.
{
  const store = await Store.open(base);
  try {
    const t = performance.now();
    const made = await buildSnapshot(store, DEFAULT_REGISTRY, base);
    if (made) console.log(`serving snapshot made: ${made.rows.toLocaleString('en')} lines, ${(made.bytes / 2 ** 20).toFixed(0)} MiB, ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    store.close();
  }
}

const ids: string[] = await (async () => {
  const store = await Store.open(base, { readOnly: true });
  try {
    return (await store.all<{ customer_id: string }>('SELECT customer_id FROM customer_scores WHERE run_id IS NOT NULL ORDER BY hash(customer_id) LIMIT 1000')).map((r) => r.customer_id);
  } finally {
    store.close();
  }
})();

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

function serve(): Promise<Server> {
  for (const f of [work, `${work}.wal`, `${work}.run.lock`, `${work}.serve.json`]) rmSync(f, { force: true });
  for (const f of journalFiles(work)) rmSync(f, { force: true });
  removeSnapshot(work);
  copyFileSync(base, work);
  const from = snapshotFiles(base);
  const to = snapshotFiles(work);
  copyFileSync(from.data, to.data);
  copyFileSync(from.meta, to.meta);
  // The copies written to disk before the server starts: their write-back would otherwise fall in the measured window.
  spawnSync('sync');
  return new Promise((done, fail) => {
    const child = spawn('node', [bin, '--db', work, '--json', '--quiet', 'serve', '--port', '0', '--rate-limit', '100000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) done({ child, url: (JSON.parse(text.split('\n')[0] as string) as { listening: string }).listening });
    });
    child.on('exit', (code) => fail(new Error(`kairos serve exited (${code})`)));
  });
}

function stop(s: Server): Promise<void> {
  return new Promise((done) => {
    s.child.once('exit', () => done());
    // SIGKILL: the copy is thrown away, and a SIGTERM would wait for the run's current step (a minute at 100k).
    s.child.kill('SIGKILL');
  });
}

interface Phase {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly rps: number;
  readonly non2xx: number;
  readonly errors: number;
}

/**
 * The load on a route: 'customer' (GET /customers/{id}, ids in turn), 'rescore' (POST /customers/{id}/rescore, the
 * same ids) or 'health' (GET /health: one SELECT 1 on a read connection).
 */
async function load(s: Server, route: Route, duration = seconds, latencies?: number[]): Promise<Phase> {
  let i = 0;
  const path = (): string =>
    route === 'health' ? '/health' : `/customers/${encodeURIComponent(ids[i++ % ids.length] as string)}${route === 'rescore' ? '/rescore' : ''}`;
  // Each answer's time, kept when asked: percentiles over several windows (--whole-run).
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url: s.url,
        connections,
        overallRate: rate,
        duration,
        headers: { authorization: `Bearer ${route === 'rescore' ? keys.write : keys.read}` },
        requests: [{ method: route === 'rescore' ? 'POST' : 'GET', setupRequest: (req) => ({ ...req, path: path() }) }],
      },
      (err, res) => (err ? fail(err) : done(res)),
    );
    if (latencies) instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  });
  return { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, rps: result.requests.average, non2xx: result.non2xx, errors: result.errors };
}

async function api(s: Server, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${keys.write}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.json();
}

const show = (p: Phase): string => `p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms, ${p.rps.toFixed(0)} req/s, non-2xx ${p.non2xx}, errors ${p.errors}`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[s.length >> 1] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

type Route = 'customer' | 'rescore' | 'health';
const routes = option('--routes', 'customer,rescore,health').split(',') as Route[];
const alone = { customer: [] as Phase[], rescore: [] as Phase[], health: [] as Phase[] };
const during = { customer: [] as Phase[], rescore: [] as Phase[], health: [] as Phase[] };
console.log(`${customers.toLocaleString('en')} customers, ${routes.join(', ')} at ${rate} req/s over ${connections} connections, ${seconds} s per phase (load ${loadavg()[0]?.toFixed(2)})`);
for (let r = 0; r < repeat; r++) {
  const s = await serve();
  try {
    // Warm-up (first requests compile the routes, fill DuckDB's caches, read the models, and check each key: one scrypt
    // per key and server by design): not counted.
    await autocannon({ url: `${s.url}/customers/${encodeURIComponent(ids[0] as string)}`, connections: 2, amount: 200, headers: { authorization: `Bearer ${keys.read}` } });
    await autocannon({ url: `${s.url}/customers/${encodeURIComponent(ids[1] as string)}/rescore`, method: 'POST', connections: 2, amount: 50, headers: { authorization: `Bearer ${keys.write}` } });
    for (const route of routes) {
      const a = await load(s, route);
      alone[route].push(a);
      console.log(`round ${r + 1} ${route} alone:      ${show(a)} (load ${loadavg()[0]?.toFixed(2)})`);
    }
    const job = await api(s, 'POST', '/runs', {});
    if (job.status !== 'running') throw new Error(`POST /runs: ${JSON.stringify(job)}`);
    for (const route of routes) {
      const d = await load(s, route);
      const after = await api(s, 'GET', `/jobs/${job.jobId}`);
      during[route].push(d);
      console.log(`round ${r + 1} ${route} during run: ${show(d)} (run ${job.runId} ${after.status === 'running' ? `still running at ${after.stage}` : `ENDED before the window closed (${after.status})`})`);
    }
    if (throughPublish > 0) {
      // The run's end: from the moment it begins to publish (with --whole-run, at once), windows of 5 s of the first
      // route until `throughPublish` s after the job has ended (the server makes its new serving snapshot meanwhile).
      for (;;) {
        const j = await api(s, 'GET', `/jobs/${job.jobId}`);
        if (wholeRun || j.status !== 'running' || j.stage === 'publishing the run') break;
        await new Promise((wait) => setTimeout(wait, 200));
      }
      let ended: number | null = null;
      const windows: Phase[] = [];
      // The answers' times in the windows that began while the job ran, and in those after.
      const running: number[] = [];
      const after: number[] = [];
      const t0 = performance.now();
      while (ended === null || performance.now() - ended < throughPublish * 1000) {
        const at = ((performance.now() - t0) / 1000).toFixed(0);
        const w = await load(s, routes[0] as Route, 5, ended === null ? running : after);
        const j = await api(s, 'GET', `/jobs/${job.jobId}`);
        if (ended === null && j.status !== 'running') ended = performance.now();
        windows.push(w);
        console.log(`round ${r + 1} ${routes[0]} at ${wholeRun ? 'the run' : 'publish'} +${at} s: ${show(w)} (job ${j.status}${j.status === 'running' ? ` at ${j.stage}` : ''})`);
      }
      const over = windows.filter((w) => w.p99 >= 50);
      console.log(`round ${r + 1}: ${windows.length} windows of 5 s, ${over.length} with p99 >= 50 ms (${over.map((w) => w.p99).join(', ') || 'none'}), lowest rate ${Math.min(...windows.map((w) => w.rps)).toFixed(0)} req/s`);
      for (const [label, answers] of [[wholeRun ? 'the rest of the run' : 'the publication', running], ['after the job ended', after]] as const) {
        const xs = [...answers].sort((a, b) => a - b);
        const pct = (q: number): string => (xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN).toFixed(1);
        console.log(`round ${r + 1}: ${label}, ${xs.length} answers: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, p99.9 ${pct(0.999)} ms, max ${pct(1)} ms`);
      }
    }
  } finally {
    await stop(s);
  }
}
const med = (ps: Phase[]): string =>
  `p50 ${median(ps.map((p) => p.p50))} ms, p99 ${median(ps.map((p) => p.p99))} ms, max ${median(ps.map((p) => p.max))} ms, ${median(ps.map((p) => p.rps)).toFixed(0)} req/s`;
for (const route of routes) console.log(`\n${route}: medians of ${repeat}: alone ${med(alone[route])}; during a run ${med(during[route])}`);
