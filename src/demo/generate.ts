// The synthetic retailer behind `kairos demo`: a seeded generative process streaming customers, orders, events and the truth to a sink.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KairosError } from '../errors.js';
import { Clock, PromoCalendar, acquisitionWeights, isoDay, onShopHours, parseIsoDay, type PromoPeriod } from './calendar.js';
import { buildCatalog, pickProductNear, type Catalog } from './catalog.js';
import {
  EVENT_TYPES, HEADERS, customerLine, eventLine, headerLine, orderLine, productLine, truthLine,
  type CustomerRow, type EventRow, type EventType, type OrderLineRow, type ProductRow, type TruthRow,
} from './contract.js';
import { BufferedFileWriter } from './csv.js';
import { BEHAVIOUR, DEFAULT_RETAILER_OPTIONS, DEFAULT_RETAILER_PARAMS, TRUTH_HORIZON_DAYS, type RetailerParams } from './params.js';
import { retailerReadme } from './readme.js';
import { cumulate, randomStream, type RandomStream } from './rng.js';
import { expectedPurchasesAlive, pAliveGivenHistory } from './theory.js';

/** Options of the synthetic retailer. */
export interface RetailerOptions {
  customers: number;
  seed: number;
  /** First day of data, ISO date. Default 2023-01-01. */
  start?: string;
  /** Last day of data (inclusive), ISO date: data ends at the next midnight UTC. Default 2025-06-30. */
  end?: string;
  /** Currency of all money columns. Default EUR. */
  currency?: string;
  /** True parameters; missing ones take `DEFAULT_RETAILER_PARAMS`. */
  params?: Partial<RetailerParams>;
}

/** Options with every default filled in. */
export interface ResolvedRetailerOptions {
  customers: number;
  seed: number;
  start: string;
  end: string;
  currency: string;
  params: RetailerParams;
}

/** Receives the generated rows: all products first, then per customer its customer row, order lines, events and truth row. */
export interface DemoSink {
  product(row: ProductRow): void;
  customer(row: CustomerRow): void;
  orderLine(row: OrderLineRow): void;
  event(row: EventRow): void;
  truth(row: TruthRow): void;
}

/** What a run produced. */
export interface RetailerSummary {
  options: ResolvedRetailerOptions;
  /** Data end, exclusive: midnight UTC after `end`. */
  dataEnd: string;
  /** Days in the data period. */
  days: number;
  customers: number;
  products: number;
  orders: number;
  orderLines: number;
  returnLines: number;
  events: number;
  eventsByType: Record<EventType, number>;
  promotions: readonly { id: string; name: string; first: string; last: string; discount: number }[];
}

const COUNTRIES: readonly (readonly [string, number])[] = [
  ['DE', 0.3], ['FR', 0.17], ['IT', 0.11], ['ES', 0.11], ['NL', 0.1], ['BE', 0.06], ['AT', 0.06], ['PL', 0.05], ['IE', 0.02], ['PT', 0.02],
];
/** Acquisition channels with base weights and how strongly engagement tilts towards them. */
const CHANNELS: readonly (readonly [string, number, number])[] = [
  ['organic_search', 0.26, 0], ['paid_search', 0.18, 0], ['paid_social', 0.16, -0.8], ['direct', 0.14, 0.5],
  ['referral', 0.08, 2.0], ['affiliate', 0.07, -0.5], ['email', 0.06, 1.0], ['marketplace', 0.05, -0.5],
];
const FIRST_NAMES: readonly string[] = [
  'anna', 'lukas', 'marie', 'jonas', 'sofia', 'luca', 'emma', 'noah', 'lea', 'elias', 'chloe', 'hugo', 'giulia', 'matteo',
  'lucia', 'pablo', 'sanne', 'daan', 'julia', 'felix', 'ines', 'tomas', 'zofia', 'jakub', 'aoife', 'sean', 'beatriz', 'joao',
];
const LAST_NAMES: readonly string[] = [
  'muller', 'schmidt', 'schneider', 'martin', 'bernard', 'dubois', 'rossi', 'russo', 'garcia', 'martinez', 'dejong', 'jansen',
  'peeters', 'maes', 'gruber', 'huber', 'nowak', 'kowalski', 'murphy', 'kelly', 'silva', 'santos', 'weber', 'fischer',
];
const EMAIL_DOMAINS: readonly string[] = ['example.com', 'example.net', 'example.org'];

const MINUTE = 1 / 1440;

/** Fills defaults and checks the options; throws USAGE naming the broken fact. */
export function resolveRetailerOptions(options: RetailerOptions): ResolvedRetailerOptions {
  const resolved: ResolvedRetailerOptions = {
    customers: options.customers,
    seed: options.seed,
    start: options.start ?? DEFAULT_RETAILER_OPTIONS.start,
    end: options.end ?? DEFAULT_RETAILER_OPTIONS.end,
    currency: options.currency ?? DEFAULT_RETAILER_OPTIONS.currency,
    params: { ...DEFAULT_RETAILER_PARAMS, ...options.params },
  };
  const fail = (message: string): never => {
    throw new KairosError('USAGE', message, { details: { ...resolved, params: undefined } });
  };
  if (!Number.isSafeInteger(resolved.customers) || resolved.customers < 1) fail(`customers must be a positive integer, got ${resolved.customers}`);
  if (!Number.isSafeInteger(resolved.seed) || resolved.seed < 0) fail(`seed must be a non-negative integer, got ${resolved.seed}`);
  const days = parseIsoDay(resolved.end, 'end') - parseIsoDay(resolved.start, 'start') + 1;
  if (days < 28) fail(`the period ${resolved.start}..${resolved.end} must span at least 28 days`);
  if (!/^[A-Z]{3}$/.test(resolved.currency)) fail(`currency must be a 3-letter ISO 4217 code, got "${resolved.currency}"`);
  const p = resolved.params;
  for (const [k, v] of Object.entries(p)) if (!(v >= 0) || !Number.isFinite(v)) fail(`parameter ${k} must be a non-negative number, got ${v}`);
  for (const k of ['r', 'alpha', 'a', 'b', 'p', 'q', 'gamma', 'sensitivityA', 'sensitivityB', 'engagementA', 'engagementB'] as const) {
    if (!(p[k] > 0)) fail(`parameter ${k} must be positive, got ${p[k]}`);
  }
  if (!(p.acquisitionShare > 0 && p.acquisitionShare <= 1)) fail(`acquisitionShare must be in (0, 1], got ${p.acquisitionShare}`);
  return resolved;
}

/** A campaign e-mail: weekly newsletters on Tuesdays 09:00 UTC and one mail at 07:00 on each promotion's first day. */
interface Campaign {
  readonly t: number;
  readonly id: string;
  readonly promo: boolean;
}

function campaignCalendar(startDay: number, days: number, promos: PromoCalendar): Campaign[] {
  const campaigns: Campaign[] = [];
  const firstTuesday = (2 - new Date(startDay * 86_400_000).getUTCDay() + 7) % 7;
  for (let d = firstTuesday; d < days; d += 7) campaigns.push({ t: d + 9 / 24, id: `NL-${isoDay(startDay + d)}`, promo: false });
  for (const period of promos.periods) {
    if (period.startDay >= 0 && period.startDay < days) campaigns.push({ t: period.startDay + 7 / 24, id: `PROMO-${period.id}`, promo: true });
  }
  return campaigns.sort((x, y) => x.t - y.t);
}

/** Acquisition times for all customers, sorted, from the seasonal day weights (inverse CDF, uniform within the day). */
function acquisitionTimes(n: number, weights: Float64Array, rng: RandomStream): Float64Array {
  const cdf = cumulate(Array.from(weights));
  const total = cdf[cdf.length - 1] ?? 1;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = rng.uniform() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] ?? 0) <= x) lo = mid + 1;
      else hi = mid;
    }
    times[i] = lo + rng.uniform();
  }
  return times.sort();
}

/** One order line while a customer is being generated (cents, process days). */
interface Line {
  t: number;
  orderId: string;
  product: number;
  quantity: number;
  priceCents: number;
  discountCents: number;
  returned: boolean;
}

/** An event before formatting. */
interface PendingEvent {
  t: number;
  type: EventType;
  product: number;
  campaign: string | null;
  value: number | null;
}

/**
 * Generates the synthetic retailer and streams its rows to `sink` (nothing is held beyond one customer).
 * The process (BG/NBD purchases, Gamma-Gamma spend, promotions, engagement) is described in docs/demo.md;
 * same options and seed give the same rows. `onProgress(done, total)` is called every 1% of customers and at the end.
 */
export function generateRetailer(
  options: RetailerOptions,
  sink: DemoSink,
  onProgress?: (done: number, total: number) => void,
): RetailerSummary {
  const opts = resolveRetailerOptions(options);
  const P = opts.params;
  const B = BEHAVIOUR;
  const startDay = parseIsoDay(opts.start, 'start');
  const days = parseIsoDay(opts.end, 'end') - startDay + 1;
  const H = TRUTH_HORIZON_DAYS;
  const clock = new Clock(startDay, days + 1);
  const promos = new PromoCalendar(startDay, days + H + 1);
  const N = opts.customers;

  // Catalogue.
  const catalog = buildCatalog(randomStream(opts.seed, 1));
  for (const p of catalog.products) sink.product({ product_id: p.id, name: p.name, category: p.category, price: p.priceCents / 100 });

  // Acquisition: over the first `acquisitionShare` of the period, seasonal.
  const acquisitionDays = Math.max(1, Math.floor(days * P.acquisitionShare));
  const acquired = acquisitionTimes(N, acquisitionWeights(startDay, acquisitionDays, promos), randomStream(opts.seed, 2));
  const campaigns = campaignCalendar(startDay, days, promos);

  const rngP = randomStream(opts.seed, 3); // latent BG/NBD and Gamma-Gamma state, purchase times, order values
  const rngT = randomStream(opts.seed, 4); // traits: engagement, promo sensitivity, category affinity, country, channel
  const rngB = randomStream(opts.seed, 5); // baskets, discounts, returns
  const rngE = randomStream(opts.seed, 6); // engagement events
  const drawLambda = rngP.gammaSampler(P.r, P.alpha);
  const drawDropout = rngP.betaSampler(P.a, P.b);
  const drawNu = rngP.gammaSampler(P.q, P.gamma);
  const drawUnitValue = rngP.gammaSampler(P.p, 1);
  const drawSensitivity = rngT.betaSampler(P.sensitivityA, P.sensitivityB);
  const countryCdf = cumulate(COUNTRIES.map(([, w]) => w));
  const idWidth = Math.max(6, String(N).length);
  const nTop = catalog.topNames.length;

  const eventsByType = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>;
  let orderSeq = 0;
  let orderLines = 0;
  let returnLines = 0;
  let events = 0;
  const progressStep = Math.max(1, Math.ceil(N / 100));

  const purchaseTimes: number[] = [];
  const futureTimes: number[] = [];
  for (let i = 0; i < N; i++) {
    const customerId = `C${String(i + 1).padStart(idWidth, '0')}`;
    const a = acquired[i] ?? 0;

    // Latent state.
    const lambda = drawLambda();
    const p = drawDropout();
    const nu = drawNu();
    const rho = (lambda * P.alpha) / P.r;
    const engagement = rngT.beta(P.engagementA + P.engagementLambdaWeight * (rho / (1 + rho)), P.engagementB);
    const sensitivity = drawSensitivity();
    const affinity = Array.from({ length: nTop }, (_, k) => rngT.gamma(3 * (catalog.topShares[k] ?? 0.1), 1));
    let favourite = 0;
    for (let k = 1; k < nTop; k++) if ((affinity[k] ?? 0) > (affinity[favourite] ?? 0)) favourite = k;
    const affinityCdf = cumulate(affinity);
    const country = COUNTRIES[rngT.categorical(countryCdf)]?.[0] ?? 'DE';
    const channel = CHANNELS[rngT.categorical(cumulate(CHANNELS.map(([, w, tilt]) => w * Math.exp(tilt * (engagement - 0.4)))))]?.[0] ?? 'direct';
    const ambassador = engagement >= B.ambassadorEngagement;
    const first = FIRST_NAMES[rngT.int(FIRST_NAMES.length)] ?? 'alex';
    const last = LAST_NAMES[rngT.int(LAST_NAMES.length)] ?? 'doe';
    const email = `${first}.${last}.${i + 1}@${EMAIL_DOMAINS[rngT.int(EMAIL_DOMAINS.length)]}`;

    // Purchases: the first at acquisition, repeat purchases by BG/NBD with the promo-modulated rate; then the
    // next 180 days for truth.csv (the process is memoryless, so it restarts at the data end).
    const lift = P.promoLift * sensitivity;
    purchaseTimes.length = 0;
    purchaseTimes.push(a);
    const dropped = repeatPurchases(rngP, promos, lambda, lift, p, a, days, purchaseTimes);
    futureTimes.length = 0;
    if (!dropped) repeatPurchases(rngP, promos, lambda, lift, p, days, days + H, futureTimes);
    const values = purchaseTimes.map(() => drawUnitValue() / nu);
    let futureSpend = 0;
    for (let k = 0; k < futureTimes.length; k++) futureSpend += drawUnitValue() / nu;

    // Customer row: the account is created minutes before the first order.
    const orderTimes = purchaseTimes.map(onShopHours);
    const firstOrder = orderTimes[0] ?? a;
    const created = Math.max(0, firstOrder - (10 + 35 * rngT.uniform()) * MINUTE);
    sink.customer({ customer_id: customerId, created_at: clock.timestamp(created), email, country, acquisition_channel: channel });

    // Baskets: lines from the category affinity, filled to the order value; promo and coupon discounts; returns.
    const lines: Line[] = [];
    const returns: Line[] = [];
    const orderFirstLine: number[] = [];
    let promoOrders = 0;
    for (let j = 0; j < orderTimes.length; j++) {
      const tOrder = orderTimes[j] ?? 0;
      const orderId = `O${String(++orderSeq).padStart(8, '0')}`;
      const period: PromoPeriod | undefined = promos.periodAt(tOrder);
      if (period !== undefined) promoOrders++;
      const coupon = period === undefined && rngB.uniform() < B.couponBase + B.couponSensitivity * sensitivity;
      const expectedRate = period !== undefined ? B.promoEligible * period.discount : coupon ? B.couponDiscount : 0;
      const grossTarget = ((values[j] ?? 0) * 100) / (1 - expectedRate);
      const nLines = 1 + Math.min(4, rngB.poisson((0.8 * grossTarget) / 6000));
      let remaining = grossTarget;
      const first = lines.length;
      orderFirstLine.push(first);
      for (let k = 0; k < nLines; k++) {
        if (k > 0 && remaining < 150) break;
        const target = remaining / (nLines - k);
        const top = rngB.categorical(affinityCdf);
        const product = pickProductNear(catalog, top, target, rngB);
        const priceCents = catalog.products[product]?.priceCents ?? 0;
        const maxQuantity = catalog.maxQuantities[top] ?? 1;
        let quantity = Math.max(1, Math.min(maxQuantity, Math.round(target / priceCents)));
        const rate = period !== undefined ? (rngB.uniform() < B.promoEligible ? period.discount : 0) : coupon ? B.couponDiscount : 0;
        const existing = lines.slice(first).find((l) => l.product === product);
        if (existing !== undefined) {
          // The same product again: one line, its quantity capped.
          quantity = Math.min(quantity, maxQuantity - existing.quantity);
          existing.quantity += quantity;
          existing.discountCents += Math.round(quantity * priceCents * rate);
          remaining -= quantity * priceCents;
          continue;
        }
        remaining -= quantity * priceCents;
        lines.push({ t: tOrder, orderId, product, quantity, priceCents, discountCents: Math.round(quantity * priceCents * rate), returned: false });
      }
      let tReturn = NaN; // one return date per order, drawn with its first returned line
      for (let k = first; k < lines.length; k++) {
        const line = lines[k];
        if (line === undefined) continue;
        const top = catalog.products[line.product]?.top ?? 0;
        if (rngB.uniform() >= (catalog.returnRates[top] ?? 0) * (period !== undefined ? 1.3 : 1)) continue;
        if (Number.isNaN(tReturn)) tReturn = onShopHours(tOrder + 2 + rngB.gamma(2, 0.25));
        if (tReturn >= days) continue;
        line.returned = true;
        returns.push({ ...line, t: tReturn, orderId: `${orderId}-R`, quantity: -line.quantity, discountCents: -line.discountCents });
      }
    }
    for (const line of [...lines, ...returns].sort((x, y) => x.t - y.t)) {
      sink.orderLine({
        order_id: line.orderId,
        customer_id: customerId,
        ordered_at: clock.timestamp(line.t),
        product_id: catalog.products[line.product]?.id ?? '',
        quantity: line.quantity,
        unit_price: line.priceCents / 100,
        discount: line.discountCents === 0 ? 0 : line.discountCents / 100,
        status: line.quantity < 0 ? 'returned' : 'completed',
      });
    }
    orderLines += lines.length + returns.length;
    returnLines += returns.length;

    // Engagement events.
    const dropTime = dropped ? orderTimes[orderTimes.length - 1] ?? days : Infinity;
    const pending = customerEvents({
      rng: rngE, catalog, campaigns, promos, days, created, engagement, sensitivity, lambda, ambassador,
      affinityCdf, dropTime, orderTimes, lines, returns, orderFirstLine,
    });
    for (const e of pending) {
      sink.event({
        customer_id: customerId,
        occurred_at: clock.timestamp(e.t),
        type: e.type,
        product_id: e.product >= 0 ? catalog.products[e.product]?.id ?? null : null,
        campaign_id: e.campaign,
        value: e.value,
      });
      eventsByType[e.type]++;
    }
    events += pending.length;

    // Truth: latent state, history summary and exact expectations for the next 180 days.
    const x = purchaseTimes.length - 1;
    const tLast = purchaseTimes[x] ?? a;
    const intensitySinceLast = lambda * (days - tLast + lift * promos.promoDaysBetween(tLast, days));
    const pAlive = pAliveGivenHistory(p, x, intensitySinceLast);
    const futureIntensity = lambda * (H + lift * promos.promoDaysBetween(days, days + H));
    const expectedIfAlive = expectedPurchasesAlive(futureIntensity, p);
    const expectedOrderValue = P.p / nu;
    sink.truth({
      customer_id: customerId,
      acquired_at: clock.timestamp(firstOrder),
      lambda_per_day: lambda,
      dropout_p: p,
      dropped_at: dropped ? clock.timestamp(dropTime) : null,
      nu,
      expected_order_value: expectedOrderValue,
      engagement,
      promo_sensitivity: sensitivity,
      favourite_category: catalog.topNames[favourite] ?? '',
      alive_at_end: dropped ? 0 : 1,
      purchases_total: purchaseTimes.length,
      repeat_purchases: x,
      t_x_days: tLast - a,
      T_days: days - a,
      promo_orders: promoOrders,
      acquisition_channel: channel,
      ambassador: ambassador ? 1 : 0,
      p_alive_given_history: pAlive,
      expected_purchases_180d: dropped ? 0 : expectedIfAlive,
      expected_purchases_180d_given_history: pAlive * expectedIfAlive,
      expected_spend_180d: (dropped ? 0 : expectedIfAlive) * expectedOrderValue,
      purchases_next_180d: futureTimes.length,
      spend_next_180d: futureSpend,
    });

    if (onProgress !== undefined && ((i + 1) % progressStep === 0 || i + 1 === N)) onProgress(i + 1, N);
  }

  return {
    options: opts,
    dataEnd: `${isoDay(startDay + days)}T00:00:00Z`,
    days,
    customers: N,
    products: catalog.products.length,
    orders: orderSeq,
    orderLines,
    returnLines,
    events,
    eventsByType,
    promotions: promos.periods
      .filter((q) => q.startDay < days + H)
      .map((q) => ({ id: q.id, name: q.name, first: isoDay(startDay + q.startDay), last: isoDay(startDay + q.endDay - 1), discount: q.discount })),
  };
}

/**
 * BG/NBD repeat purchases (Fader, Hardie & Lee 2005, assumptions i-iii) over (from, to): a Poisson process of rate
 * lambda * (1 + lift on promo days), drawn by thinning a process of rate lambda * (1 + lift); after each purchase
 * the customer drops out with probability p. Appends purchase times to `out`; returns whether the customer dropped out.
 */
function repeatPurchases(
  rng: RandomStream, promos: PromoCalendar, lambda: number, lift: number, p: number, from: number, to: number, out: number[],
): boolean {
  const maxRate = lambda * (1 + lift);
  for (let t = from; ; ) {
    t -= Math.log1p(-rng.uniform()) / maxRate;
    if (t >= to) return false;
    if (lift > 0 && !promos.isPromo(t) && rng.uniform() * (1 + lift) >= 1) continue;
    out.push(t);
    if (rng.uniform() < p) return true;
  }
}

/** What `customerEvents` needs to know about one customer. */
interface EventContext {
  rng: RandomStream;
  catalog: Catalog;
  campaigns: readonly Campaign[];
  promos: PromoCalendar;
  days: number;
  created: number;
  engagement: number;
  sensitivity: number;
  lambda: number;
  ambassador: boolean;
  affinityCdf: Float64Array;
  dropTime: number;
  orderTimes: readonly number[];
  lines: readonly Line[];
  returns: readonly Line[];
  orderFirstLine: readonly number[];
}

/** The engagement events of one customer, sorted by time, all within [created, data end). */
function customerEvents(c: EventContext): PendingEvent[] {
  const { rng, catalog, days, created, engagement: e } = c;
  const B = BEHAVIOUR;
  const out: PendingEvent[] = [];
  const push = (t: number, type: EventType, product = -1, campaign: string | null = null, value: number | null = null): void => {
    if (t >= created && t < days) out.push({ t, type, product, campaign, value });
  };
  const decay = (t: number): number => (t > c.dropTime ? Math.max(B.decayFloor, Math.exp(-(t - c.dropTime) / B.decayDays)) : 1);
  const randomProduct = (): number => {
    const list = catalog.byTopSortedByPrice[rng.categorical(c.affinityCdf)];
    return list === undefined ? 0 : list[rng.int(list.length)] ?? 0;
  };
  const price = (product: number): number => (catalog.products[product]?.priceCents ?? 0) / 100;
  /** A browsing session: a visit, product views, sometimes an abandoned cart. */
  const browse = (t0: number, campaign: string | null): void => {
    push(t0, 'web_visit', -1, campaign);
    const views = 1 + rng.poisson(B.viewsBase + B.viewsEngagement * e);
    let t = t0;
    for (let v = 0; v < views; v++) {
      t += (20 + 100 * rng.uniform()) / 86_400;
      const product = randomProduct();
      push(t, 'product_view', product);
      if (rng.uniform() < B.abandonedCart) push(t + 15 / 86_400, 'add_to_cart', product, null, price(product));
    }
  };
  /** Events of a homogeneous Poisson process of `ratePerDay` over [from, days), thinned by the post-dropout decay. */
  const poissonTimes = (ratePerDay: number, from: number): number[] => {
    const times: number[] = [];
    if (!(ratePerDay > 0)) return times;
    for (let t = from - Math.log1p(-rng.uniform()) / ratePerDay; t < days; t -= Math.log1p(-rng.uniform()) / ratePerDay) {
      if (rng.uniform() < decay(t)) times.push(onShopHours(t));
    }
    return times;
  };

  // Purchase sessions: visits cluster before orders (a research visit some days before, the buying session minutes before).
  for (let j = 0; j < c.orderTimes.length; j++) {
    const tOrder = c.orderTimes[j] ?? 0;
    const firstLine = c.orderFirstLine[j] ?? 0;
    const endLine = c.orderFirstLine[j + 1] ?? c.lines.length;
    if (j > 0 && rng.uniform() < B.researchVisit) browse(tOrder - 1 - 4 * rng.uniform(), null);
    let t = j === 0 ? created + 0.2 * (tOrder - created) : tOrder - (5 + 35 * rng.uniform()) * MINUTE;
    push(t, 'web_visit');
    const step = (tOrder - t) / (2 * (endLine - firstLine) + 1);
    for (let k = firstLine; k < endLine; k++) {
      const line = c.lines[k];
      if (line === undefined) continue;
      t += step;
      push(t, 'product_view', line.product);
      t += step;
      push(t, 'add_to_cart', line.product, null, line.priceCents / 100);
    }
  }

  // Background browsing: rate from engagement and lambda, decaying after dropout.
  for (const t of poissonTimes(B.visitBase + B.visitEngagement * e + B.visitLambda * c.lambda, created)) browse(t, null);

  // Reviews of completed lines (rating 1-5), more likely from the engaged and after a return.
  for (const line of c.lines) {
    if (rng.uniform() >= B.reviewBase + B.reviewEngagement * e + (line.returned ? B.reviewAfterReturn : 0)) continue;
    const rating = line.returned ? 1 + rng.categorical([0.55, 0.85, 1]) : 1 + rng.categorical([0.03, 0.07, 0.17, 0.47, 1]);
    push(line.t + 3 + rng.exponential(1 / 7), 'review', line.product, null, rating);
  }

  // Complaints: rare, more likely after a return; a complaint may end the e-mail subscription.
  let unsubscribeAt = Infinity;
  let unsubscribeCampaign: string | null = null;
  const complaints: number[] = [];
  for (const r of c.returns) if (rng.uniform() < B.complaintAfterReturn) complaints.push(r.t + 5 * rng.uniform());
  complaints.push(...poissonTimes(B.complaintPerDay, created));
  for (const t of complaints) {
    push(t, 'complaint');
    if (rng.uniform() < B.unsubscribeAfterComplaint) unsubscribeAt = Math.min(unsubscribeAt, t + rng.uniform());
  }

  // E-mail: every campaign to every customer until they unsubscribe; opens and clicks from engagement, fewer after dropout.
  for (let k = lowerBound(c.campaigns, created); k < c.campaigns.length; k++) {
    const campaign = c.campaigns[k];
    if (campaign === undefined || campaign.t >= unsubscribeAt) break;
    push(campaign.t, 'email_sent', -1, campaign.id);
    const d = decay(campaign.t);
    let tLast = campaign.t;
    if (rng.uniform() < (B.openBase + B.openEngagement * e) * d) {
      tLast = campaign.t + rng.exponential(1 / 0.3);
      push(tLast, 'email_open', -1, campaign.id);
      const click = B.clickBase + B.clickEngagement * e + (campaign.promo ? B.clickPromoSensitivity * c.sensitivity : 0);
      if (rng.uniform() < click) {
        tLast += (0.5 + 4.5 * rng.uniform()) * MINUTE;
        push(tLast, 'email_click', -1, campaign.id);
        browse(tLast + 5 / 86_400, campaign.id);
      }
    }
    const unsubscribe = B.unsubscribeBase * (1.5 - e) * (campaign.t > c.dropTime ? B.unsubscribeAfterDropout : 1);
    if (rng.uniform() < unsubscribe && tLast + 2 * MINUTE < unsubscribeAt) {
      unsubscribeAt = tLast + 2 * MINUTE;
      unsubscribeCampaign = campaign.id;
    }
  }
  if (unsubscribeAt < days) push(unsubscribeAt, 'unsubscribe', -1, unsubscribeCampaign);

  // Ambassadors refer friends and share products they bought.
  if (c.ambassador) {
    for (const t of poissonTimes(B.referralPerDay, created)) push(t, 'referral');
    for (const t of poissonTimes(B.sharePerDay, created)) {
      let bought = -1;
      for (const line of c.lines) if (line.t <= t) bought = line.product;
      push(t, 'social_share', bought);
    }
  }

  return out.sort((x, y) => x.t - y.t);
}

/** First index whose campaign time is >= t. */
function lowerBound(campaigns: readonly Campaign[], t: number): number {
  let lo = 0;
  let hi = campaigns.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((campaigns[mid]?.t ?? Infinity) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Paths and counts of `writeRetailerFiles`. */
export interface RetailerFiles {
  dir: string;
  paths: { customers: string; products: string; orders: string; events: string; truth: string; readme: string };
  /** Data rows per file (headers excluded). */
  rows: { customers: number; products: number; orders: number; events: number; truth: number };
  bytes: number;
  summary: RetailerSummary;
}

/**
 * Writes customers.csv, products.csv, orders.csv, events.csv, truth.csv and README.md (the process and its true
 * parameters) into `dir` (created if missing), streaming through buffered writers.
 */
export function writeRetailerFiles(
  dir: string,
  options: RetailerOptions,
  onProgress?: (done: number, total: number) => void,
): RetailerFiles {
  resolveRetailerOptions(options); // fail before touching the disk
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new KairosError('NOT_FOUND', `cannot create the folder ${dir}`, { cause });
  }
  const paths = {
    customers: join(dir, 'customers.csv'),
    products: join(dir, 'products.csv'),
    orders: join(dir, 'orders.csv'),
    events: join(dir, 'events.csv'),
    truth: join(dir, 'truth.csv'),
    readme: join(dir, 'README.md'),
  };
  const writers = {
    customers: new BufferedFileWriter(paths.customers),
    products: new BufferedFileWriter(paths.products),
    orders: new BufferedFileWriter(paths.orders),
    events: new BufferedFileWriter(paths.events),
    truth: new BufferedFileWriter(paths.truth),
  };
  let bytes = 0;
  let summary: RetailerSummary;
  try {
    for (const key of Object.keys(writers) as (keyof typeof writers)[]) writers[key].write(headerLine(HEADERS[key]));
    summary = generateRetailer(options, {
      product: (r) => writers.products.write(productLine(r)),
      customer: (r) => writers.customers.write(customerLine(r)),
      orderLine: (r) => writers.orders.write(orderLine(r)),
      event: (r) => writers.events.write(eventLine(r)),
      truth: (r) => writers.truth.write(truthLine(r)),
    }, onProgress);
  } finally {
    for (const w of Object.values(writers)) bytes += w.close();
  }
  const readme = new BufferedFileWriter(paths.readme);
  try {
    readme.write(retailerReadme(summary));
  } finally {
    bytes += readme.close();
  }
  return {
    dir,
    paths,
    rows: { customers: summary.customers, products: summary.products, orders: summary.orderLines, events: summary.events, truth: summary.customers },
    bytes,
    summary,
  };
}
