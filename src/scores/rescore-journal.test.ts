// The rescoring journal: durable before the answer, in the store behind it, replayed after a crash, newest wins, erasures leave nothing.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../store/db.js';
import { JOURNAL_FLUSH, journalFiles, readJournal, replayJournal, RescoreJournal } from './rescore-journal.js';
import type { Rescored } from './rescore.js';

let dir: string;
let db: string;
let store: Store;
let journal: RescoreJournal | null;
const warnings: string[] = [];

function rescoring(customerId: string, at: string, pAlive: number, runId = 1): Rescored {
  return {
    customerId,
    runId,
    model: 'bg-nbd',
    rescoredAt: at,
    observedTo: '2024-03-01',
    summary: { x: 2, tx: 30, T: 60, m: 25.5 },
    scores: { p_alive: pAlive, last_order_date: '2024-03-01', frequency: 3, clv_12m: 120.25 },
    previous: { p_alive: 0.1 },
  };
}

/** The store's rows: customer, run, p_alive, rescored_at. */
async function stored(): Promise<{ customer_id: string; run_id: number; p_alive: number; at: string }[]> {
  return store.all(
    `SELECT customer_id, run_id, p_alive, strftime(rescored_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS at FROM rescored_scores ORDER BY customer_id`,
  );
}

function open(): RescoreJournal {
  journal = new RescoreJournal(db, (fn) => fn(store), (_level, _details, message) => warnings.push(message));
  return journal;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-journal-'));
  db = join(dir, 'k.duckdb');
  store = await Store.open(db);
  journal = null;
  warnings.length = 0;
});

afterEach(async () => {
  await journal?.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RescoreJournal', () => {
  it('makes a rescoring durable in its file before save resolves, then moves it into the store and deletes the file', async () => {
    const j = open();
    const kept = await j.save([rescoring('A', '2024-03-02T10:00:00.000Z', 0.8)]);
    expect(kept.map((r) => r.customerId)).toEqual(['A']);
    // Answered: in the journal file (what a kill -9 now would leave), maybe not yet in the store.
    const files = journalFiles(db);
    expect(files).toHaveLength(1);
    expect(readJournal(files[0] as string).rows.map((r) => r.customerId)).toEqual(['A']);
    expect(j.pending('A')?.scores['p_alive']).toBe(0.8);
    await j.settle();
    expect(journalFiles(db)).toEqual([]);
    expect(j.pending('A')).toBeUndefined();
    expect(await stored()).toEqual([{ customer_id: 'A', run_id: 1, p_alive: 0.8, at: '2024-03-02T10:00:00.000Z' }]);
  });

  it('groups the rescorings that arrive together into one append, and moves them into the store after JOURNAL_FLUSH.ms without being asked', async () => {
    const j = open();
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => j.save([rescoring(`C${i}`, '2024-03-02T10:00:00.000Z', i / 100)])));
    expect(all.flat()).toHaveLength(50);
    const deadline = Date.now() + 20 * JOURNAL_FLUSH.ms;
    // The file is deleted just after its transaction commits: a query may see the rows a moment before.
    while (((await stored()).length < 50 || journalFiles(db).length > 0) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
    expect(await stored()).toHaveLength(50);
    expect(journalFiles(db)).toEqual([]);
  });

  it("keeps each customer's newest rescoring, in a group, across groups and against the store", async () => {
    const j = open();
    await j.save([rescoring('A', '2024-03-02T10:00:02.000Z', 0.7), rescoring('A', '2024-03-02T10:00:01.000Z', 0.6)]);
    expect(j.pending('A')?.scores['p_alive']).toBe(0.7);
    await j.settle();
    // Computed before the stored one (an API rescoring overtaken by an ingest's), written after it: not kept.
    await j.save([rescoring('A', '2024-03-02T10:00:00.000Z', 0.5)]);
    await j.settle();
    expect((await stored()).map((r) => r.p_alive)).toEqual([0.7]);
    await j.save([rescoring('A', '2024-03-02T10:00:03.000Z', 0.9)]);
    await j.settle();
    expect((await stored()).map((r) => r.p_alive)).toEqual([0.9]);
  });

  it("refuses an erased customer's rescorings computed before the erasure ended, and moves the others into the store first", async () => {
    const j = open();
    await j.save([rescoring('A', '2024-03-02T10:00:00.000Z', 0.8), rescoring('B', '2024-03-02T10:00:00.000Z', 0.3)]);
    const before = new Date(Date.now() - 1).toISOString();
    await j.erasing('A');
    // Everything answered is in the store (where the erasure's transaction deletes A's row); no file is left.
    expect(journalFiles(db)).toEqual([]);
    expect((await stored()).map((r) => r.customer_id)).toEqual(['A', 'B']);
    expect(await j.save([rescoring('A', new Date().toISOString(), 0.1)])).toEqual([]);
    await store.run(`DELETE FROM rescored_scores WHERE customer_id = 'A'`);
    j.erased('A');
    expect(await j.save([rescoring('A', before, 0.2)])).toEqual([]);
    await new Promise((ok) => setTimeout(ok, 5));
    // A customer of the same id, ingested again and rescored after the erasure: kept.
    expect(await j.save([rescoring('A', new Date().toISOString(), 0.4)])).toHaveLength(1);
    await j.settle();
    expect((await stored()).map((r) => [r.customer_id, r.p_alive])).toEqual([
      ['A', 0.4],
      ['B', 0.3],
    ]);
  });
});

describe('replayJournal', () => {
  it('moves what a killed server left into the store, in order, leaves out a line cut short, and deletes the files', async () => {
    const line = (r: Rescored): string =>
      `${JSON.stringify({ c: r.customerId, r: r.runId, m: r.model, at: r.rescoredAt, to: r.observedTo, s: r.summary, v: r.scores })}\n`;
    appendFileSync(`${db}.rescored-3.ndjson`, line(rescoring('A', '2024-03-02T10:00:00.000Z', 0.5)) + line(rescoring('B', '2024-03-02T10:00:00.000Z', 0.3)));
    appendFileSync(`${db}.rescored-12.ndjson`, line(rescoring('A', '2024-03-02T10:00:05.000Z', 0.6)) + '{"c":"C","r":1,"m":"bg-n');
    expect(journalFiles(db).map((f) => f.slice(db.length))).toEqual(['.rescored-3.ndjson', '.rescored-12.ndjson']);
    // A server refuses to start over files it has not replayed.
    expect(() => open()).toThrow(/replayJournal/);
    journal = null;
    expect(await replayJournal(store, db)).toEqual({ files: 2, rows: 3, torn: 1 });
    expect(journalFiles(db)).toEqual([]);
    expect((await stored()).map((r) => [r.customer_id, r.p_alive])).toEqual([
      ['A', 0.6],
      ['B', 0.3],
    ]);
    expect(await replayJournal(store, db)).toBeNull();
  });

  it("writes the journal's lines as readJournal reads them", async () => {
    const j = open();
    const r = rescoring('Z', '2024-03-02T10:00:00.000Z', 0.25);
    // The first append opens the file; its lines are read before the store has them, as after a kill -9.
    await j.save([r]);
    const file = journalFiles(db)[0] as string;
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(readJournal(file)).toEqual({ rows: [{ ...r, previous: {} }], torn: 0 });
    await j.settle();
    expect(existsSync(file)).toBe(false);
  });
});
