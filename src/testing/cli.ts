// Running the CLI in tests: main(argv) with its output captured instead of printed.
import type { Io } from '../cli/io.js';
import { main } from '../cli/main.js';

/** An Io that keeps what the command writes (not a terminal). */
export function captureIo(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (s) => stdout.push(s), err: (s) => stderr.push(s), isTty: false };
}

/** `kairos --db DB ...argv`: the exit code and what went to stdout and stderr. */
export async function runCli(db: string, argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(['--db', db, ...argv], io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}
