// The worker's store through a port (src/store/remote.ts): a large write arrives whole, in calls of a bounded size.
import { MessageChannel } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from './db.js';
import { hostStore, RemoteStore } from './remote.js';

let store: Store;
let channel: MessageChannel;
let unhost: () => void;

beforeEach(async () => {
  store = await Store.open(':memory:');
  channel = new MessageChannel();
  unhost = hostStore(store, channel.port1);
});

afterEach(() => {
  unhost();
  channel.port1.close();
  channel.port2.close();
  store.close();
});

describe('RemoteStore', () => {
  it('writes a table of 45,001 rows (more than one call) as the store itself would, in order, replacing the one before', async () => {
    const remote = new RemoteStore(':memory:', channel.port2).asStore();
    // The rows of each writeColumns call the host receives.
    const calls: number[] = [];
    channel.port1.on('message', (m: { kind: string; method?: string; args?: [string, { values: unknown[] }[]] }) => {
      if (m.kind === 'call' && m.method === 'writeColumns') calls.push(m.args?.[1][0]?.values.length ?? -1);
    });
    await remote.writeColumns('t', [{ name: 'id', type: 'VARCHAR', values: ['old'] }]);
    const n = 45_001;
    const ids = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : `c${i}`));
    const values = Float64Array.from({ length: n }, (_, i) => i / 4);
    await remote.writeColumns('t', [
      { name: 'id', type: 'VARCHAR', values: ids },
      { name: 'v', type: 'DOUBLE', values },
    ]);
    expect(calls).toEqual([1, 20_000, 20_000, 5_001]);
    const rows = await store.all<{ id: string | null; v: number }>('SELECT id, v FROM t');
    expect(rows).toHaveLength(n);
    // The rows at the calls' edges (20,000 rows each), in the order written.
    for (const i of [0, 1, 19_999, 20_000, 20_001, 39_999, 40_000, 45_000]) expect(rows[i], String(i)).toEqual({ id: ids[i], v: values[i] });
    expect(await store.value('SELECT sum(v) FROM t')).toBe(values.reduce((a, b) => a + b, 0));
  });

  it('exposes columns of 45,001 rows in parts, each sent once the one before is answered, whole and in order to the queries that follow', async () => {
    const remote = new RemoteStore(':memory:', channel.port2).asStore();
    const parts: number[] = [];
    // The texts of each part arrive as one string (PackedTexts), the numbers as a typed array of the part's rows.
    const shapes = new Set<string>();
    channel.port1.on('message', (m: { kind: string; method?: string; args?: [string, { packed?: { rows: number; text: unknown }; values?: unknown }[]] }) => {
      if (m.kind !== 'call' || m.method !== 'exposeColumnsPart') return;
      const [id, k] = m.args?.[1] ?? [];
      parts.push(id?.packed?.rows ?? -1);
      shapes.add(`${typeof id?.packed?.text} ${k?.values instanceof Int32Array ? (k.values as Int32Array).length : -1}`);
    });
    // What the worker's end posts, in order, and whether every call before it had its answer at that moment.
    const answered = new Set<number>();
    channel.port2.on('message', (m: { kind: string; id: number }) => {
      if (m.kind === 'reply') answered.add(m.id);
    });
    const posted: { method: string; allAnswered: boolean }[] = [];
    const post = channel.port2.postMessage.bind(channel.port2);
    channel.port2.postMessage = (m: { id: number; method: string }) => {
      posted.push({ method: m.method, allAnswered: Array.from({ length: m.id - 1 }, (_, i) => i + 1).every((id) => answered.has(id)) });
      post(m);
    };
    const n = 45_001;
    const ids = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i % 7 === 0 ? '' : `r${i}·é🙂`));
    const k = Int32Array.from({ length: n }, (_, i) => i * 3);
    // Numbers in a plain array, nulls among them, as some scorers expose them.
    const d = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : i / 8));
    remote.exposeColumns('vals', [
      { name: 'id', type: 'VARCHAR', values: ids },
      { name: 'k', type: 'INTEGER', values: k },
      { name: 'd', type: 'DOUBLE', values: d },
    ]);
    const rows = await remote.all<{ id: string | null; k: number; d: number | null }>('SELECT id, k, d FROM vals()');
    expect(parts).toEqual([20_000, 20_000, 5_001]);
    expect([...shapes]).toEqual(['string 20000', 'string 5001']);
    // The query, made at once, went behind the last part; no part went before the previous one was taken.
    expect(posted).toEqual([
      { method: 'exposeColumnsPart', allAnswered: true },
      { method: 'exposeColumnsPart', allAnswered: true },
      { method: 'exposeColumnsPart', allAnswered: true },
      { method: 'all', allAnswered: true },
    ]);
    expect(rows).toHaveLength(n);
    for (const i of [0, 1, 7, 19_999, 20_000, 20_013, 40_000, 45_000]) expect(rows[i], String(i)).toEqual({ id: ids[i], k: k[i], d: d[i] });
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.map((r) => r.d)).toEqual(d);
    remote.releaseColumns('vals');
  });
});
