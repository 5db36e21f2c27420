// What-if, not the product: the same summary SQL and model functions as the CLV scorer, with leaner DuckDB <-> JS transfers.
//
// It measures how much of the end-to-end time and memory is the transfer layer (Store.readColumns / writeColumns,
// customer ids crossing into JS and back, the extra table copy) rather than SQL or models: the summary stays in a
// DuckDB table, its numeric columns are read chunk by chunk straight into Float64Arrays, the scores are appended as
// typed arrays and joined back to the ids by position. Run through `npx tsx bench/clv.ts --what-if`.
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuckDBConnection, DuckDBDataChunk, DuckDBDoubleType, DuckDBDoubleVector, DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { observationEnd, summarySql } from '../../src/features/summary.js';
import { bgNbd, gammaGamma, type RfmData } from '../../src/models/index.js';
import { CLV_HORIZONS } from '../../src/scores/clv.js';
import { quoteLiteral } from '../../src/store/db.js';
import { STAGES, ordersViewSql, type PipelineRequest, type Stage } from './pipeline.js';

export interface WhatIfResult {
  readonly mode: 'what-if';
  readonly seconds: Record<Stage, number> & { total: number };
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
  readonly memory: Record<Stage, { peakRssMb: number; heapMb: number }>;
  /** Rows of the product's score file (`compareTo`) that differ from this run's (values rounded to 1e-9); -1 if not compared. */
  readonly differingRows: number;
}

/** Reads the DOUBLE columns of a query chunk by chunk into Float64Arrays (NULL -> NaN), without per-row JS arrays. */
async function readDoubles(connection: DuckDBConnection, sql: string, rows: number): Promise<Float64Array[]> {
  const result = await connection.run(sql);
  const out = Array.from({ length: result.columnCount }, () => new Float64Array(rows));
  let offset = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const count = chunk.rowCount;
    out.forEach((column, c) => {
      const vector = chunk.getColumnVector(c) as DuckDBDoubleVector;
      for (let i = 0; i < count; i++) column[offset + i] = vector.getItem(i) ?? Number.NaN;
    });
    offset += count;
  }
  return out;
}

/** Appends equal-length Float64Arrays to a new temp table of DOUBLE columns; non-finite values become NULL. */
async function appendDoubles(connection: DuckDBConnection, table: string, columns: Record<string, Float64Array>): Promise<void> {
  const names = Object.keys(columns);
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${table} (${names.map((n) => `${n} DOUBLE`).join(', ')})`);
  const appender = await connection.createAppender(table);
  const types = names.map(() => DuckDBDoubleType.instance);
  const n = (columns[names[0] as string] as Float64Array).length;
  for (let start = 0; start < n; start += 2048) {
    const end = Math.min(n, start + 2048);
    const chunk = DuckDBDataChunk.create(types, end - start);
    names.forEach((name, c) => {
      const vector = chunk.getColumnVector(c) as DuckDBDoubleVector;
      const src = columns[name] as Float64Array;
      for (let i = start; i < end; i++) {
        const v = src[i] as number;
        vector.setItem(i - start, Number.isFinite(v) ? v : null);
      }
      vector.flush();
    });
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

export async function runWhatIf(req: PipelineRequest, compareTo?: string): Promise<WhatIfResult> {
  const peak = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
  const instance = await DuckDBInstance.create(':memory:', req.memoryLimit ? { memory_limit: req.memoryLimit } : {});
  const db = await instance.connect();
  await db.run(`SET temp_directory = ${quoteLiteral(req.tempDir)}`);
  if (req.threads !== undefined) await db.run(`SET threads = ${Math.trunc(req.threads)}`);
  const s = DEFAULT_CONFIG.scores;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const ends: Partial<Record<Stage, number>> = {};
  const memory: Partial<WhatIfResult['memory']> = {};
  const end = (stage: Stage): void => {
    ends[stage] = performance.now();
    memory[stage] = { peakRssMb: peak(), heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) };
  };

  for (const sql of ordersViewSql(req.csv, req.asOf)) await db.run(sql);
  end('read');
  const obsEnd = observationEnd(req.asOf);
  await db.run(`CREATE TEMP TABLE summary AS ${summarySql('asof_orders')}`, [obsEnd]);
  const rows = Number((await db.runAndReadAll('SELECT count(*) FROM summary')).getRows()[0]?.[0]);
  const [x, tx, T, m, lastDay] = (await readDoubles(db, 'SELECT x, tx, "T", m, last_day FROM summary', rows)) as [
    Float64Array, Float64Array, Float64Array, Float64Array, Float64Array,
  ];
  const rfm: RfmData = { x, tx, T };
  end('summary');
  const fit = bgNbd.fit(rfm);
  end('fitBgNbd');
  let k = 0;
  for (let i = 0; i < rows; i++) if ((x[i] as number) > 0 && (m[i] as number) > 0) k++;
  const rx = new Float64Array(k);
  const rm = new Float64Array(k);
  k = 0;
  for (let i = 0; i < rows; i++) {
    if ((x[i] as number) > 0 && (m[i] as number) > 0) {
      rx[k] = x[i] as number;
      rm[k++] = m[i] as number;
    }
  }
  const gg = gammaGamma.fit({ x: rx, m: rm });
  const spend = gammaGamma.conditionalExpectedSpend(gg.params, { x, m: m.map((v) => (v > 0 ? v : 0)) });
  end('fitGammaGamma');
  const p = fit.params;
  const pAlive = bgNbd.pAlive(p, rfm);
  const exp90 = bgNbd.expectedPurchases(p, rfm, CLV_HORIZONS.expectedPurchasesDays);
  const conv30 = bgNbd.conversionProbability(p, rfm, CLV_HORIZONS.conversionDays);
  const clv = gammaGamma.clv(bgNbd.bgNbd, p, rfm, spend, { months: s.clvMonths, monthlyDiscount: s.monthlyDiscountRate, monthLength: CLV_HORIZONS.monthDays });
  const wait = bgNbd.expectedWaitToNextPurchase(p, rfm);
  const sinceLast = bgNbd.decisiveTime(p, { x, tx, T: tx }, s.decisiveThreshold);
  const endDay = Date.parse(`${obsEnd}T00:00:00Z`) / 86_400_000;
  const churn = new Float64Array(rows);
  const nextDay = new Float64Array(rows);
  const decisiveDay = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const pa = pAlive[i] as number;
    churn[i] = 1 - pa;
    nextDay[i] = pa >= s.decisiveThreshold ? endDay + Math.max(1, Math.ceil(wait[i] as number)) : Number.NaN;
    const d = sinceLast[i] as number;
    decisiveDay[i] = Number.isFinite(d) ? (lastDay[i] as number) + Math.ceil(d) : Number.NaN;
  }
  end('score');
  await appendDoubles(db, 'clv_values', {
    p_alive: pAlive,
    churn_risk: churn,
    expected_purchases_90d: exp90,
    conversion_probability_30d: conv30,
    expected_order_value: spend,
    clv_12m: clv,
    next_day: nextDay,
    decisive_day: decisiveDay,
  });
  rmSync(req.out, { force: true });
  await db.run(
    `COPY (SELECT s.customer_id, v.p_alive, v.churn_risk, v.expected_purchases_90d, v.conversion_probability_30d,
         round(v.expected_order_value, 2) AS expected_order_value, round(v.clv_12m, 2) AS clv_12m,
         DATE '1970-01-01' + v.next_day::INTEGER AS next_order_date, DATE '1970-01-01' + v.decisive_day::INTEGER AS churn_decisive_date,
         'bg-nbd' AS clv_model
       FROM (SELECT customer_id FROM summary) s POSITIONAL JOIN clv_values v) TO ${quoteLiteral(req.out)} (FORMAT parquet)`,
  );
  end('write');
  const peakRssMb = peak();
  const cpu = process.cpuUsage(c0);
  let differingRows = -1;
  if (compareTo !== undefined && existsSync(compareTo)) {
    const rounded = (file: string): string =>
      `SELECT * REPLACE (round(p_alive, 9) AS p_alive, round(churn_risk, 9) AS churn_risk, round(expected_purchases_90d, 9) AS expected_purchases_90d,
         round(conversion_probability_30d, 9) AS conversion_probability_30d) FROM read_parquet(${quoteLiteral(file)})`;
    const sql = `SELECT count(*) FROM ((${rounded(req.out)} EXCEPT ${rounded(compareTo)}) UNION ALL (${rounded(compareTo)} EXCEPT ${rounded(req.out)}))`;
    differingRows = Number((await db.runAndReadAll(sql)).getRows()[0]?.[0]);
  }
  db.closeSync();
  instance.closeSync();
  const at = (st: Stage): number => ends[st] as number;
  const seconds = Object.fromEntries(
    STAGES.map((st, i) => [st, (at(st) - (i === 0 ? t0 : at(STAGES[i - 1] as Stage))) / 1000]),
  ) as Record<Stage, number>;
  return {
    mode: 'what-if',
    seconds: { ...seconds, total: (at('write') - t0) / 1000 },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb,
    memory: memory as WhatIfResult['memory'],
    differingRows,
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.dirname, 'what-if.ts')) {
  const out = await runWhatIf(JSON.parse(process.argv[2] ?? '{}') as PipelineRequest, process.argv[3]);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
