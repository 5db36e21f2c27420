// `kairos segment` through main(argv): create (checked, sized), list, show with its size at each run, export for a CRM, delete, and errors that point at the place.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../errors.js';
import { CRM_DEFAULT_COLUMNS } from '../../scores/export.js';
import { writeFixtureOrders } from '../../testing/orders-fixture.js';
import { Store } from '../../store/db.js';
import { runCli } from '../../testing/cli.js';

let dir: string;
let db: string;
const kairos = (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runCli(db, argv);

/** Customers of customer_scores matching a condition written by hand in SQL: what the segment must hold. */
async function count(where: string): Promise<number> {
  const store = await Store.open(db, { readOnly: true });
  try {
    return Number(await store.value(`SELECT count(*) FROM customer_scores WHERE ${where}`));
  } finally {
    store.close();
  }
}

const FILTER = `frequency >= 2 and rfm_segment in ('Champions', "Can't lose them", 'At risk') and monetary > 1`;
const SQL = `frequency >= 2 AND rfm_segment IN ('Champions', 'Can''t lose them', 'At risk') AND monetary > 1`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-cli-segment-'));
  db = join(dir, 'shop.duckdb');
  const orders = writeFixtureOrders(dir);
  expect((await kairos('--quiet', 'ingest', 'orders', orders, '--rejects-dir', dir)).code).toBe(0);
  expect((await kairos('--quiet', 'score', '--scorer', 'rfm', '--as-of', '2023-10-01')).code).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kairos segment', () => {
  it('creates a segment, says its size now, and refuses the same name without --replace', async () => {
    const want = await count(SQL);
    expect(want).toBeGreaterThan(0);
    const r = await kairos('--json', 'segment', 'create', 'keepers', '--filter', FILTER, '--description', 'worth keeping');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ segment: { name: 'keepers', filter: FILTER, description: 'worth keeping' }, customers: want });
    const again = await kairos('segment', 'create', 'keepers', '--filter', 'frequency >= 1');
    expect(again.code).toBe(EXIT_CODES.USAGE);
    expect(again.err).toMatch(/segment "keepers" exists already/);
    expect((await kairos('segment', 'create', 'anyone', '--filter', 'frequency >= 0')).out).toMatch(/segment "anyone" created: [\d,]+ customers now/);
  });

  it('points at a typo in the filter with the usage exit code and suggests the column', async () => {
    const r = await kairos('segment', 'create', 'typo', '--filter', 'clv_12m > 200 and churn_rsk > 0.6');
    expect(r.code).toBe(EXIT_CODES.USAGE);
    expect(r.err).toContain('unknown column "churn_rsk" (at character 19)');
    expect(r.err).toMatch(/hint: did you mean .*churn_risk/);
    expect((await kairos('segment', 'show', 'typo')).code).toBe(EXIT_CODES.NOT_FOUND);
  });

  it("records every segment's size at each run, shown with the history", async () => {
    expect((await kairos('--quiet', 'score', '--scorer', 'rfm', '--as-of', '2023-12-01')).code).toBe(0);
    const r = await kairos('--json', 'segment', 'show', 'keepers');
    const shown = JSON.parse(r.out) as { customers: number; history: { runId: number; asOf: string; customers: number }[]; sample: string[] };
    expect(shown.customers).toBe(await count(SQL));
    expect(shown.history.map((h) => h.asOf)).toEqual(['2023-12-01']);
    expect(shown.history[0]?.customers).toBe(shown.customers);
    expect(shown.sample.length).toBe(Math.min(10, shown.customers));
    const list = JSON.parse((await kairos('--json', 'segment', 'list')).out) as { name: string; customers: number; at_last_run: number }[];
    expect(list.map((s) => s.name)).toEqual(['anyone', 'keepers']);
    expect(list[1]).toMatchObject({ customers: shown.customers, at_last_run: shown.customers });
  });

  it('exports the customers of a segment with the chosen columns, in that order', async () => {
    const file = join(dir, 'keepers.csv');
    const r = await kairos('segment', 'export', 'keepers', '--columns', 'customer_id,monetary,rfm_segment', '--out', file);
    expect(r.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('customer_id,monetary,rfm_segment');
    expect(lines.length - 1).toBe(await count(SQL));
    expect(r.out).toMatch(/wrote [\d,]+ customers of segment "keepers" x 3 columns/);
  });

  it('--crm writes the wide table for a CRM: chosen flat columns, attribute keys as attribute_KEY, ISO timestamps; refuses JSON', async () => {
    const file = join(dir, 'keepers-crm.csv');
    const r = await kairos('segment', 'export', 'keepers', '--crm', '--columns', 'customer_id,created_at,attributes.tier,rfm_segment', '--out', file);
    expect(r.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('customer_id,created_at,attribute_tier,rfm_segment');
    expect(lines.length - 1).toBe(await count(SQL));
    for (const line of lines.slice(1)) expect(line.split(',')[1]).toMatch(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)?$/);
    const json = await kairos('segment', 'export', 'keepers', '--crm', '--columns', 'customer_id,attributes', '--out', join(dir, 'x.csv'));
    expect(json.code).toBe(EXIT_CODES.USAGE);
    expect(json.err).toMatch(/column attributes is a JSON, not one value per customer[\s\S]*attributes\.KEY/);
    const defaults = await kairos('segment', 'export', 'keepers', '--crm', '--out', join(dir, 'default-crm.csv'));
    expect(defaults.code).toBe(0);
    expect(readFileSync(join(dir, 'default-crm.csv'), 'utf8').split('\n')[0]).toBe(CRM_DEFAULT_COLUMNS.join(','));
  });

  it('lists the filterable columns and deletes a segment, keeping its sizes as history', async () => {
    const columns = JSON.parse((await kairos('--json', 'segment', 'columns')).out) as { name: string; type: string }[];
    expect(columns).toEqual(expect.arrayContaining([{ name: 'clv_12m', type: 'number' }, { name: 'rfm_segment', type: 'text' }]));
    expect(columns.find((c) => c.name === 'attributes')).toBeUndefined();
    expect((await kairos('segment', 'delete', 'anyone')).code).toBe(0);
    expect((await kairos('segment', 'show', 'anyone')).code).toBe(EXIT_CODES.NOT_FOUND);
    const store = await Store.open(db, { readOnly: true });
    try {
      expect(Number(await store.value(`SELECT count(*) FROM segment_sizes WHERE segment = 'anyone'`))).toBe(1);
    } finally {
      store.close();
    }
  });

  it("kairos drift prints each score's index since the previous run, with the largest moves between RFM segments", async () => {
    const r = await kairos('drift');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^run \d+: drift of each score since its scorer's previous run/);
    expect(r.out).toMatch(/monetary\s+rfm\s+[\d,]+\s+\d+\s+\d\.\d{3}\s+(stable|moderate shift|major shift)/);
    expect(r.out).toMatch(/rfm_segment, largest moves since run \d+: .+ -> .+: [\d,]+/);
    const json = JSON.parse((await kairos('--json', 'drift')).out) as { runId: number; scores: { column: string; summary: { previous: { psi: number } | null } }[] };
    expect(json.scores.find((x) => x.column === 'rfm_segment')?.summary.previous?.psi).toBeGreaterThanOrEqual(0);
    expect((await kairos('drift', '--run', '999')).code).toBe(EXIT_CODES.NOT_FOUND);
  });
});
