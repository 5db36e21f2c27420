// The demo files' rows: headers of the Kairos data contract, row types keyed by column name, and their CSV lines.
import { csvField } from './csv.js';

/** Column headers, exactly as the data contract names them. */
export const HEADERS = Object.freeze({
  customers: ['customer_id', 'created_at', 'email', 'country', 'acquisition_channel'],
  products: ['product_id', 'name', 'category', 'price'],
  orders: ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'discount', 'status'],
  events: ['customer_id', 'occurred_at', 'type', 'product_id', 'campaign_id', 'value'],
  truth: [
    'customer_id', 'acquired_at', 'lambda_per_day', 'dropout_p', 'dropped_at', 'nu', 'expected_order_value', 'engagement',
    'promo_sensitivity', 'favourite_category', 'alive_at_end', 'purchases_total', 'repeat_purchases', 't_x_days', 'T_days',
    'promo_orders', 'acquisition_channel', 'ambassador', 'p_alive_given_history', 'expected_purchases_180d',
    'expected_purchases_180d_given_history', 'expected_spend_180d', 'purchases_next_180d', 'spend_next_180d',
  ],
} as const);

/** Event types of events.csv. */
export const EVENT_TYPES = Object.freeze([
  'email_sent', 'email_open', 'email_click', 'unsubscribe', 'web_visit', 'product_view', 'add_to_cart', 'review', 'referral',
  'social_share', 'complaint',
] as const);
export type EventType = (typeof EVENT_TYPES)[number];

/** customers.csv. Timestamps are `YYYY-MM-DDTHH:MM:SSZ`. */
export interface CustomerRow {
  customer_id: string;
  created_at: string;
  email: string;
  country: string;
  acquisition_channel: string;
}

/** products.csv; price in the currency, 2 decimals. */
export interface ProductRow {
  product_id: string;
  name: string;
  category: string;
  price: number;
}

/** orders.csv, one row per order line; money in the currency (2 decimals), discount = money off the line. */
export interface OrderLineRow {
  order_id: string;
  customer_id: string;
  ordered_at: string;
  product_id: string;
  quantity: number;
  unit_price: number;
  discount: number;
  status: 'completed' | 'returned';
}

/** events.csv; optional fields are null (written empty). */
export interface EventRow {
  customer_id: string;
  occurred_at: string;
  type: EventType;
  product_id: string | null;
  campaign_id: string | null;
  value: number | null;
}

/** truth.csv: the latent state and outcomes of one customer (documented in docs/demo.md). */
export interface TruthRow {
  customer_id: string;
  acquired_at: string;
  lambda_per_day: number;
  dropout_p: number;
  dropped_at: string | null;
  nu: number;
  expected_order_value: number;
  engagement: number;
  promo_sensitivity: number;
  favourite_category: string;
  alive_at_end: 0 | 1;
  purchases_total: number;
  repeat_purchases: number;
  t_x_days: number;
  T_days: number;
  promo_orders: number;
  acquisition_channel: string;
  ambassador: 0 | 1;
  p_alive_given_history: number;
  expected_purchases_180d: number;
  expected_purchases_180d_given_history: number;
  expected_spend_180d: number;
  purchases_next_180d: number;
  spend_next_180d: number;
}

const CENTS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** Money with 2 decimals (rounded to the nearest cent; several times faster than `toFixed(2)`). */
export function money(x: number): string {
  const cents = Math.round(Math.abs(x) * 100);
  const whole = Math.floor(cents / 100);
  return `${x < 0 && cents > 0 ? '-' : ''}${whole}.${CENTS[cents - whole * 100]}`;
}

/** A real number with up to 8 significant digits (plain or exponent notation, as JavaScript prints it). */
export function real(x: number): string {
  return String(Number(x.toPrecision(8)));
}

/** One customers.csv line, newline included. */
export function customerLine(r: CustomerRow): string {
  return `${r.customer_id},${r.created_at},${csvField(r.email)},${r.country},${csvField(r.acquisition_channel)}\n`;
}

/** One products.csv line, newline included. */
export function productLine(r: ProductRow): string {
  return `${r.product_id},${csvField(r.name)},${csvField(r.category)},${money(r.price)}\n`;
}

/** One orders.csv line, newline included. */
export function orderLine(r: OrderLineRow): string {
  return `${r.order_id},${r.customer_id},${r.ordered_at},${r.product_id},${r.quantity},${money(r.unit_price)},${money(r.discount)},${r.status}\n`;
}

/** One events.csv line, newline included. */
export function eventLine(r: EventRow): string {
  return `${r.customer_id},${r.occurred_at},${r.type},${r.product_id ?? ''},${r.campaign_id ?? ''},${r.value === null ? '' : String(r.value)}\n`;
}

/** One truth.csv line, newline included. */
export function truthLine(r: TruthRow): string {
  return [
    r.customer_id, r.acquired_at, real(r.lambda_per_day), real(r.dropout_p), r.dropped_at ?? '', real(r.nu),
    money(r.expected_order_value), real(r.engagement), real(r.promo_sensitivity), csvField(r.favourite_category),
    r.alive_at_end, r.purchases_total, r.repeat_purchases, real(r.t_x_days), real(r.T_days), r.promo_orders,
    csvField(r.acquisition_channel), r.ambassador, real(r.p_alive_given_history),
    real(r.expected_purchases_180d), real(r.expected_purchases_180d_given_history), money(r.expected_spend_180d),
    r.purchases_next_180d, money(r.spend_next_180d),
  ].join(',') + '\n';
}

/** The header line of a file. */
export function headerLine(columns: readonly string[]): string {
  return columns.join(',') + '\n';
}
