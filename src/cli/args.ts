/** Command-line parsing: argv → a typed command. No I/O here. */
import { parseArgs } from 'node:util';

/** A mistake on the command line: one sentence that says what to do. Exit code 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

export interface AnalyzeCommand {
  kind: 'analyze';
  inputs: string[];
  json: boolean;
  html: string | null;
  noTui: boolean;
  noColor: boolean;
  policyPath: string | null;
  internal: string[];
  edge: string | null;
}

export interface LiveCommand {
  kind: 'live';
  iface: string;
  filter: string | null;
  durationS: number | null;
  write: string | null;
}

export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'interfaces' } | AnalyzeCommand | LiveCommand;

const OPTIONS = {
  json: { type: 'boolean' },
  html: { type: 'string' },
  'no-tui': { type: 'boolean' },
  'no-color': { type: 'boolean' },
  policy: { type: 'string' },
  internal: { type: 'string', multiple: true },
  edge: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  interface: { type: 'string', short: 'i' },
  filter: { type: 'string', short: 'f' },
  duration: { type: 'string' },
  write: { type: 'string' },
} as const;

const LIVE_ONLY = ['interface', 'filter', 'duration', 'write'] as const;
const HELP_HINT = "run 'spokecap --help' for usage";

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliUsageError(describeParseError(e as Error & { code?: string }));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const [first, ...rest] = positionals;
  if (first === 'interfaces') {
    if (rest.length) throw new CliUsageError(`'spokecap interfaces' takes no arguments; ${HELP_HINT}`);
    return { kind: 'interfaces' };
  }
  if (first === 'live') {
    if (rest.length) throw new CliUsageError(`'spokecap live' reads no files (got '${rest[0]}'); capture with -i <iface> or run 'spokecap <capture>'`);
    if (!values.interface) throw new CliUsageError("'spokecap live' needs an interface: add -i <iface> (see 'spokecap interfaces')");
    return {
      kind: 'live',
      iface: values.interface,
      filter: values.filter ?? null,
      durationS: values.duration === undefined ? null : positiveSeconds(values.duration),
      write: values.write ?? null,
    };
  }

  const liveOnly = LIVE_ONLY.find((o) => values[o] !== undefined);
  if (liveOnly) throw new CliUsageError(`option --${liveOnly} is only for 'spokecap live'; ${HELP_HINT}`);
  const inputs = first === 'analyze' ? rest : positionals;
  if (inputs.length === 0) throw new CliUsageError("no capture file given: run 'spokecap <capture.pcap>' (or - for stdin), or 'spokecap --help'");
  return {
    kind: 'analyze',
    inputs,
    json: values.json ?? false,
    html: values.html ?? null,
    noTui: values['no-tui'] ?? false,
    noColor: values['no-color'] ?? false,
    policyPath: values.policy ?? null,
    internal: values.internal ?? [],
    edge: values.edge ?? null,
  };
}

function positiveSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new CliUsageError(`--duration must be a positive number of seconds, not '${text}'`);
  return n;
}

/** node:util's parse errors, rewritten as one sentence that says what to do. */
function describeParseError(e: Error & { code?: string }): string {
  const option = /'(-[^' ]*)/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option}'; ${HELP_HINT}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take/.test(e.message) ? `option '${option}' takes no value; ${HELP_HINT}` : `option '${option}' needs a value; ${HELP_HINT}`;
    default:
      return `${e.message.replace(/\.$/, '')}; ${HELP_HINT}`;
  }
}
