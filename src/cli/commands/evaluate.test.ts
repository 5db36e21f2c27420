// `kairos evaluate` through main(argv): the report (text, --json, --report HTML), the split flags and the exit codes.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../errors.js';
import { writeFixtureOrders } from '../../testing/orders-fixture.js';
import type { EvaluationReport } from '../../backtest/types.js';
import { Store } from '../../store/db.js';
import { main } from '../main.js';
import { captureIo, runCli } from '../../testing/cli.js';

const capture = captureIo;

let dir: string;
let db: string;
/** The report the --json test printed (and kept). */
let printed: EvaluationReport | undefined;
const kairos = (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runCli(db, argv);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-cli-evaluate-'));
  db = join(dir, 'shop.duckdb');
  const orders = writeFixtureOrders(dir);
  const r = await kairos('--quiet', 'ingest', 'orders', orders, '--rejects-dir', dir);
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kairos evaluate', () => {
  it('prints the graded summary, says which purchase model wins, and writes the HTML report', async () => {
    const html = join(dir, 'out', 'report.html');
    const r = await kairos('evaluate', '--calibration-end', '2023-08-31', '--holdout', '16w', '--report', html);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/backtest of shop: 400 customers; calibration 2023-01-01 to 2023-08-31, holdout 2023-09-01 to 2023-12-21 \(16-week\)/);
    expect(r.out).toMatch(/purchase models, per-customer MAE of holdout purchases: bg-nbd [\d.]+, pareto-nbd [\d.]+, mbg-nbd [\d.]+/);
    expect(r.out).toMatch(/wins on this holdout/);
    expect(r.out).toMatch(/beats baseline|does NOT beat baseline/);
    expect(r.out).toContain(`report: ${html}`);
    const page = readFileSync(html, 'utf8');
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page.match(/<svg\b/g)?.length).toBeGreaterThan(8);
  });

  it('--json prints the EvaluationReport; --as-of and --horizon are synonyms of the split flags', async () => {
    const a = await kairos('--json', 'evaluate', '--calibration-end', '2023-08-31', '--holdout', '112d');
    const b = await kairos('--json', 'evaluate', '--as-of', '2023-09-01', '--horizon', '16w', '--no-save');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const ra = JSON.parse(a.out) as EvaluationReport;
    const rb = JSON.parse(b.out) as EvaluationReport;
    printed = ra;
    expect(ra.schemaVersion).toBe(1);
    expect(ra.dataset).toBe('shop');
    expect(ra.holdout).toEqual({ start: '2023-09-01', end: '2023-12-21' });
    // clv: three purchase models, value, P(alive), conversion, decisive moment; learned: churn (trees, purchase model), conversion, value.
    expect(ra.scores.map((s) => s.kind)).toEqual(['count', 'count', 'count', 'value', 'probability', 'probability', 'decisive-moment', 'probability', 'probability', 'probability', 'value']);
    const strip = (r: EvaluationReport): unknown => ({ ...r, generatedAt: '' });
    expect(strip(rb)).toEqual(strip(ra));
  });

  it('exits 2 on a bad or contradictory split, 7 without data, 4 without a store, with --json error records', async () => {
    expect((await kairos('evaluate', '--holdout', '3x')).code).toBe(EXIT_CODES.USAGE);
    expect((await kairos('evaluate', '--calibration-end', '2023-08-31', '--as-of', '2023-09-01')).code).toBe(EXIT_CODES.USAGE);
    expect((await kairos('evaluate', '--holdout', '10d', '--horizon', '12d')).code).toBe(EXIT_CODES.USAGE);
    const late = await kairos('--json', 'evaluate', '--calibration-end', '2023-08-31', '--holdout', '52w');
    expect(late.code).toBe(EXIT_CODES.USAGE);
    expect(JSON.parse(late.out)).toMatchObject({ error: { code: 'USAGE', hint: expect.stringMatching(/--holdout \d+d or less/) } });
    expect((await kairos('evaluate', '--calibration-end', '2022-12-01')).code).toBe(EXIT_CODES.INSUFFICIENT_DATA);

    const missing = capture();
    expect(await main(['--db', join(dir, 'nope.duckdb'), 'evaluate'], missing)).toBe(EXIT_CODES.NOT_FOUND);
    expect(existsSync(join(dir, 'nope.duckdb'))).toBe(false);

    const emptyDb = join(dir, 'empty.duckdb');
    (await Store.open(emptyDb)).close(); // an empty store
    const empty = capture();
    expect(await main(['--db', emptyDb, 'evaluate'], empty)).toBe(EXIT_CODES.INSUFFICIENT_DATA);
    expect(empty.stderr.join('\n')).toMatch(/hint: run `kairos ingest/);
  });

  it('keeps each report in the store (the one --json printed, its grades listed), and none with --no-save', async () => {
    const store = await Store.open(db, { readOnly: true });
    try {
      // The HTML test's and the --json test's first run; not its --no-save run nor the failed ones.
      expect(Number(await store.value('SELECT count(*) FROM evaluations'))).toBe(2);
      const { getEvaluation } = await import('../../evaluate/stored.js');
      const kept = await getEvaluation(store, 2);
      expect(kept.report).toEqual(printed);
      expect(kept.entry.grades).toEqual(printed?.scores.map((s) => ({ score: s.name, grade: s.grade.grade })));
      expect(kept.entry).toMatchObject({ dataset: 'shop', calibrationEnd: '2023-08-31', holdout: { start: '2023-09-01', end: '2023-12-21' }, customers: 400 });
    } finally {
      store.close();
    }
  });

  it('is listed in --help', async () => {
    const r = await kairos('--help');
    expect(r.out).toContain('evaluate');
  });
});
