/**
 * Runs the analysis under the Ink UI: progress snapshots re-render <App>, the
 * report replaces them, and the exit code is decided here once Ink has exited.
 */
import { openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { render } from 'ink';
import type { Progress } from '../engine/engine.js';
import type { Report } from '../report/schema.js';
import { App, type AppState } from '../ui/App.js';
import { EXIT_INTERRUPTED, exitCodeFor } from './mode.js';
import type { TuiRun } from './run.js';

/**
 * Keys come from stdin when it is a terminal; when stdin carries the capture
 * (`spokecap -`) or is redirected, from the controlling terminal. Null when there is none.
 */
function terminalInput(): { stream: NodeJS.ReadStream; owned: boolean } | null {
  if (process.stdin.isTTY) return { stream: process.stdin, owned: false };
  try {
    return { stream: new ReadStream(openSync('/dev/tty', 'r')) as unknown as NodeJS.ReadStream, owned: true };
  } catch {
    return null;
  }
}

export async function runTui({ analyzeOptions, analyze, color, onReport }: TuiRun): Promise<number | null> {
  const input = terminalInput();
  if (!input) return null;
  const controller = new AbortController();
  const view = (state: AppState) => <App state={state} color={color} />;
  const ink = render(view({ kind: 'analyzing', progress: null, inputs: analyzeOptions.inputs }), {
    stdin: input.stream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 15,
  });
  // Once Ink has exited, rendering again would mount the app anew (and grab stdin again).
  let exited = false;
  const quit = ink.waitUntilExit().then(() => {
    exited = true;
    return 'quit' as const;
  });
  try {
    const analysis = analyze({
      ...analyzeOptions,
      signal: controller.signal,
      onProgress: (progress: Progress) => {
        if (!exited) ink.rerender(view({ kind: 'analyzing', progress, inputs: analyzeOptions.inputs }));
      },
    }).then((report) => ({ report }));
    const first = await Promise.race([quit, analysis]);
    if (first === 'quit') {
      controller.abort();
      await analysis.catch(() => undefined);
      return EXIT_INTERRUPTED;
    }
    const report: Report = first.report;
    await onReport(report);
    ink.rerender(view({ kind: 'report', report }));
    await quit;
    return exitCodeFor(report);
  } finally {
    ink.unmount();
    if (input.owned) input.stream.destroy();
  }
}
