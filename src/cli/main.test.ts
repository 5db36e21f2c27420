// The CLI through its exported main(argv): commands, --json, exit codes, the demo end to end.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../errors.js';
import { Store } from '../store/db.js';
import { main } from './main.js';
import { captureIo, runCli } from '../testing/cli.js';

const capture = captureIo;

let dir: string;
let db: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-cli-'));
  db = join(dir, 'k.duckdb');
  writeFileSync(
    join(dir, 'orders.csv'),
    ['order_id,customer_id,ordered_at,product_id,quantity,unit_price', 'o1,c1,2024-01-05,p1,1,10', 'o2,c1,2024-02-05,p1,2,10', 'o3,c2,2024-03-01,p2,1,99', 'o4,,2024-03-01,p2,1,5'].join('\n'),
  );
});

const kairos = (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runCli(db, argv);

describe('kairos CLI', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await kairos('--help');
    expect(r.code).toBe(0);
    for (const c of ['demo', 'ingest', 'score', 'show', 'sql', 'export', 'runs', '--wait <seconds>', '8 store busy']) expect(r.out).toContain(c);
  });

  it('score --help and help score name the registered scorers (the registry is loaded for them only)', async () => {
    for (const argv of [['score', '--help'], ['help', 'score']]) {
      const r = await kairos(...argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.out, argv.join(' ')).toMatch(/--scorer <names>\s+comma-separated subset of: rfm, clv/);
    }
  });

  it('an unknown command or option is a usage error (exit 2)', async () => {
    expect((await kairos('frobnicate')).code).toBe(EXIT_CODES.USAGE);
    expect((await kairos('score', '--bogus')).code).toBe(EXIT_CODES.USAGE);
    expect((await kairos('ingest', 'things', 'x.csv')).code).toBe(EXIT_CODES.USAGE);
    expect((await kairos('--wait', 'soon', 'runs')).code).toBe(EXIT_CODES.USAGE);
  });

  it('ingest, score, show, sql and export work together, with --json everywhere', async () => {
    const ing = await kairos('--json', 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir);
    expect(ing.code).toBe(0);
    const report = JSON.parse(ing.out) as { totals: { read: number; loaded: number; rejected: number } };
    expect(report.totals).toMatchObject({ read: 4, loaded: 3, rejected: 1 });

    const human = await kairos('ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir);
    expect(human.out).toContain('read 4 = loaded 0 + rejected 1 + duplicates 3');

    const score = await kairos('--json', 'score', '--as-of', '2024-04-01');
    expect(score.code).toBe(0);
    expect(JSON.parse(score.out)).toMatchObject({ runId: 1, customers: 2, asOf: '2024-04-01T00:00:00Z' });

    const show = await kairos('show', 'c1');
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/2 order\(s\), EUR 30\.00 spent/);
    const showJson = JSON.parse((await kairos('--json', 'show', 'c1')).out) as { customer: { frequency: number } };
    expect(showJson.customer.frequency).toBe(2);
    expect((await kairos('show', 'nobody')).code).toBe(EXIT_CODES.NOT_FOUND);

    const sql = await kairos('--json', 'sql', 'SELECT customer_id, frequency FROM customer_scores ORDER BY 1');
    expect(JSON.parse(sql.out)).toEqual([
      { customer_id: 'c1', frequency: 2 },
      { customer_id: 'c2', frequency: 1 },
    ]);
    const write = await kairos('sql', 'DELETE FROM orders');
    expect(write.code).toBe(EXIT_CODES.USAGE);
    expect(write.err).toMatch(/only SELECT/);
    expect((await kairos('sql', "SELECT * FROM read_csv('/etc/passwd')")).code).not.toBe(0);

    const out = join(dir, 'scores.csv');
    const exp = await kairos('export', '--format', 'csv', '--out', out, '--columns', 'customer_id,rfm_segment,monetary');
    expect(exp.code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual(['customer_id,rfm_segment,monetary', 'c1,Lost,30.0', 'c2,About to sleep,99.0']);
    const pq = join(dir, 'scores.parquet');
    expect((await kairos('export', '--format', 'parquet', '--out', pq)).code).toBe(0);
    expect(existsSync(pq)).toBe(true);
    expect((await kairos('export', '--columns', 'nope')).code).toBe(EXIT_CODES.USAGE);

    const runs = JSON.parse((await kairos('--json', 'runs')).out) as { run_id: number }[];
    expect(runs.map((r) => r.run_id)).toEqual([1]);
  });

  it('usage errors print the JSON error record on stdout with --json (exit 2), plain text without', async () => {
    for (const argv of [['frobnicate'], ['score', '--bogus'], ['show'], [], ['--bogus', 'runs']]) {
      const r = await kairos('--json', ...argv);
      expect(r.code, argv.join(' ')).toBe(EXIT_CODES.USAGE);
      expect(r.err, argv.join(' ')).toBe('');
      expect(JSON.parse(r.out), argv.join(' ')).toMatchObject({ error: { code: 'USAGE', message: expect.any(String) as string, hint: 'run kairos --help for usage' } });
    }
    expect(JSON.parse((await kairos('frobnicate', '--json')).out)).toMatchObject({ error: { code: 'USAGE', message: "unknown command 'frobnicate'" } });
    expect(JSON.parse((await kairos('--json')).out)).toMatchObject({ error: { code: 'USAGE', message: 'no command given' } });
    const text = await kairos('frobnicate');
    expect(text.out).toBe('');
    expect(text.err).toMatch(/^error: unknown command 'frobnicate'\n\(run kairos --help for usage\)$/);
  });

  it('every numeric option takes whole numbers only: anything else is a usage error saying what is expected', async () => {
    const cases: [string[], RegExp][] = [
      [['runs', '--limit', 'abc'], /'--limit <n>' argument 'abc' is invalid\. Expected a whole number of 1 or more\./],
      [['runs', '--limit', '-1'], /'--limit <n>' argument '-1' is invalid\. Expected a whole number of 1 or more\./],
      [['runs', '--limit', '0'], /Expected a whole number of 1 or more/],
      [['sql', 'select 1', '--limit', 'abc'], /'--limit <n>' argument 'abc' is invalid\. Expected a whole number of 1 or more\./],
      [['sql', 'select 1', '--limit', '2.5'], /Expected a whole number of 1 or more/],
      [['models', '--run', 'x'], /'--run <id>' argument 'x' is invalid\. Expected a whole number of 1 or more\./],
      [['demo', '--customers', '5'], /'--customers <n>' argument '5' is invalid\. Expected a whole number from 10 to 5,000,000\./],
      [['demo', '--customers', '1e4'], /Expected a whole number from 10 to 5,000,000/],
      [['demo', '--seed', '-1'], /'--seed <s>' argument '-1' is invalid\. Expected a whole number of 0 or more\./],
      [['evaluate', '--holdout', 'abc'], /--holdout "abc" is not a length \(expected Nd or Nw, e\.g\. 180d or 39w\)/],
      [['evaluate', '--holdout', '-5d'], /--holdout "-5d" is not a length/],
      [['evaluate', '--horizon', '0w'], /--holdout "0w" is not a length/],
    ];
    for (const [argv, message] of cases) {
      const r = await kairos(...argv);
      expect(r.code, argv.join(' ')).toBe(EXIT_CODES.USAGE);
      expect(r.err, argv.join(' ')).toMatch(message);
      expect(r.err, argv.join(' ')).not.toMatch(/NaN/);
      const json = await kairos('--json', ...argv);
      expect(json.code, argv.join(' ')).toBe(EXIT_CODES.USAGE);
      expect(JSON.parse(json.out), argv.join(' ')).toMatchObject({ error: { code: 'USAGE', message: expect.stringMatching(message) as string } });
    }
    expect(existsSync(db)).toBe(false);
  });

  it('commands that read a store create none: NOT_FOUND (exit 4) with a hint; only ingest and demo create one', async () => {
    for (const argv of [['score'], ['show', 'c1'], ['runs'], ['models'], ['sql', 'SELECT 1'], ['export', '--out', join(dir, 'x.csv')], ['evaluate']]) {
      const r = await kairos(...argv);
      expect(r.code, argv.join(' ')).toBe(EXIT_CODES.NOT_FOUND);
      expect(r.err, argv.join(' ')).toContain(`kairos: no store at ${db}`);
      expect(r.err, argv.join(' ')).toMatch(/hint: run `kairos ingest` or `kairos demo` first/);
      expect(existsSync(db), argv.join(' ')).toBe(false);
    }
    expect(JSON.parse((await kairos('--json', 'score')).out)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await kairos('ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir)).code).toBe(0);
    expect(existsSync(db)).toBe(true);
  });

  it('every command runs DuckDB under a memory limit: 256MB unless --memory-limit (or KAIROS_MEMORY_LIMIT) says otherwise', async () => {
    expect((await kairos('--quiet', 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir)).code).toBe(0);
    const limit = async (...flags: string[]): Promise<string> =>
      (JSON.parse((await kairos(...flags, '--json', 'sql', "SELECT current_setting('memory_limit') AS m")).out) as { m: string }[])[0]?.m ?? '';
    expect(await limit()).toMatch(/^(256\.0 MiB|244\.1 MiB)$/);
    expect(await limit('--memory-limit', '1GB')).toMatch(/^(1\.0 GiB|953\.6 MiB)$/);
    const bad = await kairos('--memory-limit', 'lots', 'runs');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--memory-limit "lots" is not a memory size/);
  });

  it('sql prints PRAGMA, SHOW and DESCRIBE as tables too; --limit cuts the rows read', async () => {
    expect((await kairos('--quiet', 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir)).code).toBe(0);
    const pragma = await kairos('sql', 'PRAGMA database_list');
    expect(pragma.code).toBe(0);
    expect(pragma.out).toMatch(/^seq\s+name\s+file/);
    expect(pragma.out).toContain(db);
    expect(JSON.parse((await kairos('--json', 'sql', 'PRAGMA database_list')).out)).toMatchObject([{ name: 'k', file: db }]);
    const show = await kairos('sql', 'SHOW TABLES', '--limit', '2');
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/\(first 2 rows; use --limit or --json for more\)$/);
    expect((await kairos('sql', 'DESCRIBE orders')).out).toMatch(/column_name/);
    const range = await kairos('sql', 'SELECT range AS n FROM range(10000)', '--limit', '3');
    expect(range.out.split('\n')).toEqual(['n', '-', '0', '1', '2', '(first 3 rows; use --limit or --json for more)']);
    expect((await kairos('sql', 'SELECT 1 AS one', '--limit', '1')).out).toMatch(/\(1 rows\)$/);
  });

  it('export writes CSV or NDJSON to stdout with --out - (or no --out off a terminal); Parquet only to a file', async () => {
    expect((await kairos('--quiet', 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir)).code).toBe(0);
    expect((await kairos('--quiet', 'score', '--as-of', '2024-04-01')).code).toBe(0);
    const csv = ['customer_id,rfm_segment', 'c1,Lost', 'c2,About to sleep'];
    const dash = await kairos('export', '--out', '-', '--columns', 'customer_id,rfm_segment');
    expect(dash.code).toBe(0);
    expect(dash.out.trim().split('\n')).toEqual(csv);
    expect(dash.err).toBe('wrote 2 customers x 2 columns to stdout');
    // The test's capture is not a terminal: no --out means stdout, as for a pipe.
    const piped = await kairos('--json', 'export', '--columns', 'customer_id,rfm_segment');
    expect(piped.out.trim().split('\n')).toEqual(csv);
    expect(piped.err).toBe('');
    expect(existsSync('customer_scores.csv')).toBe(false);
    const ndjson = await kairos('--quiet', 'export', '--format', 'json', '--out', '-', '--columns', 'customer_id,monetary');
    expect(ndjson.out.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { customer_id: 'c1', monetary: 30 },
      { customer_id: 'c2', monetary: 99 },
    ]);
    expect(ndjson.err).toBe('');
    const parquet = await kairos('export', '--format', 'parquet', '--out', '-');
    expect(parquet.code).toBe(EXIT_CODES.USAGE);
    expect(parquet.err).toMatch(/Parquet is not written to stdout .*: give --out FILE\.parquet/);
    expect(parquet.out).toBe('');
  });

  it('ends quietly with exit 0 when the reader of stdout goes away (kairos sql ... | head)', async () => {
    expect((await kairos('--quiet', 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir)).code).toBe(0);
    // The process-level IO in a child (the one bin/kairos.js uses), its stdout closed after the first bytes.
    const script = `import { run } from ${JSON.stringify(new URL('./main.ts', import.meta.url).pathname)};
      process.exitCode = await run(['--db', ${JSON.stringify(db)}, 'sql', 'SELECT range AS n FROM range(300000)', '--limit', '300000']);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 60_000);

  it('a missing file is NOT_FOUND, a missing column is VALIDATION, both with --json error records', async () => {
    const missing = await kairos('--json', 'ingest', 'orders', join(dir, 'nope.csv'));
    expect(missing.code).toBe(EXIT_CODES.NOT_FOUND);
    expect(JSON.parse(missing.out)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    writeFileSync(join(dir, 'bad.csv'), 'a,b\n1,2\n');
    const bad = await kairos('ingest', 'orders', join(dir, 'bad.csv'));
    expect(bad.code).toBe(EXIT_CODES.VALIDATION);
    expect(bad.err).toMatch(/required columns .* are missing \(columns found: a, b\)/);
  });

  it('a garbage file named .parquet or .csv.gz is invalid input (exit 3) naming the file, without kairos\'s SQL', async () => {
    const junk = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 37 + 11) % 256));
    writeFileSync(join(dir, 'x.parquet'), junk);
    writeFileSync(join(dir, 'x.csv.gz'), junk);
    const pq = await kairos('ingest', 'orders', join(dir, 'x.parquet'));
    expect(pq.code).toBe(EXIT_CODES.VALIDATION);
    expect(pq.err).toContain(`kairos: ${join(dir, 'x.parquet')}: not a readable Parquet file (`);
    expect(pq.err).not.toMatch(/read_parquet|LINE 1/);
    const gz = await kairos('--json', 'ingest', 'orders', join(dir, 'x.csv.gz'));
    expect(gz.code).toBe(EXIT_CODES.VALIDATION);
    expect(JSON.parse(gz.out)).toMatchObject({ error: { code: 'VALIDATION', message: expect.stringContaining(join(dir, 'x.csv.gz')) as string } });
  });

  it('ingest events reports types outside the contract (text and --json); score and show give engagement, prospects included', async () => {
    expect((await kairos('--quiet', 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir)).code).toBe(0);
    const events = join(dir, 'events.csv');
    writeFileSync(
      events,
      ['customer_id,occurred_at,type', 'c1,2024-03-20T10:00:00Z,web_visit', 'c1,2024-03-21T10:00:00Z,Loyalty Signup', 'p9,2024-03-25T10:00:00Z,email_click', 'p9,2024-03-26T10:00:00Z,loyalty-signup'].join('\n'),
    );
    const json = await kairos('--json', 'ingest', 'events', events, '--rejects-dir', dir);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as { totals: { loaded: number }; unknownEventTypes: Record<string, number>; files: { unknownEventTypes: Record<string, number> }[] };
    expect(report.totals.loaded).toBe(4);
    expect(report.unknownEventTypes).toEqual({ loyalty_signup: 2 });
    expect(report.files[0]?.unknownEventTypes).toEqual({ loyalty_signup: 2 });
    writeFileSync(events, 'customer_id,occurred_at,type\nc2,2024-03-22T10:00:00Z,App Launch\n');
    const text = await kairos('ingest', 'events', events, '--rejects-dir', dir);
    expect(text.out).toContain('events.csv: 1 events of 1 type(s) outside the data contract, kept as they are: app_launch 1');

    const score = await kairos('score', '--as-of', '2024-04-01');
    expect(score.code).toBe(0);
    expect(score.out).toMatch(/note: engagement: 3 events of 2 type\(s\) outside the data contract were not counted: loyalty_signup 2, app_launch 1/);
    const rows = JSON.parse((await kairos('--json', 'sql', 'SELECT customer_id, engagement_label, engagement_trend FROM customer_scores ORDER BY 1')).out) as unknown[];
    expect(rows).toEqual([
      { customer_id: 'c1', engagement_label: 'dormant', engagement_trend: 'new' }, // one visit 12 days ago: 2 × 0.5^(12/45) -> 9.1 < 10
      { customer_id: 'c2', engagement_label: 'dormant', engagement_trend: 'new' },
      { customer_id: 'p9', engagement_label: 'engaged', engagement_trend: 'new' }, // a prospect: events, no order
    ]);
    const show = await kairos('show', 'p9');
    expect(show.out).toMatch(/engagement:\n  - engagement \d+\/100, engaged; no earlier run to compare with yet\n  - in the 30 days before 2024-04-01: 1 e-mail click; last engaged 2024-03-25/);
  });

  it('score on an empty store says what to do (exit 7)', async () => {
    (await Store.open(db)).close();
    const r = await kairos('score');
    expect(r.code).toBe(EXIT_CODES.INSUFFICIENT_DATA);
    expect(r.err).toMatch(/hint: run `kairos ingest/);
  });

  it('demo generates, ingests and scores a small synthetic retailer, and refuses to overwrite real data', async () => {
    const r = await kairos('--json', 'demo', '--customers', '150', '--seed', '7', '--data-dir', join(dir, 'demo'));
    expect(r.code).toBe(0);
    const demo = JSON.parse(r.out) as { run: { customers: number }; segments: { customers: number }[]; ingested: Record<string, { read: number; loaded: number; rejected: number; duplicates: number }> };
    expect(demo.run.customers).toBe(150);
    expect(demo.segments.reduce((a, s) => a + s.customers, 0)).toBe(150);
    for (const t of Object.values(demo.ingested)) expect(t.read).toBe(t.loaded + t.rejected + t.duplicates);
    expect(existsSync(join(dir, 'demo', 'truth.csv'))).toBe(true);
    // a second demo replaces the first; its summary in words shows probabilities as percentages, never 1.86384e-7
    const text = await kairos('demo', '--customers', '50', '--data-dir', join(dir, 'demo2'));
    expect(text.code).toBe(0);
    expect(text.out).not.toMatch(/\de-\d/);
    const lines = text.out.split('\n');
    const header = lines.findIndex((l) => l.startsWith('customer_id') && l.includes('p_alive'));
    expect(header).toBeGreaterThan(0);
    const at = lines[header]!.indexOf('p_alive');
    const gap = lines[header]!.slice(at + 'p_alive'.length).search(/\S/); // where the next column starts
    const end = gap < 0 ? undefined : at + 'p_alive'.length + gap;
    const cells = lines.slice(header + 2, lines.indexOf('', header)).map((l) => l.slice(at, end).trim());
    expect(cells.length).toBeGreaterThan(0);
    for (const c of cells) expect(c).toMatch(/^(< 0\.01%|> 99\.99%|\d+(\.\d+)?%)$/);
    // a store with the user's own data is refused
    const other = join(dir, 'mine.duckdb');
    await main(['--db', other, 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir], capture());
    const refused = capture();
    expect(await main(['--db', other, 'demo', '--customers', '50'], refused)).toBe(EXIT_CODES.USAGE);
    expect(refused.stderr.join('\n')).toMatch(/will not overwrite/);
  });
});
