import { DuckDBInstance } from '@duckdb/node-api';
const variant = process.argv[3];
const inst = await DuckDBInstance.create(process.argv[2], { access_mode: 'READ_ONLY', memory_limit: '256MB', allocator_flush_threshold: '16MB', allocator_bulk_deallocation_flush_threshold: '32MB', allocator_background_threads: 'true' });
const c = await inst.connect();
const asOf = '2025-07-01 00:00:00';
await c.run(`CREATE TEMP VIEW asof_orders AS SELECT * FROM orders WHERE ordered_at < TIMESTAMP '${asOf}'`);
await c.run(`CREATE TEMP VIEW asof_customers AS SELECT * FROM customers WHERE created_at IS NULL OR created_at < TIMESTAMP '${asOf}'`);
const refused = `SELECT o.customer_id, o.order_id FROM asof_orders o
    SEMI JOIN (SELECT DISTINCT customer_id, order_id FROM asof_orders WHERE quantity <= 0 OR amount < 0) s
      ON o.customer_id = s.customer_id AND o.order_id = s.order_id
    GROUP BY o.customer_id, o.order_id HAVING NOT (max(o.quantity) > 0 AND sum(o.amount) >= 0)`;
const f = { current: `count(DISTINCT o.order_id)`, hashed: `count(DISTINCT hash(o.order_id))`, plain: 'count(*)' }[variant];
const rss0 = process.resourceUsage().maxRSS / 1024;
const t = performance.now();
await c.run(`CREATE OR REPLACE TEMP TABLE b AS WITH refused AS (${refused}), per_customer AS (
    SELECT o.customer_id, min(o.ordered_at) FILTER (WHERE r.order_id IS NULL)::DATE AS f1, max(o.ordered_at) FILTER (WHERE r.order_id IS NULL)::DATE AS f2,
      ${f} FILTER (WHERE r.order_id IS NULL)::INTEGER AS frequency, sum(o.amount) AS monetary
    FROM asof_orders o LEFT JOIN refused r ON o.customer_id = r.customer_id AND o.order_id = r.order_id GROUP BY o.customer_id)
    SELECT c.customer_id, p.* EXCLUDE (customer_id) FROM asof_customers c LEFT JOIN per_customer p USING (customer_id)`);
console.log(variant, ((performance.now() - t) / 1000).toFixed(2), 's; RSS before', rss0.toFixed(0), 'peak', (process.resourceUsage().maxRSS / 1024).toFixed(0), 'MB');
