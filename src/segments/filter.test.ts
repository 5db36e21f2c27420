// Tests of the segment filter language: the tree, the SQL with bound values, errors that point at the place, and the SQL run against DuckDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { Store } from '../store/db.js';
import { compileFilter, parseFilter, type FilterColumnType } from './filter.js';

const COLUMNS = new Map<string, FilterColumnType>([
  ['clv_12m', 'number'],
  ['churn_risk', 'number'],
  ['rfm_segment', 'text'],
  ['country', 'text'],
  ['churn_decisive_date', 'date'],
  ['is_ambassador', 'boolean'],
]);

const compile = (text: string) => compileFilter(text, parseFilter(text), COLUMNS);

/** The USAGE error a filter gives, as its message. */
function failure(text: string): string {
  try {
    compile(text);
  } catch (err) {
    expect(err).toBeInstanceOf(KairosError);
    expect((err as KairosError).code).toBe('USAGE');
    return (err as KairosError).message + ((err as KairosError).hint ? `\nhint: ${(err as KairosError).hint}` : '');
  }
  throw new Error(`"${text}" compiled`);
}

describe('segment filter language', () => {
  it("compiles the issue's example to SQL with every value bound and identifiers quoted", () => {
    const c = compile(`clv_12m > 200 and churn_risk > 0.6 and rfm_segment in ('At risk', "Can't lose them")`);
    expect(c.sql).toBe('((("clv_12m" > ?) AND ("churn_risk" > ?)) AND ("rfm_segment" IN (?, ?)))');
    expect(c.params).toEqual([200, 0.6, 'At risk', "Can't lose them"]);
    expect([...c.columns].sort()).toEqual(['churn_risk', 'clv_12m', 'rfm_segment']);
  });

  it('gives and precedence over or, honours parentheses and not, in any case', () => {
    expect(compile('country = "FR" OR clv_12m > 1 AND churn_risk < 0.5').sql).toBe('(("country" = ?) OR (("clv_12m" > ?) AND ("churn_risk" < ?)))');
    expect(compile('(country = "FR" or clv_12m > 1) and churn_risk < 0.5').sql).toBe('((("country" = ?) OR ("clv_12m" > ?)) AND ("churn_risk" < ?))');
    expect(compile('NOT country = "FR"').sql).toBe('(NOT ("country" = ?))');
  });

  it('knows not in, between, is null, <>, !=, booleans, negative numbers and ISO dates', () => {
    expect(compile("rfm_segment not in ('Lost')").sql).toBe('("rfm_segment" NOT IN (?))');
    expect(compile('clv_12m between -5 and 1e3').params).toEqual([-5, 1000]);
    expect(compile('churn_decisive_date is not null').sql).toBe('("churn_decisive_date" IS NOT NULL)');
    expect(compile("country <> 'FR'").sql).toBe('("country" <> ?)');
    expect(compile("country != 'FR'").sql).toBe('("country" <> ?)');
    expect(compile('is_ambassador = true').params).toEqual([true]);
    expect(compile("churn_decisive_date < '2025-03-01'").sql).toBe('("churn_decisive_date" < CAST(? AS TIMESTAMP))');
    // Doubled quotes stand for one.
    expect(compile("rfm_segment = 'Can''t lose them'").params).toEqual(["Can't lose them"]);
  });

  it('never puts user text in the SQL: an injection attempt is a bound value or a parse error', () => {
    const c = compile(`rfm_segment = 'x''); DROP TABLE orders; --'`);
    expect(c.sql).toBe('("rfm_segment" = ?)');
    expect(c.params).toEqual(["x'); DROP TABLE orders; --"]);
    expect(failure('rfm_segment = 1; DROP TABLE orders')).toMatch(/unexpected character ";"/);
    expect(failure('"clv_12m" > 1')).toMatch(/expected a column name, found text 'clv_12m'/);
  });

  it('points at the place of every error, with a caret under it', () => {
    const m = failure('clv_12m > 200 and churn_rsk > 0.6');
    expect(m).toContain('unknown column "churn_rsk" (at character 19)');
    expect(m.split('\n')[2]).toBe(`  ${' '.repeat(18)}^`);
    expect(m).toMatch(/hint: did you mean churn_risk/);
    expect(failure('clv_12m > ')).toMatch(/expected a value .* found the end of the filter \(at character 11\)/);
    expect(failure("rfm_segment in ('A', 'B'")).toMatch(/expected a "," or a "\)" to close the list/);
    expect(failure("rfm_segment = 'At risk")).toMatch(/no closing ' \(at character 15\)/);
    expect(failure('clv_12m > 200 churn_risk > 1')).toMatch(/expected "and", "or" or the end of the filter, found "churn_risk" \(at character 15\)/);
    expect(failure('(clv_12m > 200')).toMatch(/expected a "\)" to close the "\(" at character 1/);
    expect(failure('clv_12m like 3')).toMatch(/expected a comparison .* after clv_12m, found "like"/);
    expect(failure('rfm_segment = Champions')).toMatch(/hint: put text in quotes: 'Champions'/);
    expect(failure('')).toMatch(/the filter is empty/);
  });

  it("checks each value against its column's type", () => {
    expect(failure("clv_12m > '200'")).toMatch(/clv_12m is a number column: compare it with a number, not '200'/);
    expect(failure('rfm_segment = 3')).toMatch(/rfm_segment is a text column: compare it with text in quotes/);
    expect(failure("churn_decisive_date < 'soon'")).toMatch(/an ISO date in quotes/);
    expect(failure('is_ambassador = 1')).toMatch(/true or false/);
  });
});

describe('segment filters run in DuckDB', () => {
  let store: Store;
  beforeAll(async () => {
    store = await Store.open(':memory:');
    await store.run(`CREATE TABLE t AS SELECT * FROM (VALUES
      ('a', 250.0, 0.7, 'At risk', 'FR', TIMESTAMP '2025-02-01', true),
      ('b', 150.0, 0.9, 'At risk', 'DE', NULL, false),
      ('c', 900.0, 0.65, 'Can''t lose them', 'FR', TIMESTAMP '2025-04-01', false),
      ('d', 300.0, 0.2, 'Champions', NULL, NULL, true)) v(customer_id, clv_12m, churn_risk, rfm_segment, country, churn_decisive_date, is_ambassador)`);
  });
  afterAll(() => store.close());

  const ids = async (text: string): Promise<string[]> => {
    const c = compile(text);
    return (await store.all<{ customer_id: string }>(`SELECT customer_id FROM t WHERE ${c.sql} ORDER BY 1`, [...c.params])).map((r) => r.customer_id);
  };

  it('selects the customers each filter describes', async () => {
    expect(await ids(`clv_12m > 200 and churn_risk > 0.6 and rfm_segment in ('At risk', "Can't lose them")`)).toEqual(['a', 'c']);
    expect(await ids('country is null or not is_ambassador = true')).toEqual(['b', 'c', 'd']);
    expect(await ids("churn_decisive_date between '2025-01-15' and '2025-03-01'")).toEqual(['a']);
    expect(await ids("country not in ('FR')")).toEqual(['b']);
    expect(await ids("rfm_segment = 'x''); DROP TABLE t; --'")).toEqual([]);
    expect(await store.value('SELECT count(*) FROM t')).toBe(4);
  });
});
