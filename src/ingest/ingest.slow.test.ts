// Slow ingest checks (npm run test:slow): inputs of tens of megabytes, refused whole with their line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../store/db.js';
import { quotedOrders, refusal, storeSnapshot } from '../testing/ingest-checks.js';
import { ingest } from './ingest.js';

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-ingest-slow-'));
  store = await Store.open(join(dir, 'k.duckdb'));
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('broken input is refused whole (large inputs)', () => {
  it("a quoted record longer than the reader's 32 MB buffer refuses the file, naming its line", async () => {
    const before = await storeSnapshot(store);
    // A 35 MB quoted field (560,000 lines of 63 bytes) on line 20,900 of the file.
    const note = `"${'note line, 63 bytes with its line break xxxxxxxxxxxxxxxxxxxxxxx\n'.repeat(560_000)}"`;
    const path = join(dir, 'quoted.csv');
    writeFileSync(path, quotedOrders(21_000, 20_900, `X3,${note},2024-01-02,4`));
    const err = await refusal(ingest(store, { entity: 'orders', files: [path] }));
    expect(err.message).toMatch(new RegExp(`^${path} line 20900: record longer than the reader's 33,554,432 bytes`));
    expect(await storeSnapshot(store)).toEqual(before);
  });
});
