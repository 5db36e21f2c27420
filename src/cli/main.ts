// The `kairos` command line: global options, the commands, errors mapped to stable exit codes.
import { Command, CommanderError } from 'commander';
import { asKairosError, EXIT_CODES, KairosError } from '../errors.js';
import { DEFAULT_DB_PATH } from '../store/paths.js';
import { registerAudience } from './commands/audience.js';
import { registerDemo } from './commands/demo.js';
import { registerDrift } from './commands/drift.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerIngest } from './commands/ingest.js';
import { registerQuery } from './commands/query.js';
import { registerRecommend } from './commands/recommend.js';
import { registerSegment } from './commands/segment.js';
import { registerSuggestWeights } from './commands/suggest.js';
import { describeScorers, registerCompact, registerModels, registerScore } from './commands/score.js';
import { registerErase, registerKeys, registerServe } from './commands/serve.js';
import { DEFAULT_MEMORY_LIMIT, DEFAULT_WAIT_SECONDS, memoryLimitOption, SERVE_MEMORY_LIMIT, processIo, waitFromEnvironment, type GlobalOptions, type Io } from './io.js';
import { wholeNumber } from './options.js';

export const VERSION = '0.1.0';

function buildProgram(io: Io, writeErr: (text: string) => void): { program: Command; global: () => GlobalOptions } {
  const output = { writeOut: (s: string) => io.out(s.trimEnd()), writeErr };
  const program = new Command();
  program
    .name('kairos')
    .description('Kairos: predictive customer scores (RFM, CLV, churn, ...) computed next to your customers, in DuckDB.')
    .version(VERSION)
    .option('--db <path>', 'the store file', process.env['KAIROS_DB'] ?? DEFAULT_DB_PATH)
    .option('--json', 'print results as JSON (for scripts)', false)
    .option('--config <file>', 'settings file (default: ./kairos.config.json when present)')
    .option('-q, --quiet', 'no progress output', false)
    .option('--progress', 'progress lines on stderr even when it is not a terminal (logs, benchmarks)', false)
    .option(
      '--wait <seconds>',
      `how long to wait for a store another kairos process is using, 0 to fail at once (default: KAIROS_WAIT, else ${DEFAULT_WAIT_SECONDS})`,
      wholeNumber(0),
    )
    .option(
      '--memory-limit <size>',
      `DuckDB's memory limit, e.g. 512MB or 2GB; beyond it DuckDB spills to disk (default: KAIROS_MEMORY_LIMIT, else ${DEFAULT_MEMORY_LIMIT}; ${SERVE_MEMORY_LIMIT} for kairos serve)`,
      (v: string) => memoryLimitOption(v),
    )
    .showHelpAfterError('(run kairos --help for usage)')
    .exitOverride()
    .configureOutput(output)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, ${EXIT_CODES.USAGE} usage, ${EXIT_CODES.VALIDATION} invalid input, ${EXIT_CODES.NOT_FOUND} not found, ${EXIT_CODES.STORE} store error,
            ${EXIT_CODES.CONVERGENCE} model did not converge, ${EXIT_CODES.INSUFFICIENT_DATA} not enough data, ${EXIT_CODES.BUSY} store busy (after --wait),
            ${EXIT_CODES.INTERNAL} internal error.
Start with:  kairos demo            (synthetic retailer: ingest, score, summary)`,
    );
  const global = (): GlobalOptions => {
    const o = program.opts<{ db: string; json: boolean; config?: string; quiet: boolean; progress: boolean; wait?: number; memoryLimit?: string }>();
    const envLimit = process.env['KAIROS_MEMORY_LIMIT'];
    return {
      db: o.db,
      json: o.json,
      quiet: o.quiet,
      wait: o.wait ?? waitFromEnvironment(),
      memoryLimit: o.memoryLimit ?? (envLimit?.trim() ? memoryLimitOption(envLimit, 'KAIROS_MEMORY_LIMIT') : DEFAULT_MEMORY_LIMIT),
      ...(o.memoryLimit !== undefined || envLimit?.trim() ? { memoryLimitGiven: true } : {}),
      ...(o.progress ? { progress: true } : {}),
      ...(o.config !== undefined ? { config: o.config } : {}),
    };
  };
  registerDemo(program, io, global);
  registerIngest(program, io, global);
  registerScore(program, io, global);
  registerModels(program, io, global);
  registerCompact(program, io, global);
  registerQuery(program, io, global);
  registerRecommend(program, io, global);
  registerEvaluate(program, io, global);
  registerAudience(program, io, global);
  registerSegment(program, io, global);
  registerSuggestWeights(program, io, global);
  registerDrift(program, io, global);
  registerServe(program, io, global);
  registerKeys(program, io, global);
  registerErase(program, io, global);
  for (const c of program.commands) {
    c.exitOverride().configureOutput(output);
    for (const sub of c.commands) sub.exitOverride().configureOutput(output);
  }
  return { program, global };
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. Used by bin/kairos.js and tests. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  // Commander's own error output (a usage error, the help when no command is given) is held until it is known
  // whether --json asks for the JSON error record instead.
  const held: string[] = [];
  const { program, global } = buildProgram(io, (s) => held.push(s.trimEnd()));
  const flush = (): void => {
    for (const s of held.splice(0)) io.err(s);
  };
  try {
    if (argv.includes('score')) await describeScorers(program);
    await program.parseAsync([...argv], { from: 'user' });
    flush();
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0.
      if (err.exitCode === 0) {
        flush();
        return 0;
      }
      // Options after an unknown one are not parsed, hence the look at argv too.
      if (program.opts<{ json?: boolean }>().json === true || argv.includes('--json')) {
        held.length = 0;
        const message = err.code === 'commander.help' ? 'no command given' : err.message.replace(/^error: /, '');
        io.out(JSON.stringify({ error: new KairosError('USAGE', message, { hint: 'run kairos --help for usage' }).toJSON() }, null, 2));
      } else flush();
      return EXIT_CODES.USAGE;
    }
    const e = asKairosError(err);
    let json = false;
    try {
      json = global().json;
    } catch {
      json = argv.includes('--json');
    }
    if (json) io.out(JSON.stringify({ error: e.toJSON() }, null, 2));
    else {
      io.err(`kairos: ${e.message}`);
      if (e.hint) io.err(`hint: ${e.hint}`);
      if (e.code === 'INTERNAL' && e.stack) io.err(e.stack);
    }
    return EXIT_CODES[e.code];
  }
}

/** Same as `run`: the name the tests and STYLE.md use. */
export const main = run;
