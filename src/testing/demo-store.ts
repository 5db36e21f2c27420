// A store holding a small generated demo retailer (customers, orders, events), for the tests that compare scores with its latent truth.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRetailerFiles } from '../demo/generate.js';
import { ingest } from '../ingest/ingest.js';
import { Store } from '../store/db.js';

/** An open demo store, its folder and files; `close()` closes the store (once), `remove()` closes it and deletes the folder. */
export interface DemoStore {
  readonly store: Store;
  readonly dir: string;
  readonly path: string;
  readonly files: ReturnType<typeof writeRetailerFiles>;
  close(): void;
  remove(): void;
}

/**
 * Generates `customers` demo customers with `seed` and ingests them (products left out) into a fresh store in a
 * temporary folder: for a suite that shares one store across its tests (beforeAll / afterAll).
 */
export async function openDemoStore(options: { customers: number; seed: number }): Promise<DemoStore> {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-demo-store-'));
  const path = join(dir, 'k.duckdb');
  const store = await Store.open(path);
  let closed = false;
  const close = (): void => {
    if (!closed) store.close();
    closed = true;
  };
  const remove = (): void => {
    close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const files = writeRetailerFiles(join(dir, 'demo'), options);
    const now = new Date('2030-01-01T00:00:00Z');
    for (const entity of ['customers', 'orders', 'events'] as const) await ingest(store, { entity, files: [files.paths[entity]], rejectsDir: dir, now });
    return { store, dir, path, files, close, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/**
 * Generates `customers` demo customers with `seed`, ingests them (products left out) into a fresh store and runs `fn`
 * with the store, the generated files and a lister of the connection's temp tables; removes everything after.
 */
export async function withDemoStore<T>(
  options: { customers: number; seed: number },
  fn: (store: Store, files: ReturnType<typeof writeRetailerFiles>, temporaryTables: () => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const demo = await openDemoStore(options);
  try {
    return await fn(demo.store, demo.files, () => demo.store.all('SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1'));
  } finally {
    demo.remove();
  }
}
