// The model choice (`chooseTransactionModel`, issue #9): its stage in `kairos score`, its steps timed in a fresh process,
// and how often a smaller sample makes the choice the whole population makes.
//
//   npm run build
//   npx tsx bench/model-choice.ts [--sizes 100000,1000000] [--runs 3] [--kairos DIR[@N] ...] [--sample N ...]   # timing
//   npx tsx bench/model-choice.ts --agreement [--sizes 100000,1000000] [--samples 20000,30000,50000,100000] [--offsets 8]
//
// Stores: bench/out/choice-N.duckdb, made once from bench/out/purchases-N-seed42.csv (bench/purchase-log.ts) by
// `kairos ingest orders FILE --preset cdnow`. Timing, per size and run, for each build (--kairos DIR: a checkout built
// with `tsc -p tsconfig.build.json`, default this one) and sample size (--sample N, or DIR@N for that build only;
// default the build's own), all interleaved, one run of each in turn:
// - command: `node DIR/bin/kairos.js score --db COPY --progress` on a fresh copy of the store; the choice's stage is the
//   time from its progress line to the next (0.1 s resolution), and the command's wall and CPU time are its own;
//   with --sample N, scores.choiceSample N through a --config file;
// - in-process: a fresh child opens the store read-only, makes the as-of views and counts the customers (not timed),
//   then times one call of chooseTransactionModel (cold, as in the command: no model code has run in that process),
//   wall and process CPU time (process.cpuUsage, DuckDB's threads included), and its steps when the build reports them
//   (ChoiceOptions.onStep).
// Agreement (this build only): the choice on every customer (scores.choiceSample 0) against the choice on samples of
// each size drawn with --offsets different hash salts (the customer ids salted in the as-of view, so that
// customerSampleSql picks other customers): how many samples choose the same model and rank the three candidates
// alike, the whole population's choice's margin in each (the best other candidate's score minus its own), and how far
// each candidate's held-out MAE and Brier score land from the whole population's.
// Results go to stdout and bench/out/model-choice-timing.json or model-choice-agreement.json.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machine, median, option, options, sec } from './machine.js';
import { purchaseLog } from './purchase-log.js';

const OUT = resolve('bench/out');

/** Loaded before the command: prints its CPU time on stderr as it exits. */
const REPORT = `data:text/javascript,process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\n@@cpu ' + (u.user + u.system) + '\\n'); })`;

interface Step {
  readonly step: string;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

interface ChildResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly steps: readonly Step[];
  readonly model: string;
  readonly customers: number | null;
}

/** The store of `customers` simulated customers, ingested once by this checkout's CLI. */
function choiceStore(customers: number): string {
  const db = resolve(OUT, `choice-${customers}.duckdb`);
  if (!existsSync(db)) {
    const { csv } = purchaseLog(OUT, customers, 42);
    const r = spawnSync(process.execPath, ['bin/kairos.js', '--db', db, 'ingest', 'orders', csv, '--preset', 'cdnow', '--rejects-dir', resolve(OUT, 'kairos-rejects')], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`ingest of ${csv} failed:\n${r.stderr}`);
  }
  return db;
}

/** `kairos score --progress` on a copy of the store: its wall and CPU time and the choice's stage. */
function command(dir: string, db: string, sample: number | null): { seconds: number; cpuSeconds: number; choiceSeconds: number; reason: string } {
  const copy = resolve(OUT, 'tmp', 'choice-score.duckdb');
  mkdirSync(resolve(OUT, 'tmp'), { recursive: true });
  for (const f of [copy, `${copy}.wal`]) rmSync(f, { force: true });
  copyFileSync(db, copy);
  const config = resolve(OUT, 'tmp', 'choice-config.json');
  if (sample !== null) writeFileSync(config, JSON.stringify({ scores: { choiceSample: sample } }));
  const started = performance.now();
  const r = spawnSync(
    process.execPath,
    ['--import', REPORT, resolve(dir, 'bin/kairos.js'), '--db', copy, ...(sample === null ? [] : ['--config', config]), '--progress', 'score'],
    { encoding: 'utf8' },
  );
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`kairos score failed (${r.status}):\n${r.stderr}`);
  const marks = [...r.stderr.matchAll(/^ {2}\[(\d+\.\d)s\] (.*)$/gm)].map((m) => ({ at: Number(m[1]), message: m[2] ?? '' }));
  const i = marks.findIndex((m) => m.message.includes('choosing the purchase model'));
  if (i < 0) throw new Error(`no model-choice progress line in:\n${r.stderr}`);
  const choiceSeconds = (marks[i + 1]?.at ?? seconds) - (marks[i]?.at ?? 0);
  const reason = /note: (.*chosen by held-out fit.*)$/m.exec(r.stdout)?.[1] ?? '';
  rmSync(copy, { force: true });
  return { seconds, cpuSeconds: Number(/@@cpu (\d+)/.exec(r.stderr)?.[1] ?? 0) / 1e6, choiceSeconds, reason };
}

/** One cold call of chooseTransactionModel in a fresh process (this script with --child). */
function inProcess(dir: string, db: string, sample: number | null): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/model-choice.ts', '--child', dir, db, String(sample ?? 'default')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed (${r.status}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null') as ChildResult;
}

/** The choice module and the store of a build, from its compiled dist/. */
async function load(dir: string) {
  const url = (p: string): string => pathToFileURL(resolve(dir, 'dist', p)).href;
  const { Store, quoteLiteral } = (await import(url('store/db.js'))) as typeof import('../src/store/db.js');
  const asOf = (await import(url('features/as-of.js'))) as typeof import('../src/features/as-of.js');
  const choice = (await import(url('scores/clv/model-choice.js'))) as typeof import('../src/scores/clv/model-choice.js');
  const { DEFAULT_CONFIG } = (await import(url('config.js'))) as typeof import('../src/config.js');
  return { Store, quoteLiteral, asOf, choice, defaultSample: DEFAULT_CONFIG.scores.choiceSample };
}

async function child(dir: string, db: string, given: string): Promise<void> {
  const { Store, asOf: views, choice, defaultSample } = await load(dir);
  const sample = given === 'default' ? defaultSample : Number(given);
  const store = await Store.open(db, { readOnly: true, memoryLimit: '256MB' });
  try {
    const asOf = await views.defaultAsOf(store);
    await views.createAsOfViews(store, asOf);
    const population = Number(await store.value('SELECT count(DISTINCT customer_id) FROM asof_orders'));
    const steps: Step[] = [];
    let mark = { step: '', at: performance.now(), cpu: process.cpuUsage() };
    const onStep = (step: string): void => {
      const cpu = process.cpuUsage(mark.cpu);
      if (mark.step) steps.push({ step: mark.step, seconds: (performance.now() - mark.at) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
      mark = { step, at: performance.now(), cpu: process.cpuUsage() };
    };
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    onStep('stats (span of the orders)');
    const made = await choice.chooseTransactionModel(store, asOf, { sample, population, onStep });
    const cpu = process.cpuUsage(cpu0);
    const result: ChildResult = {
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      steps,
      model: made.model,
      customers: made.customers ?? null,
    };
    console.log(JSON.stringify(result));
  } finally {
    store.close();
  }
}

/** Timing: command and in-process runs, builds interleaved. */
async function timing(): Promise<unknown[]> {
  const sizes = option('--sizes', '100000,1000000').split(',').map(Number);
  const runs = Number(option('--runs', '3'));
  const given = (options('--kairos').length > 0 ? options('--kairos') : ['.']).map((d) => {
    const [dir, n] = d.split('@');
    return { dir: resolve(dir as string), sample: n === undefined ? null : Number(n) };
  });
  const samples = options('--sample').map(Number);
  const variants = given.flatMap(({ dir, sample: own }) =>
    (own !== null ? [own] : samples.length > 0 ? samples : [null]).map((sample) => ({ dir, sample, label: `${dir}, sample ${sample ?? 'default'}` })),
  );
  const results = [];
  for (const customers of sizes) {
    const db = choiceStore(customers);
    const byVariant = new Map(variants.map((v) => [v.label, [] as { load: number; command: ReturnType<typeof command>; child: ChildResult }[]]));
    for (let r = 0; r < runs; r++) {
      for (const { dir, sample, label } of variants) {
        const load = loadavg()[0] ?? 0;
        const cmd = command(dir, db, sample);
        const ch = inProcess(dir, db, sample);
        byVariant.get(label)?.push({ load, command: cmd, child: ch });
        console.log(
          `${customers.toLocaleString('en')}, ${label}, run ${r + 1} (load ${load.toFixed(1)}): score ${sec(cmd.seconds)} s (CPU ${sec(cmd.cpuSeconds)} s), ` +
            `its choice stage ${cmd.choiceSeconds.toFixed(1)} s; in-process ${sec(ch.seconds)} s (CPU ${sec(ch.cpuSeconds)} s), ${ch.model}`,
        );
      }
    }
    for (const [label, all] of byVariant) {
      const mid = [...all].sort((a, b) => a.child.seconds - b.child.seconds)[Math.floor(all.length / 2)];
      const summary = {
        customers,
        variant: label,
        runs: all,
        load: all.map((a) => a.load),
        medianScore: median(all.map((a) => a.command.seconds)),
        medianScoreCpu: median(all.map((a) => a.command.cpuSeconds)),
        medianChoiceStage: median(all.map((a) => a.command.choiceSeconds)),
        medianInProcess: median(all.map((a) => a.child.seconds)),
        medianInProcessCpu: median(all.map((a) => a.child.cpuSeconds)),
      };
      console.log(
        `\n${customers.toLocaleString('en')} customers, ${label}: choice stage in \`kairos score\` ${all.map((a) => a.command.choiceSeconds.toFixed(1)).join(', ')} ` +
          `(median ${summary.medianChoiceStage.toFixed(1)} s); in-process ${all.map((a) => sec(a.child.seconds)).join(', ')} (median ${sec(summary.medianInProcess)} s, ` +
          `CPU ${all.map((a) => sec(a.child.cpuSeconds)).join(', ')}, median ${sec(summary.medianInProcessCpu)} s); score ${sec(summary.medianScore)} s (CPU ${sec(summary.medianScoreCpu)} s); ` +
          `load ${summary.load.map((l) => l.toFixed(1)).join(', ')}`,
      );
      for (const s of mid?.child.steps ?? []) console.log(`  ${sec(s.seconds).padStart(6)} s (CPU ${sec(s.cpuSeconds)} s)  ${s.step}`);
      results.push(summary);
    }
  }
  return results;
}

interface Candidate {
  readonly model: string;
  readonly holdoutMae: number | null;
  readonly holdoutBrier: number | null;
}

/**
 * Candidates in the choice's order (the lowest sum of MAE and Brier ratios to the best first) and, for `model`, its
 * margin: the best other candidate's score minus its own (negative when another candidate wins).
 */
function ranking(candidates: readonly Candidate[], model: string): { order: string[]; margin: number } {
  const ok = candidates.filter((c) => c.holdoutMae !== null && c.holdoutBrier !== null);
  const bestMae = Math.min(...ok.map((c) => c.holdoutMae as number));
  const bestBrier = Math.min(...ok.map((c) => c.holdoutBrier as number));
  const scored = ok.map((c) => ({ model: c.model, score: (c.holdoutMae as number) / bestMae + (c.holdoutBrier as number) / bestBrier })).sort((a, b) => a.score - b.score);
  const own = scored.find((c) => c.model === model)?.score ?? Number.NaN;
  return { order: scored.map((c) => c.model), margin: Math.min(...scored.filter((c) => c.model !== model).map((c) => c.score)) - own };
}

/** One sampled choice against the whole population's: each candidate's MAE and Brier score minus the population's. */
interface SampledChoice {
  readonly offset: number;
  readonly model: string;
  readonly order: readonly string[];
  /** The whole population's choice's margin in this sample (see ranking). */
  readonly margin: number;
  readonly customers: number | undefined;
  readonly seconds: number;
  readonly gaps: readonly { model: string; mae: number | null; brier: number | null }[];
  readonly candidates: readonly Candidate[];
}

/** Agreement of sampled choices with the whole population's, in this process (this build). */
async function agreement(): Promise<unknown[]> {
  const sizes = option('--sizes', '100000,1000000').split(',').map(Number);
  const samples = option('--samples', '20000,30000,50000,100000').split(',').map(Number);
  const offsets = Number(option('--offsets', '8'));
  const { Store, quoteLiteral, asOf: views, choice } = await load('.');
  const results = [];
  for (const customers of sizes) {
    const store = await Store.open(choiceStore(customers), { readOnly: true, memoryLimit: '1GB' });
    try {
      const asOf = await views.defaultAsOf(store);
      /** The as-of view with the ids salted: another hash, so another sample of the same customers. */
      const salted = async (salt: string): Promise<number> => {
        await store.run(
          `CREATE OR REPLACE TEMP VIEW asof_orders AS SELECT * REPLACE (customer_id || ${quoteLiteral(salt)} AS customer_id) FROM orders
           WHERE ordered_at < TIMESTAMP ${quoteLiteral(asOf)}`,
        );
        return Number(await store.value('SELECT count(DISTINCT customer_id) FROM asof_orders'));
      };
      const population = await salted('');
      let t = performance.now();
      const full = await choice.chooseTransactionModel(store, asOf, { sample: 0, population });
      const fullSeconds = (performance.now() - t) / 1000;
      console.log(`\n${customers.toLocaleString('en')} customers, every one (${sec(fullSeconds)} s): ${full.reason}`);
      const byModel = new Map(full.candidates.map((c) => [c.model, c as Candidate]));
      const fullRanking = ranking(full.candidates, full.model);
      console.log(`  ranking ${fullRanking.order.join(' < ')}, margin ${fullRanking.margin.toFixed(4)} (the runner-up's score minus the winner's)`);
      for (const sample of samples) {
        if (sample >= population) continue;
        const rows: SampledChoice[] = [];
        for (let o = 0; o < offsets; o++) {
          await salted(o === 0 ? '' : `#${o}`);
          t = performance.now();
          const c = await choice.chooseTransactionModel(store, asOf, { sample, population });
          const seconds = (performance.now() - t) / 1000;
          const gaps = c.candidates.map((k) => {
            const f = byModel.get(k.model);
            return {
              model: k.model,
              mae: k.holdoutMae === null || f?.holdoutMae == null ? null : k.holdoutMae - f.holdoutMae,
              brier: k.holdoutBrier === null || f?.holdoutBrier == null ? null : k.holdoutBrier - f.holdoutBrier,
            };
          });
          rows.push({ offset: o, model: c.model, ...ranking(c.candidates, full.model), customers: c.customers, seconds, gaps, candidates: c.candidates });
        }
        const same = rows.filter((r) => r.model === full.model).length;
        const sameOrder = rows.filter((r) => r.order.join() === fullRanking.order.join()).length;
        const margins = rows.map((r) => r.margin);
        const worst = (key: 'mae' | 'brier'): number => Math.max(...rows.flatMap((r) => r.gaps.map((g) => Math.abs(g[key] ?? Number.NaN))));
        const summary = {
          customers,
          sample,
          offsets,
          fullModel: full.model,
          fullCandidates: full.candidates,
          sameChoice: same,
          sameRanking: sameOrder,
          fullMargin: fullRanking.margin,
          margins,
          choices: rows.map((r) => r.model),
          maxMaeGap: worst('mae'),
          maxBrierGap: worst('brier'),
          medianSeconds: median(rows.map((r) => r.seconds)),
          rows,
        };
        console.log(
          `  sample ${sample.toLocaleString('en')}: ${same}/${offsets} choose ${full.model}, ${sameOrder}/${offsets} rank all three alike; ` +
            `${full.model}'s margin (negative: another won) median ${median(margins).toFixed(4)}, min ${Math.min(...margins).toFixed(4)}; ` +
            `largest gap to the whole population's MAE ${summary.maxMaeGap.toFixed(4)}, Brier ${summary.maxBrierGap.toFixed(4)}; ${sec(summary.medianSeconds)} s (warm, median)`,
        );
        results.push(summary);
      }
    } finally {
      store.close();
    }
  }
  return results;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as string, process.argv[4] as string, process.argv[5] as string);
} else {
  mkdirSync(OUT, { recursive: true });
  const env = await machine();
  console.log(`${env.cpu}, ${env.nproc} cores, ${env.memoryGb} GB; Node ${env.node}; DuckDB ${env.duckdb}; load ${env.loadAtStart.toFixed(2)}`);
  const mode = process.argv.includes('--agreement') ? 'agreement' : 'timing';
  const results = mode === 'agreement' ? await agreement() : await timing();
  const file = resolve(OUT, `model-choice-${mode}.json`);
  writeFileSync(file, JSON.stringify({ machine: env, results }, null, 1));
  console.log(`\nwritten ${file}`);
}
