import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import type { Store } from '../store/db.js';
import { toyStore } from '../testing/toy-scorers.js';
import { buildSnapshot, eraseFromSnapshot, flushWhileWritten, readSnapshotMeta, removeSnapshot, ServingSnapshot, snapshotFiles, snapshotKey } from './lookup.js';
import { DEFAULT_REGISTRY } from './registry.js';
import { customerScoresRow, storedResults } from './results.js';
import { runScores } from './run.js';

let dir: string;
let store: Store;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-lookup-'));
  store = await toyStore(dir, join(dir, 'k.duckdb'));
  await runScores(store, { config: DEFAULT_CONFIG, asOf: '2023-10-01', scorers: ['rfm'] });
  key = await snapshotKey(store, DEFAULT_REGISTRY, await storedResults(store, DEFAULT_REGISTRY));
});

afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ids = async (): Promise<string[]> =>
  (await store.all<{ customer_id: string }>('SELECT customer_id FROM customer_scores WHERE run_id IS NOT NULL ORDER BY customer_id')).map((r) => r.customer_id);

describe('the serving snapshot', () => {
  it('holds one line per scored customer, made once per published state, and reads them as the store does', async () => {
    const made = await buildSnapshot(store, DEFAULT_REGISTRY, store.path);
    const scored = await ids();
    expect(made?.rows).toBe(scored.length);
    expect(made?.key).toBe(key);
    expect(await buildSnapshot(store, DEFAULT_REGISTRY, store.path)).toBeNull();
    const snapshot = ServingSnapshot.open(store.path, DEFAULT_REGISTRY, key) as ServingSnapshot;
    try {
      expect(snapshot.size).toBe(scored.length);
      for (const id of scored.slice(0, 20)) expect(JSON.stringify(snapshot.get(id)?.row), id).toBe(JSON.stringify(await customerScoresRow(store, DEFAULT_REGISTRY, id)));
      // Another published state (or another store whose runs have the same ids): not this snapshot.
      expect(ServingSnapshot.open(store.path, DEFAULT_REGISTRY, `${key}x`)).toBeNull();
    } finally {
      snapshot.close();
    }
  });

  it('erases a line on disk, from an open snapshot and from the file alone, and leaves the others as they were', async () => {
    const [first, second, third] = await ids();
    const file = snapshotFiles(store.path).data;
    const before = readFileSync(file, 'utf8');
    expect(before).toContain(`"${first}"`);
    const snapshot = ServingSnapshot.open(store.path, DEFAULT_REGISTRY, key) as ServingSnapshot;
    try {
      const kept = JSON.stringify(snapshot.get(third as string));
      expect(snapshot.erase(first as string)).toBe(true);
      expect(snapshot.erase(first as string)).toBe(false);
      expect(snapshot.get(first as string)).toBeUndefined();
      expect(JSON.stringify(snapshot.get(third as string))).toBe(kept);
    } finally {
      snapshot.close();
    }
    // Without a server (kairos erase): found by reading the file.
    expect(eraseFromSnapshot(store.path, second as string)).toBe(true);
    expect(eraseFromSnapshot(store.path, second as string)).toBe(false);
    const after = readFileSync(file, 'utf8');
    expect(after.length).toBe(before.length);
    expect(after).not.toContain(`"${first}"`);
    expect(after).not.toContain(`"${second}"`);
    // Still a snapshot of that state (its size is what it says), with the two lines gone.
    const reopened = ServingSnapshot.open(store.path, DEFAULT_REGISTRY, key) as ServingSnapshot;
    try {
      expect(reopened.size).toBe((await ids()).length - 2);
      expect(reopened.has(second as string)).toBe(false);
      expect(reopened.has(third as string)).toBe(true);
    } finally {
      reopened.close();
    }
  });

  it('leaves to the store a line it cannot read as written, and is no snapshot once its files disagree', async () => {
    const files = snapshotFiles(store.path);
    const [, , third, fourth] = await ids();
    const text = readFileSync(files.data, 'utf8');
    // A number JSON has no word for (DuckDB writes NaN bare), of the same length: the line is left to the store.
    const line = text.split('\n').find((l) => l.includes(`"${fourth}"`)) as string;
    const broken = line.replace(',null', ',NaN ');
    expect(broken).not.toBe(line);
    expect(broken.length).toBe(line.length);
    writeFileSync(files.data, text.replace(line, broken));
    const snapshot = ServingSnapshot.open(store.path, DEFAULT_REGISTRY, key) as ServingSnapshot;
    try {
      expect(snapshot.has(fourth as string)).toBe(true);
      expect(snapshot.get(fourth as string)).toBeUndefined();
      expect(snapshot.get(third as string)?.row['customer_id']).toBe(third);
    } finally {
      snapshot.close();
    }
    // Lines of another length than the description says (cut short, written over): not a snapshot.
    writeFileSync(files.data, text.slice(0, -10));
    expect(readSnapshotMeta(store.path)).toBeNull();
    expect(ServingSnapshot.open(store.path, DEFAULT_REGISTRY, key)).toBeNull();
    removeSnapshot(store.path);
    expect(readSnapshotMeta(store.path)).toBeNull();
    // Made again from the store.
    expect((await buildSnapshot(store, DEFAULT_REGISTRY, store.path))?.rows).toBe((await ids()).length);
  });
  it('finds ids with quotes, backslashes and letters outside ASCII, opened at once or in turns', async () => {
    const odd = ['Q"1', 'B\\2', 'Zoé', '雪-3'];
    const [model] = await ids();
    const run = Number(await store.value('SELECT max(run_id) FROM scores_rfm'));
    for (const id of odd) {
      await store.run(`INSERT INTO customers SELECT * REPLACE (? AS customer_id) FROM customers WHERE customer_id = ?`, [id, model as string]);
      await store.run(`INSERT INTO scores_rfm SELECT * REPLACE (? AS customer_id) FROM scores_rfm WHERE customer_id = ? AND run_id = ?`, [id, model as string, run]);
    }
    try {
      removeSnapshot(store.path);
      await buildSnapshot(store, DEFAULT_REGISTRY, store.path);
      const atOnce = ServingSnapshot.open(store.path, DEFAULT_REGISTRY, key) as ServingSnapshot;
      const inTurns = (await ServingSnapshot.openInTurns(store.path, DEFAULT_REGISTRY, key)) as ServingSnapshot;
      try {
        expect(inTurns.size).toBe(atOnce.size);
        for (const id of [...odd, model as string]) {
          expect(atOnce.get(id)?.row['customer_id'], id).toBe(id);
          expect(inTurns.get(id)?.row['customer_id'], id).toBe(id);
          expect(JSON.stringify(atOnce.get(id)?.row), id).toBe(JSON.stringify(await customerScoresRow(store, DEFAULT_REGISTRY, id)));
        }
        expect(inTurns.get('Zoe')).toBeUndefined();
      } finally {
        atOnce.close();
        inTurns.close();
      }
    } finally {
      for (const id of odd) {
        await store.run('DELETE FROM scores_rfm WHERE customer_id = ?', [id]);
        await store.run('DELETE FROM customers WHERE customer_id = ?', [id]);
      }
      removeSnapshot(store.path);
    }
  });
});

describe('flushWhileWritten', () => {
  const openFds = (): number => readdirSync('/proc/self/fd').length;
  const descriptorsOf = (file: string): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false;
      }
    }).length;

  it('holds the file from the moment it appears, to sync it while it is written, and no descriptor once stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-flush-'));
    try {
      const file = join(dir, 'data.part');
      const before = openFds();
      const flushing = flushWhileWritten(file);
      // Not there at first (the writer has not opened it), then written in steps.
      await new Promise((wait) => setTimeout(wait, 150));
      const fd = openSync(file, 'w');
      for (let i = 0; i < 5; i++) {
        writeSync(fd, Buffer.alloc(64 * 1024, 0x61));
        await new Promise((wait) => setTimeout(wait, 60));
      }
      // The writer's descriptor and the flusher's.
      expect(descriptorsOf(file)).toBe(2);
      closeSync(fd);
      await flushing.stop();
      expect(descriptorsOf(file)).toBe(0);
      expect(openFds()).toBe(before);
      expect(statSync(file).size).toBe(5 * 64 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops at once when the file never appeared', async () => {
    const before = openFds();
    const flushing = flushWhileWritten(join(tmpdir(), `kairos-never-${process.pid}-${Date.now()}`));
    await new Promise((wait) => setTimeout(wait, 250));
    await flushing.stop();
    expect(openFds()).toBe(before);
  });
});
