import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lockHolder, type LockHolder } from '../testing/child.js';
import { memoryBytes, Store, type StoreBusy } from './db.js';

describe('Store row mapping (toJs)', () => {
  it('maps JSON to parsed values, LIST to arrays, MAP to objects and STRUCT to objects, with numbers as numbers', async () => {
    const store = await Store.open(':memory:');
    try {
      const row = await store.one(
        `SELECT '{"a": [1, 2]}'::JSON AS j, ['p1', 'p7'] AS l, MAP {'Home': 0.4, 'Toys': 0.125}::MAP(VARCHAR, DOUBLE) AS m,
           {'key': 'p1', 'value': 2.5::DOUBLE} AS s, MAP {}::MAP(VARCHAR, DOUBLE) AS e, NULL::MAP(VARCHAR, DOUBLE) AS n, 1.5::DECIMAL(3, 1) AS d`,
      );
      expect(row).toEqual({ j: { a: [1, 2] }, l: ['p1', 'p7'], m: { Home: 0.4, Toys: 0.125 }, s: { key: 'p1', value: 2.5 }, e: {}, n: null, d: 1.5 });
    } finally {
      store.close();
    }
  });
});

describe('Store typed column I/O', () => {
  let store: Store;
  beforeEach(async () => {
    store = await Store.open(':memory:');
  });
  afterEach(() => store.close());

  it('readColumns reads across chunks: numbers as Float64Array (NULL -> NaN), VARCHAR as strings (NULL -> "")', async () => {
    const n = 5000; // more than two DuckDB chunks of 2048 rows
    const { numbers, texts } = await store.readColumns(
      `SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE 'c' || i END AS id, CASE WHEN i % 5 = 0 THEN NULL ELSE i / 4 END AS d,
         i::INTEGER AS k, i::BIGINT * 3 AS big, (i % 2 = 0) AS flag FROM range(?) r(i) ORDER BY i`,
      [n],
    );
    expect(Object.keys(numbers).sort()).toEqual(['big', 'd', 'flag', 'k']);
    expect(texts['id']).toHaveLength(n);
    expect(texts['id']?.[0]).toBe('');
    expect(texts['id']?.[4999]).toBe('c4999');
    const d = numbers['d'] as Float64Array;
    expect(d).toBeInstanceOf(Float64Array);
    expect(d.length).toBe(n);
    expect(Number.isNaN(d[0] as number)).toBe(true);
    expect(d[4999]).toBe(4999 / 4);
    expect(numbers['k']?.[4097]).toBe(4097);
    expect(numbers['big']?.[4097]).toBe(4097 * 3);
    expect(numbers['flag']?.[2]).toBe(1);
    expect(numbers['flag']?.[3]).toBe(0);
  });

  it('runScript runs statements in one transaction and one call: all of them, or none when one fails; inside a transaction, in it', async () => {
    await store.run('CREATE TABLE s (n INTEGER)');
    await store.runScript(['INSERT INTO s VALUES (1)', 'INSERT INTO s VALUES (2)']);
    expect(Number(await store.value('SELECT count(*) FROM s'))).toBe(2);
    await expect(store.runScript(['INSERT INTO s VALUES (3)', 'INSERT INTO nowhere VALUES (4)'])).rejects.toMatchObject({ code: 'STORE' });
    expect(Number(await store.value('SELECT count(*) FROM s'))).toBe(2);
    // Usable after the failure, and part of an enclosing transaction (rolled back with it).
    await expect(
      store.transaction(async () => {
        await store.runScript(['INSERT INTO s VALUES (5)']);
        expect(Number(await store.value('SELECT count(*) FROM s'))).toBe(3);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(Number(await store.value('SELECT count(*) FROM s'))).toBe(2);
    await store.run('DROP TABLE s');
  });

  it('readNumberColumns streams DOUBLE columns across chunks (NULL -> NaN), with or without the row count', async () => {
    const n = 5000;
    const sql = `SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE i / 4 END AS d, (i * 3)::DOUBLE AS t FROM range(?) r(i) ORDER BY i`;
    for (const rows of [n, undefined]) {
      const c = await store.readNumberColumns(sql, [n], rows);
      const d = c['d'] as Float64Array;
      expect(d.length).toBe(n);
      expect(Number.isNaN(d[0] as number)).toBe(true);
      expect(Number.isNaN(d[4095] as number)).toBe(true);
      expect(d[4097]).toBe(4097 / 4);
      expect(d[4999]).toBe(4999 / 4);
      expect(Array.from(c['t'] as Float64Array).every((v, i) => v === i * 3)).toBe(true);
    }
    expect((await store.readNumberColumns('SELECT 1.5::DOUBLE AS v WHERE false'))['v']).toEqual(new Float64Array(0));
  });

  it('readNumberColumns refuses a non-DOUBLE column and a wrong row count, and leaves the store usable', async () => {
    await expect(store.readNumberColumns('SELECT 1::INTEGER AS k')).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(store.readNumberColumns('SELECT i::DOUBLE AS v FROM range(10) r(i)', [], 5)).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(store.readNumberColumns('SELECT i::DOUBLE AS v FROM range(10) r(i)', [], 20)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await store.value('SELECT 42 AS v')).toBe(42);
  });

  it('forEachChunk reads LIST columns chunk by chunk; a reader that throws leaves the store usable', async () => {
    const n = 5000;
    const sql = `SELECT list(j::INTEGER ORDER BY j) AS ints, list((j / 2)::DOUBLE ORDER BY j) AS reals FROM range(?) r(i), range(i % 4 + 1) s(j) GROUP BY i ORDER BY i`;
    let rows = 0;
    let items = 0;
    let wrong = 0;
    await store.forEachChunk(sql, [n], (chunk, count) => {
      const ints = chunk.intLists('ints');
      const reals = chunk.doubleLists('reals');
      for (let r = 0; r < count; r++) {
        const i = rows + r;
        if (ints.lengths[r] !== (i % 4) + 1 || reals.lengths[r] !== (i % 4) + 1) wrong++;
        for (let j = 0; j < (ints.lengths[r] as number); j++) {
          if (ints.values[(ints.offsets[r] as number) + j] !== j || reals.values[(reals.offsets[r] as number) + j] !== j / 2) wrong++;
          items++;
        }
      }
      rows += count;
    });
    expect({ rows, items, wrong }).toEqual({ rows: n, items: 2.5 * n, wrong: 0 });
    await expect(
      store.forEachChunk(sql, [n], (chunk) => {
        chunk.doubles('ints');
      }),
    ).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(
      store.forEachChunk(sql, [n], () => {
        throw new Error('reader failed');
      }),
    ).rejects.toThrow('reader failed');
    expect(await store.value('SELECT 42 AS v')).toBe(42);
  });

  it('refuses a statement issued while a result streams (DuckDB would silently end the stream)', async () => {
    const reading = store.readNumberColumns('SELECT i::DOUBLE AS v FROM range(100000) r(i)');
    await expect(store.run('SELECT 1')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect((await reading)['v']?.length).toBe(100_000);
  });

  it('exposeColumns lets SQL read JS columns across chunks by position (non-finite -> NULL), replaced or released', async () => {
    const n = 5000;
    await store.run('CREATE TEMP TABLE ids AS SELECT i, \'c\' || i AS id FROM range(?) r(i) ORDER BY i', [n]);
    const v = Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? Number.NaN : i / 2));
    const day = Float64Array.from({ length: n }, (_, i) => (i % 9 === 0 ? Number.POSITIVE_INFINITY : 19_000 + i));
    store.exposeColumns('js_cols', [
      { name: 'v', type: 'DOUBLE', values: v },
      { name: 'day', type: 'INTEGER', values: day },
    ]);
    const sql = `SELECT count(*) AS n, count(v) AS vs, sum(v) AS vsum, count(day) AS days, count(*) FILTER (WHERE day <> 19000 + i) AS misplaced,
      count(*) FILTER (WHERE v <> i / 2) AS wrong FROM ids POSITIONAL JOIN js_cols()`;
    let vsum = 0;
    for (const x of v) if (Number.isFinite(x)) vsum += x;
    expect(await store.one(sql)).toEqual({ n, vs: n - Math.ceil(n / 7), vsum, days: n - Math.ceil(n / 9), misplaced: 0, wrong: 0 });
    expect(store.exposesColumns('js_cols')).toBe(true);
    store.exposeColumns('js_cols', [{ name: 'w', type: 'DOUBLE', values: new Float64Array([1, 2, 3]) }]);
    expect(await store.one('SELECT count(*) AS n, sum(w) AS s FROM js_cols()')).toEqual({ n: 3, s: 6 });
    store.releaseColumns('js_cols');
    await expect(store.run('SELECT * FROM js_cols()')).rejects.toMatchObject({ code: 'STORE' });
    expect(() => store.exposeColumns('bad', [{ name: 'a', type: 'DOUBLE', values: new Float64Array(2) }, { name: 'b', type: 'DOUBLE', values: new Float64Array(3) }])).toThrow(
      /expected 2/,
    );
  });

  it('exposeColumns works again after a transaction that registered the function was rolled back (DuckDB drops it)', async () => {
    const values = new Float64Array([1, 2, 3]);
    await store.run('BEGIN TRANSACTION');
    store.exposeColumns('rolled_cols', [{ name: 'x', type: 'DOUBLE', values }]);
    expect(await store.value('SELECT sum(x) FROM rolled_cols()')).toBe(6);
    await store.run('ROLLBACK');
    store.exposeColumns('rolled_cols', [{ name: 'x', type: 'DOUBLE', values }]);
    expect(await store.value('SELECT sum(x) FROM rolled_cols()')).toBe(6);
    // Registered in a committed transaction: kept.
    await store.transaction(async () => store.exposeColumns('kept_cols', [{ name: 'x', type: 'DOUBLE', values }]));
    store.exposeColumns('kept_cols', [{ name: 'x', type: 'DOUBLE', values: new Float64Array([4]) }]);
    expect(await store.value('SELECT sum(x) FROM kept_cols()')).toBe(4);
    store.releaseColumns('rolled_cols');
    store.releaseColumns('kept_cols');
  });

  it('exposeColumns also exposes VARCHAR columns (null -> NULL), across chunks, beside numbers', async () => {
    const n = 5000;
    const keys = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : `p${i}`));
    store.exposeColumns('js_items', [
      { name: 'key', type: 'VARCHAR', values: keys },
      { name: 'rank', type: 'INTEGER', values: Float64Array.from({ length: n }, (_, i) => i + 1) },
    ]);
    expect(
      await store.one(
        `SELECT count(*) AS n, count(key) AS keys, count(*) FILTER (WHERE key <> 'p' || (rank - 1)) AS wrong, max(rank) AS top FROM js_items()`,
      ),
    ).toEqual({ n, keys: n - Math.ceil(n / 11), wrong: 0, top: n });
    store.releaseColumns('js_items');
  });

  it('readColumns of an empty result gives empty columns', async () => {
    const { numbers, texts } = await store.readColumns('SELECT 1.5 AS v, \'a\' AS s WHERE false');
    expect(numbers['v']).toEqual(new Float64Array(0));
    expect(texts['s']).toEqual([]);
  });

  it('writeColumns appends DOUBLE, INTEGER, VARCHAR and DATE columns across chunks; non-finite and null -> NULL', async () => {
    const n = 4500;
    const ids = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : `id${i}`));
    const d = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? Number.NaN : i % 13 === 0 ? Number.POSITIVE_INFINITY : i + 0.25));
    const k = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : i));
    const days = Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? Number.NaN : 19_000 + i));
    await store.writeColumns(
      't',
      [
        { name: 'id', type: 'VARCHAR', values: ids },
        { name: 'd', type: 'DOUBLE', values: d },
        { name: 'k', type: 'INTEGER', values: k },
        { name: 'day', type: 'DATE', values: days },
      ],
      { temporary: true },
    );
    const types = await store.all<{ column_name: string; column_type: string }>('SELECT column_name, column_type FROM (DESCRIBE t)');
    expect(types.map((t) => `${t.column_name} ${t.column_type}`)).toEqual(['id VARCHAR', 'd DOUBLE', 'k INTEGER', 'day DATE']);
    const stats = await store.one(
      `SELECT count(*) AS n, count(id) AS ids, count(d) AS ds, sum(d) AS dsum, count(k) AS ks, sum(k) AS ksum, count(day) AS days,
         min(day)::VARCHAR AS first_day FROM t`,
    );
    let dsum = 0;
    let ds = 0;
    for (const v of d) if (Number.isFinite(v)) (dsum += v), ds++;
    expect(stats).toEqual({
      n,
      ids: ids.filter((v) => v !== null).length,
      ds,
      dsum,
      ks: k.filter((v) => v !== null).length,
      ksum: k.reduce<number>((a, v) => a + (v ?? 0), 0),
      days: n - Math.ceil(n / 5),
      first_day: '2022-01-09', // day 19001 since 1970-01-01
    });
    const row = await store.one("SELECT id, d, k, day::VARCHAR AS day FROM t WHERE id = 'id4097'");
    expect(row).toEqual({ id: 'id4097', d: 4097.25, k: 4097, day: '2033-03-28' });
  });

  it('writeColumns refuses columns of different lengths', async () => {
    await expect(
      store.writeColumns('t', [
        { name: 'a', type: 'DOUBLE', values: new Float64Array(2) },
        { name: 'b', type: 'DOUBLE', values: new Float64Array(3) },
      ]),
    ).rejects.toThrow(/expected 2/);
  });
});

describe('Store.open and analyst queries', () => {
  it('creates no store when it must exist (or is opened read-only): NOT_FOUND with a hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-store-'));
    const file = join(dir, 'sub', 'missing.duckdb');
    for (const options of [{ mustExist: true }, { readOnly: true }]) {
      await expect(Store.open(file, options)).rejects.toMatchObject({ code: 'NOT_FOUND', message: `no store at ${file}`, hint: expect.stringMatching(/kairos ingest` or `kairos demo/) });
    }
    expect(existsSync(join(dir, 'sub'))).toBe(false);
  });

  it('readOnlyQuery limits by reading the first rows, so PRAGMA, SHOW and DESCRIBE work with a limit', async () => {
    const store = await Store.open(':memory:');
    try {
      expect((await store.readOnlyQuery('PRAGMA database_list', 5)).rows).toEqual([{ seq: expect.any(Number), name: 'memory', file: null }]);
      expect((await store.readOnlyQuery('SHOW TABLES', 1)).rows).toHaveLength(1);
      expect((await store.readOnlyQuery('DESCRIBE SELECT 1 AS one', 10)).columns).toContain('column_name');
      const range = await store.readOnlyQuery('SELECT range AS n FROM range(100000)', 3);
      expect(range.rows).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
      expect((await store.readOnlyQuery('SELECT range AS n FROM range(5000)')).rows).toHaveLength(5000);
    } finally {
      store.close();
    }
  });
});

describe('readers and writers: another process holds the store', () => {
  let other: LockHolder;
  let file: string;
  beforeAll(() => {
    other = lockHolder();
  });
  afterAll(() => other.stop());
  beforeEach(async () => {
    file = join(mkdtempSync(join(tmpdir(), 'kairos-locks-')), 'k.duckdb');
    (await Store.open(file)).close();
  });

  it('readers share it; a writer is BUSY at once without a wait, and opens once the readers are gone when it waits', async () => {
    await other.hold(file, 'read');
    try {
      (await Store.open(file, { readOnly: true })).close();
      await expect(Store.open(file)).rejects.toMatchObject({
        code: 'BUSY',
        message: expect.stringMatching(new RegExp(`^the store ${file} is in use: another process \\(PID ${other.pid}, .*\\) is reading it`)),
        hint: expect.stringMatching(/--wait SECONDS/),
      });
      const waits: StoreBusy[] = [];
      // Released when the writer says it waits: it then opens at one of its next tries.
      const store = await Store.open(file, { waitSeconds: 60, onWait: (busy) => void (waits.push(busy), other.release()) });
      store.close();
      expect(waits).toEqual([{ file, pid: other.pid, program: expect.any(String), holder: 'reading', waitSeconds: 60 }]);
    } finally {
      await other.release();
    }
  });

  it('a reader waits for a writer, and says how long it waited when the wait runs out', async () => {
    await other.hold(file, 'write');
    try {
      await expect(Store.open(file, { readOnly: true, waitSeconds: 1 })).rejects.toMatchObject({
        code: 'BUSY',
        message: expect.stringMatching(new RegExp(`^the store ${file} is still in use after 1 s: another process \\(PID ${other.pid}, .*\\) is writing to it`)),
        details: { file, holder: 'writing', pid: other.pid },
      });
      const store = await Store.open(file, { readOnly: true, waitSeconds: 60, onWait: () => void other.release() });
      expect(await store.value('SELECT count(*) FROM score_runs')).toBe(0);
      store.close();
    } finally {
      await other.release();
    }
  });

  it('a switchable store gives up its write lock while it reads, keeping its temp tables, and takes it back when readers are gone', async () => {
    let onWait: (busy: StoreBusy) => void = () => {};
    const store = await Store.open(file, { switchable: true, waitSeconds: 60, onWait: (busy) => onWait(busy) });
    try {
      await store.run('CREATE TEMP TABLE kept AS SELECT 42 AS answer');
      await expect(other.hold(file, 'read')).rejects.toThrow(/Could not set lock/);
      await store.setAccess('read');
      await expect(store.run('CREATE TABLE nope (x INTEGER)')).rejects.toThrow(/read-only mode/);
      await other.hold(file, 'read');
      try {
        const waits: StoreBusy[] = [];
        // Released when the store says it waits: it then takes the write lock at one of its next tries.
        onWait = (busy) => void (waits.push(busy), other.release());
        await store.setAccess('write');
        expect(waits).toMatchObject([{ holder: 'reading', pid: other.pid }]);
      } finally {
        await other.release();
      }
      expect(await store.value('SELECT answer FROM kept')).toBe(42);
      await store.run('CREATE TABLE written (x INTEGER)');
    } finally {
      store.close();
    }
  });
});

describe('memory limits', () => {
  it('reads sizes as DuckDB prints them', () => {
    expect(memoryBytes('244.1 MiB')).toBeCloseTo(244.1 * 2 ** 20, 0);
    expect(memoryBytes('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(memoryBytes('512MB')).toBe(512e6);
    expect(memoryBytes('lots')).toBeNaN();
  });

  it('raises the limit 4 times, never past 80% of the RAM', async () => {
    const store = await Store.open(':memory:', { memoryLimit: '100MB' });
    try {
      expect(await store.raiseMemoryLimit(4)).toEqual({ from: '95.3 MiB', to: '381.0 MiB' });
      await store.run("SET memory_limit = '100TB'");
      expect(await store.raiseMemoryLimit(4)).toBeNull();
    } finally {
      store.close();
    }
  });
});
