/** Output decisions as pure functions of the command, the terminal and the environment. */
import type { Report } from '../report/schema.js';
import type { AnalyzeCommand } from './args.js';

export type OutputMode = 'json' | 'tui' | 'text';

type Env = Record<string, string | undefined>;

/** The interactive UI needs a person at a terminal; under CI (where Ink draws nothing until exit) print text. */
export function outputMode(cmd: Pick<AnalyzeCommand, 'json' | 'noTui'>, stdoutIsTTY: boolean, env: Env = {}): OutputMode {
  if (cmd.json) return 'json';
  return stdoutIsTTY && !cmd.noTui && !env.CI ? 'tui' : 'text';
}

/**
 * --no-color wins; then FORCE_COLOR (as Node reads it: "0"/"false" turn colour
 * off); then a non-empty NO_COLOR; otherwise colour on a terminal that is not dumb.
 */
export function colorEnabled(noColorFlag: boolean, env: Env, isTTY: boolean): boolean {
  if (noColorFlag) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR) return false;
  return isTTY && env.TERM !== 'dumb';
}

/** A live progress line on stderr only for a person watching: a terminal, not CI. */
export function progressWanted(mode: OutputMode, stderrIsTTY: boolean, env: Env): boolean {
  return mode !== 'tui' && stderrIsTTY && !env.CI;
}

/** The contract's exit codes: 1 when any finding is an error, else 0. */
export function exitCodeFor(report: Pick<Report, 'findings'>): 0 | 1 {
  return report.findings.some((f) => f.severity === 'error') ? 1 : 0;
}

/** Exit codes beyond the contract's 0/1/2. */
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;
/** The user quit before the analysis finished (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;
