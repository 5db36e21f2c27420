// How long the server's thread is held when a run's worker hands it a million rows, and back (src/store/remote.ts).
//
//   npx tsx bench/worker-transfer.ts [--rows 1000000] [--repeat 5]
//
// A worker thread stands for a run's worker, the main thread for kairos serve's. Measured on the main thread, as the
// longest delay of its event loop (perf_hooks.monitorEventLoopDelay, 1 ms resolution) while the transfer goes on, the
// time from the first message to the last answer, and the young-generation collections over 20 ms meanwhile:
// - the learned scorer's exposure (customer id, three numbers, three reasons of ~120 characters): sent whole in one
//   message; in parts of 20,000 rows all posted at once; in parts each posted once the one before is answered, the
//   texts as separate strings; the same with the texts packed (PackedTexts, what RemoteStore.exposeColumns does);
// - a readColumns answer of a million ids, sent by the main thread: whole, or packed in parts with a turn between two.
// Medians of --repeat rounds.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread, MessageChannel, parentPort, Worker, workerData } from 'node:worker_threads';
import { PackedTexts, packTexts, type PackedPart } from '../src/store/packed-texts.js';

const PART = 20_000;
type Mode = 'whole' | 'parts at once' | 'parts in turn' | 'packed parts in turn';
const MODES: readonly Mode[] = ['whole', 'parts at once', 'parts in turn', 'packed parts in turn'];

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

function reasons(i: number, t: number): string {
  return JSON.stringify([
    { feature: 'days_since_last', value: (i % 97) + t, effect: -0.0123 * ((i % 13) + 1) },
    { feature: 'orders_365d', value: i % 11, effect: 0.031 * (t + 1) },
  ]);
}

/** The worker's end: builds the columns once, then sends them as each message from the main thread asks. */
function worker(rows: number): void {
  const ids = Array.from({ length: rows }, (_, i) => `c${String(i).padStart(7, '0')}`);
  const numbers = [0, 1, 2].map((t) => Float64Array.from({ length: rows }, (_, i) => (i % 1000) / (t + 7)));
  const texts = [0, 1, 2].map((t) => Array.from({ length: rows }, (_, i) => reasons(i, t)));
  const port = parentPort!;
  let acked: (() => void) | null = null;
  port.on('message', async (m: { mode?: Mode; ack?: true }) => {
    if (m.ack) return acked?.();
    const mode = m.mode as Mode;
    if (mode === 'whole') {
      port.postMessage({ start: 0, rows, ids, numbers, texts });
      return;
    }
    for (let start = 0; start < rows; start += PART) {
      const end = Math.min(rows, start + PART);
      const n = numbers.map((c) => c.slice(start, end));
      const part =
        mode === 'packed parts in turn'
          ? { start, rows, packed: [ids, ...texts].map((c) => packTexts(c, start, end)), numbers: n }
          : { start, rows, ids: ids.slice(start, end), texts: texts.map((c) => c.slice(start, end)), numbers: n };
      const answered = new Promise<void>((done) => (acked = done));
      port.postMessage(part);
      if (mode !== 'parts at once') await answered;
    }
  });
  port.postMessage({ ready: true });
}

interface Measure {
  readonly maxDelay: number;
  readonly seconds: number;
  readonly scavenges: number;
}

async function main(): Promise<void> {
  const rows = Number(option('--rows', '1000000'));
  const repeat = Number(option('--repeat', '5'));
  // This file again, through tsx (as src/server/runner.ts starts its worker from the TypeScript source).
  const tsx = import.meta.resolve('tsx/esm/api');
  const w = new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`, { eval: true, workerData: { rows } });
  await new Promise<void>((ready) => w.once('message', () => ready()));
  let scavenges = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 20) scavenges++;
  }).observe({ entryTypes: ['gc'] });

  const receive = (mode: Mode): Promise<Measure> =>
    new Promise((done) => {
      const h = monitorEventLoopDelay({ resolution: 1 });
      // Where the main thread keeps what arrives, as the host does (numbers filled in place; texts as strings or packed).
      const ids: (string | null)[] = new Array<string | null>(rows);
      const texts = [0, 1, 2].map(() => new Array<string | null>(rows));
      const packed = [0, 1, 2, 3].map(() => new PackedTexts(rows, PART));
      const numbers = [0, 1, 2].map(() => new Float64Array(rows));
      let got = 0;
      scavenges = 0;
      const t0 = performance.now();
      h.enable();
      const on = (m: { start: number; rows: number; ids?: string[]; texts?: string[][]; packed?: PackedPart[]; numbers: Float64Array[] }): void => {
        if (m.packed) m.packed.forEach((p, c) => packed[c]?.add(m.start, p));
        else {
          const n = m.ids?.length ?? 0;
          for (let i = 0; i < n; i++) ids[m.start + i] = m.ids?.[i] ?? null;
          m.texts?.forEach((c, t) => {
            const into = texts[t] as (string | null)[];
            for (let i = 0; i < c.length; i++) into[m.start + i] = c[i] as string;
          });
        }
        m.numbers.forEach((c, t) => numbers[t]?.set(c, m.start));
        got += m.numbers[0]?.length ?? 0;
        w.postMessage({ ack: true });
        if (got < rows) return;
        w.off('message', on);
        // A few turns more: a collection the arrivals caused shows in the loop's delay.
        setTimeout(() => {
          h.disable();
          done({ maxDelay: h.max / 1e6, seconds: (performance.now() - t0) / 1000, scavenges });
        }, 50);
      };
      w.on('message', on);
      w.postMessage({ mode });
    });

  const send = async (packedReply: boolean): Promise<Measure> => {
    const ids = Array.from({ length: rows }, (_, i) => `c${String(i).padStart(7, '0')}`);
    const h = monitorEventLoopDelay({ resolution: 1 });
    scavenges = 0;
    const t0 = performance.now();
    h.enable();
    const port = new MessageChannel();
    port.port2.on('message', () => undefined);
    if (!packedReply) port.port1.postMessage({ texts: { id: ids } });
    else {
      const parts: PackedPart[] = [];
      for (let start = 0; start < rows; start += PART) {
        if (start > 0) await new Promise((turn) => setImmediate(turn));
        parts.push(packTexts(ids, start, Math.min(rows, start + PART)));
      }
      port.port1.postMessage({ packed: { id: parts } });
    }
    await new Promise((turn) => setTimeout(turn, 50));
    h.disable();
    port.port1.close();
    port.port2.close();
    return { maxDelay: h.max / 1e6, seconds: (performance.now() - t0) / 1000, scavenges };
  };

  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const show = (label: string, ms: Measure[]): void => {
    console.log(
      `${label.padEnd(44)} longest stop of the main thread ${median(ms.map((m) => m.maxDelay)).toFixed(0).padStart(5)} ms (runs: ${ms.map((m) => m.maxDelay.toFixed(0)).join(', ')}), ` +
        `${median(ms.map((m) => m.seconds)).toFixed(2)} s in all, ${median(ms.map((m) => m.scavenges))} collections over 20 ms`,
    );
  };
  console.log(`${rows.toLocaleString('en')} rows, parts of ${PART.toLocaleString('en')}, medians of ${repeat} (node ${process.version})`);
  for (const mode of MODES) {
    const ms: Measure[] = [];
    for (let r = 0; r < repeat; r++) {
      ms.push(await receive(mode));
      globalThis.gc?.();
    }
    show(`exposure, worker to main: ${mode}`, ms);
  }
  for (const packedReply of [false, true]) {
    const ms: Measure[] = [];
    for (let r = 0; r < repeat; r++) ms.push(await send(packedReply));
    show(`readColumns ids, main to worker: ${packedReply ? 'packed' : 'whole'}`, ms);
  }
  await w.terminate();
}

if (isMainThread) await main();
else worker((workerData as { rows: number }).rows);
