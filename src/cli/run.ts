/**
 * The CLI's wiring: parse the command, run the engine, hand the Report to the
 * chosen output. Returns the exit code; never calls process.exit, so every
 * stream is flushed and tests can run it in-process.
 */
import { VERSION } from '../engine/version.js';
import { writeFile } from 'node:fs/promises';
import { CaptureOpenError } from '../capture/types.js';
import type { AnalyzeOptions, Progress } from '../engine/engine.js';
import { renderHtml } from '../report/html.js';
import type { Report } from '../report/schema.js';
import { renderText } from '../report/text.js';
import { writeReportJson } from '../report/json.js';
import { CliUsageError, parseCommand, type AnalyzeCommand } from './args.js';
import { HELP, LIVE_UNAVAILABLE } from './help.js';
import { colorEnabled, EXIT_INTERNAL, EXIT_USAGE, exitCodeFor, outputMode, progressWanted } from './mode.js';
import { StderrProgress } from './progress.js';

export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  stdout: OutStream;
  stderr: OutStream;
}

export interface TuiRun {
  analyzeOptions: AnalyzeOptions;
  analyze: Engine['analyze'];
  color: boolean;
  /** Called with the report before it is shown (writes --html). */
  onReport: (report: Report) => Promise<void>;
}

export interface Engine {
  analyze(opts: AnalyzeOptions): Promise<Report>;
  /** The engine's errors that are the user's to fix (bad --policy, --internal, --edge). */
  UsageError: new (message: string) => Error;
}

export interface CliDeps {
  loadEngine(): Promise<Engine>;
  /** Runs the interactive UI; resolves to the exit code, or null when no terminal can take keys. */
  runTui(run: TuiRun): Promise<number | null>;
}

const defaultDeps: CliDeps = {
  loadEngine: () => import('../engine/engine.js'),
  runTui: async (run) => (await import('./tui.js')).runTui(run),
};

/** --html could not be written: the user's to fix, exit code 2. */
class HtmlWriteError extends Error {}

export async function run(io: CliIO, deps: CliDeps = defaultDeps): Promise<number> {
  let engine: Engine | null = null;
  try {
    const cmd = parseCommand(io.argv);
    switch (cmd.kind) {
      case 'help':
        io.stdout.write(HELP);
        return 0;
      case 'version':
        io.stdout.write(`spokecap ${VERSION}\n`);
        return 0;
      case 'live':
      case 'interfaces':
        io.stderr.write(`spokecap: ${LIVE_UNAVAILABLE}\n`);
        return EXIT_USAGE;
      case 'analyze':
        engine = await deps.loadEngine();
        return await analyzeCommand(cmd, engine, io, deps);
    }
  } catch (e) {
    const err = e as Error;
    if (err instanceof CliUsageError || err instanceof CaptureOpenError || err instanceof HtmlWriteError || (engine && err instanceof engine.UsageError)) {
      io.stderr.write(`spokecap: ${err.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`spokecap: internal error (please report it): ${err.stack ?? String(err)}\n`);
    return EXIT_INTERNAL;
  }
}

async function analyzeCommand(cmd: AnalyzeCommand, engine: Engine, io: CliIO, deps: CliDeps): Promise<number> {
  const analyzeOptions: AnalyzeOptions = {
    inputs: cmd.inputs,
    ...(cmd.policyPath !== null && { policyPath: cmd.policyPath }),
    ...(cmd.internal.length > 0 && { internal: cmd.internal }),
    ...(cmd.edge !== null && { edge: cmd.edge }),
  };
  const writeHtml = async (report: Report) => {
    if (cmd.html === null) return;
    try {
      await writeFile(cmd.html, renderHtml(report));
    } catch (e) {
      throw new HtmlWriteError(`cannot write the HTML report to ${cmd.html} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): choose a writable path for --html`);
    }
  };

  const mode = outputMode(cmd, io.stdout.isTTY === true, io.env);
  if (mode === 'tui') {
    const color = colorEnabled(cmd.noColor, io.env, true);
    const code = await deps.runTui({ analyzeOptions, analyze: engine.analyze, color, onReport: writeHtml });
    if (code !== null) return code;
  }

  const progress = progressWanted(mode, io.stderr.isTTY === true, io.env) ? new StderrProgress(io.stderr) : null;
  let report: Report;
  try {
    report = await engine.analyze({ ...analyzeOptions, ...(progress && { onProgress: (p: Progress) => progress.update(p) }) });
  } finally {
    progress?.clear();
  }
  await writeHtml(report);
  if (mode === 'json') writeReportJson(report, (text) => io.stdout.write(text));
  else io.stdout.write(renderText(report, { color: colorEnabled(cmd.noColor, io.env, io.stdout.isTTY === true), width: io.stdout.columns ?? 100 }));
  return exitCodeFor(report);
}
