// A tiny deterministic orders fixture for the evaluation tests: a seeded BG/NBD-like shop written as an orders CSV and ingested.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingest } from '../ingest/ingest.js';
import { Store } from '../store/db.js';

/** mulberry32: a 32-bit seeded generator, enough for fixtures and property tests (never for the models' simulators). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gamma(shape, rate) by Marsaglia-Tsang (shape < 1 boosted), normals by Box-Muller. */
function gamma(u: () => number, shape: number, rate: number): number {
  if (shape < 1) return gamma(u, shape + 1, rate) * Math.pow(u(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    if (Math.log(1 - u()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return (d * v) / rate;
  }
}

export interface FixtureOptions {
  customers: number;
  seed: number;
  /** First day of data (ISO). */
  start: string;
  /** Customers are acquired over [0, acquisitionDays); purchases are generated over [0, horizonDays). */
  acquisitionDays: number;
  horizonDays: number;
}

export const FIXTURE_DEFAULTS: FixtureOptions = { customers: 400, seed: 20240501, start: '2023-01-01', acquisitionDays: 120, horizonDays: 360 };

/** ISO timestamp of a fractional day since `start`. */
function stamp(start: string, day: number): string {
  return new Date(Date.parse(`${start}T00:00:00Z`) + Math.floor(day * 86_400) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The fixture's order lines (header included): per customer λ ~ Gamma(0.8, 20) purchases a day, dropout p ~ Beta(1, 3)
 * after each repeat purchase, order values ~ Gamma(4, ν) with ν ~ Gamma(5, 100); every 9th order has a partial return
 * ten days later. Deterministic for a seed.
 */
export function fixtureOrderLines(options: Partial<FixtureOptions> = {}): string[] {
  const o = { ...FIXTURE_DEFAULTS, ...options };
  const u = rng(o.seed);
  const lines = ['order_id,customer_id,ordered_at,amount,status'];
  let orders = 0;
  for (let c = 1; c <= o.customers; c++) {
    const id = `K${String(c).padStart(4, '0')}`;
    const lambda = gamma(u, 0.8, 20);
    const g1 = gamma(u, 1, 1);
    const p = g1 / (g1 + gamma(u, 3, 1));
    const nu = gamma(u, 5, 100);
    let day = u() * o.acquisitionDays;
    for (let k = 0; ; k++) {
      orders++;
      const amount = Math.max(1, gamma(u, 4, nu));
      lines.push(`O${orders},${id},${stamp(o.start, day)},${amount.toFixed(2)},completed`);
      if (orders % 9 === 0 && day + 10 < o.horizonDays) {
        lines.push(`O${orders}-R,${id},${stamp(o.start, day + 10)},${(-amount / 2).toFixed(2)},returned`);
      }
      day += -Math.log(1 - u()) / lambda;
      if (day >= o.horizonDays) break;
      if (k > 0 && u() < p) break; // dropout after a repeat purchase
    }
  }
  return lines;
}

/** Writes the fixture CSV into `dir` and returns its path. */
export function writeFixtureOrders(dir: string, options: Partial<FixtureOptions> = {}, extraLines: readonly string[] = []): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'orders.csv');
  writeFileSync(file, [...fixtureOrderLines(options), ...extraLines].join('\n') + '\n');
  return file;
}

/** A fresh store at `db` with the fixture's orders (plus `extraLines`) ingested. */
export async function fixtureStore(dir: string, db: string, options: Partial<FixtureOptions> = {}, extraLines: readonly string[] = []): Promise<Store> {
  const file = writeFixtureOrders(dir, options, extraLines);
  const store = await Store.open(db);
  try {
    await ingest(store, { entity: 'orders', files: [file], rejectsDir: dir, now: new Date('2030-01-01T00:00:00Z') });
  } catch (err) {
    store.close();
    throw err;
  }
  return store;
}
