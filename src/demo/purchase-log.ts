// The bare BG/NBD + Gamma-Gamma purchase process, fast enough to make benchmark purchase logs for a million customers.
import { KairosError } from '../errors.js';
import { Clock, parseIsoDay } from './calendar.js';
import { money } from './contract.js';
import { BufferedFileWriter } from './csv.js';
import { DEFAULT_PURCHASE_LOG, DEFAULT_PURCHASE_PARAMS, type PurchaseParams } from './params.js';
import { randomStream } from './rng.js';

/** Options of `simulatePurchaseLog`; days are the time unit. */
export interface PurchaseLogOptions {
  customers: number;
  seed: number;
  /** True parameters; missing ones take `DEFAULT_PURCHASE_PARAMS`. */
  params?: Partial<PurchaseParams>;
  /** Customers are acquired (first purchase) uniformly over [0, acquisitionDays). Default 365. */
  acquisitionDays: number;
  /** Purchases are observed over [0, horizonDays). Default 547. */
  horizonDays: number;
}

/** What a simulation produced. */
export interface PurchaseLogSummary {
  customers: number;
  purchases: number;
  params: PurchaseParams;
}

/** Validates the shared numeric options at the edge: names the broken fact. */
function checkOptions(o: PurchaseLogOptions, params: PurchaseParams): void {
  const fail = (message: string): never => {
    throw new KairosError('USAGE', message, { details: { ...o } });
  };
  if (!Number.isSafeInteger(o.customers) || o.customers < 1) fail(`customers must be a positive integer, got ${o.customers}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) fail(`seed must be a non-negative integer, got ${o.seed}`);
  if (!(o.acquisitionDays > 0)) fail(`acquisitionDays must be positive, got ${o.acquisitionDays}`);
  if (!(o.horizonDays >= o.acquisitionDays)) fail(`horizonDays (${o.horizonDays}) must be at least acquisitionDays (${o.acquisitionDays})`);
  for (const [k, v] of Object.entries(params)) if (!(v > 0)) fail(`parameter ${k} must be positive, got ${v}`);
}

/**
 * Simulates BG/NBD purchase timing (Fader, Hardie & Lee 2005) with Gamma-Gamma order values (Fader, Hardie & Lee 2005b)
 * and calls `write` once per purchase, customer by customer, in time order within a customer.
 *
 * Per customer: lambda ~ Gamma(r, alpha), p ~ Beta(a, b), nu ~ Gamma(q, gamma); the first purchase is at the
 * acquisition time ~ U[0, acquisitionDays); repeat purchases follow a Poisson(lambda) process and after each
 * repeat purchase the customer drops out with probability p; each order value ~ Gamma(p, nu). `day` is the
 * fractional day since the start, `amount` unrounded. Customer ids are `C` + 7 digits (more past 9,999,999).
 */
export function simulatePurchaseLog(
  options: PurchaseLogOptions,
  write: (customerId: string, day: number, amount: number) => void,
): PurchaseLogSummary {
  const params: PurchaseParams = { ...DEFAULT_PURCHASE_PARAMS, ...options.params };
  checkOptions(options, params);
  const rng = randomStream(options.seed, 0);
  const drawLambda = rng.gammaSampler(params.r, params.alpha);
  const drawDropout = rng.betaSampler(params.a, params.b);
  const drawNu = rng.gammaSampler(params.q, params.gamma);
  const drawUnitValue = rng.gammaSampler(params.p, 1);
  const uniform = rng.uniform;
  const { acquisitionDays, horizonDays } = options;
  let purchases = 0;
  for (let i = 0; i < options.customers; i++) {
    const id = `C${String(i + 1).padStart(7, '0')}`;
    const lambda = drawLambda();
    const p = drawDropout();
    const nu = drawNu();
    let t = uniform() * acquisitionDays;
    write(id, t, drawUnitValue() / nu);
    purchases++;
    for (;;) {
      t -= Math.log1p(-uniform()) / lambda;
      if (t >= horizonDays) break;
      write(id, t, drawUnitValue() / nu);
      purchases++;
      if (uniform() < p) break;
    }
  }
  return { customers: options.customers, purchases, params };
}

/** Options of `writePurchaseLogCsv`: the simulation's, with defaults, plus the calendar date of day 0. */
export interface PurchaseLogCsvOptions extends Partial<PurchaseLogOptions> {
  customers: number;
  seed: number;
  /** ISO date of day 0. Default 2024-01-01. */
  start?: string;
}

/**
 * Writes `customer_id,date,amount` (ISO dates, amounts with 2 decimals) for `simulatePurchaseLog` to `path`
 * through a buffered writer; returns the summary and the bytes written.
 */
export function writePurchaseLogCsv(path: string, options: PurchaseLogCsvOptions): PurchaseLogSummary & { path: string; bytes: number } {
  const sim: PurchaseLogOptions = {
    customers: options.customers,
    seed: options.seed,
    acquisitionDays: options.acquisitionDays ?? DEFAULT_PURCHASE_LOG.acquisitionDays,
    horizonDays: options.horizonDays ?? DEFAULT_PURCHASE_LOG.horizonDays,
    ...(options.params === undefined ? {} : { params: options.params }),
  };
  const clock = new Clock(parseIsoDay(options.start ?? DEFAULT_PURCHASE_LOG.start, 'start'), Math.ceil(sim.horizonDays) + 1);
  const out = new BufferedFileWriter(path);
  let summary: PurchaseLogSummary;
  let bytes = 0;
  try {
    out.write('customer_id,date,amount\n');
    let lines = '';
    let count = 0;
    summary = simulatePurchaseLog(sim, (id, day, amount) => {
      lines += `${id},${clock.date(day)},${money(amount)}\n`;
      if (++count === 4096) {
        out.write(lines);
        lines = '';
        count = 0;
      }
    });
    out.write(lines);
  } finally {
    bytes = out.close();
  }
  return { ...summary, path, bytes };
}
