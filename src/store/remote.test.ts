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

  it('exposes columns of 45,001 rows sent in parts, whole and in order, to the queries that follow', async () => {
    const remote = new RemoteStore(':memory:', channel.port2).asStore();
    const parts: number[] = [];
    channel.port1.on('message', (m: { kind: string; method?: string; args?: [string, { values: unknown[] }[]] }) => {
      if (m.kind === 'call' && m.method === 'exposeColumnsPart') parts.push(m.args?.[1][0]?.values.length ?? -1);
    });
    const n = 45_001;
    const ids = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `r${i}`));
    const k = Int32Array.from({ length: n }, (_, i) => i * 3);
    remote.exposeColumns('vals', [
      { name: 'id', type: 'VARCHAR', values: ids },
      { name: 'k', type: 'INTEGER', values: k },
    ]);
    const rows = await remote.all<{ id: string | null; k: number }>('SELECT id, k FROM vals()');
    expect(parts).toEqual([20_000, 20_000, 5_001]);
    expect(rows).toHaveLength(n);
    for (const i of [0, 19_999, 20_000, 40_000, 45_000]) expect(rows[i], String(i)).toEqual({ id: ids[i], k: k[i] });
    remote.releaseColumns('vals');
  });
});
