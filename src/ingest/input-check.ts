// Byte-level checks of an input file that DuckDB's CSV reader does not make: a whole gzip stream, and no line over the limit.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { KairosError } from '../errors.js';
import { formatCount } from '../util/format.js';

/**
 * Lines read before the head of a file counts as checked: DuckDB's sniffer reads its first 20,480 rows (sample_size),
 * and it takes minutes to fail on a line of tens of MB there, without interrupt and citing line 1.
 */
export const HEAD_LINES = 65_536;

/** Bytes read at a time (the file, and gunzip's output). */
const CHUNK_BYTES = 2 ** 20;

export interface InputCheckOptions {
  /** Longest line allowed, in bytes before its line feed (a carriage return before it counts). */
  readonly maxLineBytes: number;
  /** Lines of the head (default HEAD_LINES). */
  readonly headLines?: number;
  /** Test hook: bytes read at a time. */
  readonly chunkBytes?: number;
}

/** A check running in the background; its promises are handled, so an unawaited failure does not crash the process. */
export interface InputCheck {
  /** Settles once the first `headLines` lines are read: rejects with what is wrong there. */
  readonly head: Promise<void>;
  /** Settles once the whole file is read: rejects with the first thing wrong. */
  readonly done: Promise<void>;
  /** Stops reading (a no-op once settled); `done` then rejects, unawaited. */
  cancel(): void;
}

/** Whether Kairos reads `file` through gunzip (DuckDB decompresses the same files: by name). */
export function isGzip(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

/**
 * Reads `file` (decompressed when it is .gz) to the end in the background, checking that every line has at most
 * `maxLineBytes` bytes and, for gzip, that the stream is whole: zlib fails on a truncated stream, on corrupt data and on
 * a CRC or length mismatch, where DuckDB stops reading without a word. A line too long fails as soon as `maxLineBytes`
 * of it are read. After the head, each step looks back from `maxLineBytes` past the last line start for a line break:
 * one search per `maxLineBytes` of text, so the cost is reading (and gunzipping) the file.
 */
export function checkInput(file: string, options: InputCheckOptions): InputCheck {
  const controller = new AbortController();
  const scanner = new LineScanner(options.maxLineBytes, options.headLines ?? HEAD_LINES);
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  let headSettled = false;
  let resolveHead: () => void = () => {};
  let rejectHead: (err: unknown) => void = () => {};
  const head = new Promise<void>((resolve, reject) => {
    resolveHead = resolve;
    rejectHead = reject;
  });
  // What the scanner found: pipeline may reject with an abort of the gunzip stage instead of the error thrown here.
  let found: LineTooLong | undefined;
  const consume = async (source: AsyncIterable<Buffer>): Promise<void> => {
    try {
      for await (const chunk of source) {
        scanner.push(chunk);
        if (!headSettled && scanner.headDone) {
          headSettled = true;
          resolveHead();
        }
      }
      scanner.end();
    } catch (err) {
      if (err instanceof LineTooLong) found = err;
      throw err;
    }
  };
  const read = (): Promise<void> => {
    const { signal } = controller;
    if (!isGzip(file)) return consume(fileChunks(file, chunkBytes, signal));
    return pipeline(createReadStream(file, { highWaterMark: chunkBytes }), createGunzip({ chunkSize: Math.max(64, chunkBytes) }), consume, { signal });
  };
  const done = read().then(
    () => {
      if (!headSettled) resolveHead();
      headSettled = true;
    },
    async (err: unknown) => {
      const failure = await describeFailure(file, found ?? err, scanner, chunkBytes);
      if (!headSettled) rejectHead(failure);
      headSettled = true;
      throw failure;
    },
  );
  head.catch(() => {});
  done.catch(() => {});
  return { head, done, cancel: () => controller.abort() };
}

/** The bytes of `file`, read into one buffer over and over (each chunk is valid until the next is asked for). */
async function* fileChunks(file: string, chunkBytes: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      signal.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** A line found too long: where it starts. */
class LineTooLong extends Error {
  constructor(
    readonly start: number,
    readonly line: number | undefined,
  ) {
    super('line too long');
  }
}

/**
 * Follows line starts through the chunks of a file. In the head, every line break is visited (and counted); after it,
 * only one per `max` bytes of text. Line breaks are line feeds, or carriage returns in a file whose head has no line feed.
 */
class LineScanner {
  /** Bytes seen. */
  private offset = 0;
  /** Offset of the first byte of the current line. */
  private lineStart = 0;
  /** Lines ended so far, while in the head. */
  private lines = 0;
  private breakByte = 0x0a;
  /** The line break is known once a line feed, or a carriage return not followed by one, is seen. */
  private breakKnown = false;
  headDone = false;

  constructor(
    readonly max: number,
    private readonly headLines: number,
  ) {}

  push(chunk: Buffer): void {
    const base = this.offset;
    if (!this.breakKnown) this.learnBreak(chunk);
    this.offset += chunk.length;
    if (!this.headDone) {
      let from = 0;
      for (;;) {
        const i = chunk.indexOf(this.breakByte, from);
        if (i < 0) break;
        if (base + i - this.lineStart > this.max) throw new LineTooLong(this.lineStart, this.lines + 1);
        this.lines++;
        this.lineStart = base + i + 1;
        from = i + 1;
        if (this.lines >= this.headLines) {
          this.headDone = true;
          break;
        }
      }
      if (!this.headDone) {
        if (this.offset - this.lineStart > this.max) throw new LineTooLong(this.lineStart, this.lines + 1);
        return;
      }
    }
    // Past the head: the line starting at lineStart must end within max bytes. The last break up to that point is then
    // the start of a later line, max bytes before which there was a break again, and so on.
    while (this.lineStart + this.max < this.offset) {
      const at = chunk.lastIndexOf(this.breakByte, this.lineStart + this.max - base);
      if (at < 0 || base + at < this.lineStart) throw new LineTooLong(this.lineStart, undefined);
      this.lineStart = base + at + 1;
    }
    const last = chunk.lastIndexOf(this.breakByte);
    if (last >= 0 && base + last >= this.lineStart) this.lineStart = base + last + 1;
  }

  private learnBreak(chunk: Buffer): void {
    const lf = chunk.indexOf(0x0a);
    const cr = chunk.indexOf(0x0d);
    if (lf >= 0 && (cr < 0 || lf < cr)) this.breakKnown = true;
    else if (cr >= 0 && cr + 1 < chunk.length) {
      this.breakKnown = true;
      if (chunk[cr + 1] !== 0x0a) this.breakByte = 0x0d;
    }
  }

  /** The end of the file ends its last line. */
  end(): void {
    if (this.offset - this.lineStart > this.max) throw new LineTooLong(this.lineStart, this.headDone ? undefined : this.lines + 1);
    this.headDone = true;
  }

  /** The line number of the line starting at `start`, counting line breaks before it in `source` (on failure only). */
  async lineAt(start: number, source: AsyncIterable<Buffer>): Promise<number> {
    let line = 1;
    let base = 0;
    for await (const chunk of source) {
      const end = Math.min(chunk.length, start - base);
      let i = chunk.indexOf(this.breakByte);
      while (i >= 0 && i < end) {
        line++;
        i = chunk.indexOf(this.breakByte, i + 1);
      }
      base += chunk.length;
      if (base >= start) break;
    }
    return line;
  }
}

/** The VALIDATION error for what stopped the check. */
async function describeFailure(file: string, err: unknown, scanner: LineScanner, chunkBytes: number): Promise<unknown> {
  if (err instanceof LineTooLong) {
    const line = err.line ?? (await lineOf(file, err.start, scanner, chunkBytes));
    return new KairosError('VALIDATION', `${file} line ${line}: line longer than ${formatCount(scanner.max)} bytes; nothing was loaded`, {
      details: { file, line, maxLineBytes: scanner.max },
      hint: 'a field this long is usually a broken file (a quote never closed, a missing line break); if the data is right, raise ingest.<entity>.maxLineBytes in kairos.config.json',
    });
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const what = code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt';
    return new KairosError('VALIDATION', `${file}: the gzip file is ${what} (${(err as Error).message}); nothing was loaded`, {
      details: { file, zlib: code },
      cause: err,
      hint: `\`gzip -t ${file}\` tells the same; copy or download the file again`,
    });
  }
  if ((err as { name?: unknown }).name === 'AbortError') return err;
  return new KairosError('VALIDATION', `${file}: cannot read: ${(err as Error).message}`, { cause: err });
}

async function lineOf(file: string, start: number, scanner: LineScanner, chunkBytes: number): Promise<number> {
  const stream = createReadStream(file, { highWaterMark: chunkBytes });
  const source: AsyncIterable<Buffer> = isGzip(file) ? stream.pipe(createGunzip({ chunkSize: Math.max(64, chunkBytes) })) : stream;
  try {
    return await scanner.lineAt(start, source);
  } finally {
    stream.destroy();
  }
}
