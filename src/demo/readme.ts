// The README.md written beside the demo files: how the data was generated and the true parameter values.
import { CATEGORY_TREE } from './catalog.js';
import type { RetailerSummary } from './generate.js';
import { BEHAVIOUR, TRUTH_HORIZON_DAYS } from './params.js';
import { gammaGammaMeanOrderValue } from './theory.js';

/** Markdown describing one generated data set: period, counts, files, the generative process and its true parameters. */
export function retailerReadme(s: RetailerSummary): string {
  const o = s.options;
  const P = o.params;
  const B = BEHAVIOUR;
  const H = TRUTH_HORIZON_DAYS;
  const events = Object.entries(s.eventsByType).map(([type, n]) => `${type} ${n}`).join(', ');
  return `# Kairos demo data: a synthetic online retailer

Generated for ${o.customers} customers with seed ${o.seed} (\`kairos demo --customers ${o.customers} --seed ${o.seed}\`).
Every number below is the true value the data was drawn with, so models fitted on these files can be checked against
\`truth.csv\`. Same options and seed, same bytes.

- Period: ${o.start} to ${o.end} inclusive (${s.days} days); data end (exclusive) ${s.dataEnd}.
- Timestamps: ISO 8601 in UTC (\`2024-03-05T14:22:00Z\`). Money: ${o.currency}, 2 decimals.
- Rows: ${s.customers} customers, ${s.products} products, ${s.orders} orders in ${s.orderLines} order lines
  (${s.returnLines} of them returns), ${s.events} events (${events}).

## Files

| file | columns |
| --- | --- |
| customers.csv | customer_id, created_at, email, country, acquisition_channel |
| products.csv | product_id, name, category (\`Top > Sub\`), price |
| orders.csv | order_id, customer_id, ordered_at, product_id, quantity, unit_price, discount, status |
| events.csv | customer_id, occurred_at, type, product_id, campaign_id, value |
| truth.csv | the latent state and future of every customer (below) |

Order lines: line revenue = quantity x unit_price - discount (discount = money off the line). A return is its own
line with order_id suffixed \`-R\`, negative quantity and discount, status \`returned\`, dated 2 + Gamma(2, 0.25) days (mean 10) after the order
(returns that would fall after the data end are not in the data). Rows are grouped by customer (customers in order
of acquisition), and in time order within a customer.

Events: e-mail (email_sent, email_open, email_click, unsubscribe; campaign_id set), web (web_visit, product_view,
add_to_cart; value = unit price), review (value = rating 1-5), referral, social_share, complaint. Empty optional fields
are empty.

## Generative process (true values, time unit = day)

1. **Acquisition.** ${o.customers} customers acquired over the first ${Math.round(P.acquisitionShare * 100)}% of the period,
   by day weights: 1 + 0.2 cos(2 pi (day of year - 20) / 365.25), x1.4 in November-December, x1.6 on promo days,
   x0.9 at weekends. The first order is at acquisition; the account is created 10-45 minutes before it.
2. **Purchase timing: BG/NBD** (Fader, Hardie & Lee 2005). lambda ~ Gamma(r = ${P.r}, alpha = ${P.alpha}) per day
   (mean ${(P.r / P.alpha).toFixed(5)}), dropout p ~ Beta(a = ${P.a}, b = ${P.b}) (mean ${(P.a / (P.a + P.b)).toFixed(3)}).
   Repeat purchases follow a Poisson process of rate lambda x (1 + ${P.promoLift} x promo_sensitivity on promo days);
   after each repeat purchase the customer drops out with probability p (dropped_at = that purchase). Times of day follow
   a European shop's hourly profile (evening peak) without leaving the day the process chose.
3. **Spend: Gamma-Gamma** (Fader, Hardie & Lee 2005b). nu ~ Gamma(q = ${P.q}, gamma = ${P.gamma}); each order's value
   ~ Gamma(p = ${P.p}, nu), so E[value | nu] = p / nu and the population mean is p gamma / (q - 1) =
   ${gammaGammaMeanOrderValue(P).toFixed(2)} ${o.currency}. The order is filled with 1-5 lines (more for larger orders):
   each line's top category is drawn from the customer's affinity (Dirichlet with concentration 3 x category share;
   favourite = largest), the product is one of the 5 priced nearest to the remaining budget, weighted by popularity.
   The lines' gross total targets value / (1 - expected discount), so the net paid approximates the drawn value.
4. **Promotions.** ${s.promotions.length} periods (about 10% of days):
${s.promotions.map((q) => `   - ${q.name}: ${q.first} to ${q.last}, ${Math.round(q.discount * 100)}% off ${Math.round(B.promoEligible * 100)}% of lines`).join('\n')}
   promo_sensitivity ~ Beta(${P.sensitivityA}, ${P.sensitivityB}). Everyone buying during a promotion gets its discount
   (also customers who would have bought anyway); off-promo orders get a ${Math.round(B.couponDiscount * 100)}% coupon with
   probability ${B.couponBase} + ${B.couponSensitivity} x promo_sensitivity.
5. **Engagement.** engagement ~ Beta(${P.engagementA} + ${P.engagementLambdaWeight} g, ${P.engagementB}) with g = rho / (1 + rho),
   rho = lambda alpha / r: frequent buyers are more engaged. Weekly newsletters (Tuesdays 09:00 UTC) and a mail on
   each promotion's first day go to every customer who has not unsubscribed;
   P(open) = ${B.openBase} + ${B.openEngagement} engagement, P(click | open) = ${B.clickBase} + ${B.clickEngagement} engagement
   (+ ${B.clickPromoSensitivity} promo_sensitivity on promo mails); a click opens a web visit. Background visits per day:
   ${B.visitBase} + ${B.visitEngagement} engagement + ${B.visitLambda} lambda, each with 1 + Poisson(${B.viewsBase} + ${B.viewsEngagement} engagement)
   product views and abandoned carts (P = ${B.abandonedCart} per view). Every order has a buying session (visit, views,
   add_to_cart) minutes before it, and half of repeat orders a research visit 1-5 days before. Reviews follow
   ${B.reviewBase} + ${B.reviewEngagement} engagement of completed lines (+${B.reviewAfterReturn} after a return, with low ratings).
   Ambassadors (engagement >= ${B.ambassadorEngagement}) refer (1 per ${Math.round(1 / B.referralPerDay)} days) and share
   (1 per ${Math.round(1 / B.sharePerDay)} days). Complaints: 1 per ${Math.round(1 / B.complaintPerDay)} days, and P = ${B.complaintAfterReturn}
   after a return; a complaint ends the subscription with P = ${B.unsubscribeAfterComplaint}. Unsubscribe per mail:
   ${B.unsubscribeBase} (1.5 - engagement), x${B.unsubscribeAfterDropout} after dropout. After dropout, opens, visits,
   referrals and shares decay by max(${B.decayFloor}, exp(-days since dropout / ${B.decayDays})).
6. **Returns.** Per line, with the top category's rate (x1.3 for promo orders): ${CATEGORY_TREE.map((c) => `${c.name} ${c.returnRate}`).join(', ')}.

## truth.csv

| column | meaning |
| --- | --- |
| acquired_at | time of the first order (BG/NBD time 0) |
| lambda_per_day, dropout_p | the customer's BG/NBD lambda (off-promo rate) and p |
| dropped_at | time of the purchase after which the customer dropped out; empty if alive at the data end |
| nu, expected_order_value | Gamma-Gamma nu and p / nu (${o.currency}) |
| engagement, promo_sensitivity, favourite_category | latent traits |
| alive_at_end | 1 if not dropped out by the data end |
| purchases_total, repeat_purchases | orders in the data (first included), and repeat orders x |
| t_x_days, T_days | days from the first order to the last one, and to the data end, in process time (timestamps sit at shop hours of the same day, so they differ by less than a day) |
| promo_orders | orders placed on promo days |
| acquisition_channel, ambassador | as generated |
| p_alive_given_history | P(alive at end given lambda, p, x, t_x, T) = (1-p) e^-L / ((1-p) e^-L + p), L = purchase intensity since the last order (1 if x = 0) |
| expected_purchases_${H}d | exact E[orders in the ${H} days after the data end given the latent state]: alive x (1 - exp(-p Lambda)) / p, Lambda = lambda (${H} + ${P.promoLift} promo_sensitivity x promo days in the window) |
| expected_purchases_${H}d_given_history | p_alive_given_history x (1 - exp(-p Lambda)) / p: the best any model knowing lambda and p can do |
| expected_spend_${H}d | expected_purchases_${H}d x expected_order_value |
| purchases_next_${H}d, spend_next_${H}d | the process continued for ${H} days: realised orders and order values (a hold-out) |
`;
}
