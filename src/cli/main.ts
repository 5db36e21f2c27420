// The `kairos` command line: global options, the commands, errors mapped to stable exit codes.
import { Command, CommanderError } from 'commander';
import { asKairosError, EXIT_CODES } from '../errors.js';
import { DEFAULT_DB_PATH } from '../store/paths.js';
import { registerDemo } from './commands/demo.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerIngest } from './commands/ingest.js';
import { registerQuery } from './commands/query.js';
import { describeScorers, registerModels, registerScore } from './commands/score.js';
import { processIo, type GlobalOptions, type Io } from './io.js';

export const VERSION = '0.1.0';

function buildProgram(io: Io): { program: Command; global: () => GlobalOptions } {
  const program = new Command();
  program
    .name('kairos')
    .description('Kairos: predictive customer scores (RFM, CLV, churn, ...) computed next to your customers, in DuckDB.')
    .version(VERSION)
    .option('--db <path>', 'the store file', process.env['KAIROS_DB'] ?? DEFAULT_DB_PATH)
    .option('--json', 'print results as JSON (for scripts)', false)
    .option('--config <file>', 'settings file (default: ./kairos.config.json when present)')
    .option('-q, --quiet', 'no progress output', false)
    .showHelpAfterError('(run kairos --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, ${EXIT_CODES.USAGE} usage, ${EXIT_CODES.VALIDATION} invalid input, ${EXIT_CODES.NOT_FOUND} not found, ${EXIT_CODES.STORE} store error,
            ${EXIT_CODES.CONVERGENCE} model did not converge, ${EXIT_CODES.INSUFFICIENT_DATA} not enough data, ${EXIT_CODES.INTERNAL} internal error.
Start with:  kairos demo            (synthetic retailer: ingest, score, summary)`,
    );
  const global = (): GlobalOptions => {
    const o = program.opts<{ db: string; json: boolean; config?: string; quiet: boolean }>();
    return { db: o.db, json: o.json, quiet: o.quiet, ...(o.config !== undefined ? { config: o.config } : {}) };
  };
  registerDemo(program, io, global);
  registerIngest(program, io, global);
  registerScore(program, io, global);
  registerModels(program, io, global);
  registerQuery(program, io, global);
  registerEvaluate(program, io, global);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  return { program, global };
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. Used by bin/kairos.js and tests. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  const { program, global } = buildProgram(io);
  try {
    if (argv.includes('score')) await describeScorers(program);
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : EXIT_CODES.USAGE;
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
