/**
 * The interactive terminal UI. Dumb views: they draw a progress snapshot or
 * the lines screens.ts builds from the Report. Quitting only tells Ink to
 * exit (useApp().exit); the CLI decides the exit code after Ink returns.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { createContext, useContext, useState } from 'react';
import type { Progress } from '../engine/engine.js';
import { clip, etaSeconds, fmtBytes, fmtDuration, fmtInt, plural, progressBar, verdictLine } from '../report/format.js';
import { sanitizeText } from '../report/sanitize.js';
import type { Report } from '../report/schema.js';
import { initialUiState, isQuitKey, reduceKey, TABS, type TabId, type UiState } from './keys.js';
import { buildScreen, captureLines, rowCounts, visibleWindow, type Line, type Tone } from './screens.js';

export type AppState = { kind: 'analyzing'; progress: Progress | null; inputs: readonly string[] } | { kind: 'report'; report: Report };

export interface AppProps {
  state: AppState;
  /** ANSI colour on or off (NO_COLOR, --no-color). */
  color: boolean;
}

const ColorContext = createContext(true);

const TAB_LABEL: Record<TabId, string> = { findings: 'Findings', calls: 'Calls', flows: 'Flows', capture: 'Capture' };
const VERDICT_TONE: Record<Report['verdict'], Tone> = { pass: 'green', warn: 'yellow', fail: 'red' };
/** Rows around the tab body: verdict, summary, tab bar, blank, footer, and one spare so Ink never scrolls. */
const CHROME_ROWS = 6;

export function App({ state, color }: AppProps) {
  return (
    <ColorContext.Provider value={color}>
      {state.kind === 'analyzing' ? <ProgressView progress={state.progress} inputs={state.inputs} /> : <ReportView report={state.report} />}
    </ColorContext.Provider>
  );
}

/** Text in a tone, or plain when colour is off. */
function Tinted({ tone, bold, inverse, children }: { tone?: Tone | undefined; bold?: boolean | undefined; inverse?: boolean | undefined; children: string }) {
  const color = useContext(ColorContext);
  return (
    <Text color={color ? tone : undefined} bold={bold} inverse={color && inverse}>
      {children}
    </Text>
  );
}

export function ProgressView({ progress, inputs }: { progress: Progress | null; inputs: readonly string[] }) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  useInput((input, key) => {
    if (isQuitKey(input, key)) exit();
  });
  const width = Math.max(30, (stdout.columns ?? 80) - 2);
  const names = inputs.map((i) => sanitizeText(i)).join(', ');
  if (!progress) {
    return (
      <Box flexDirection="column">
        <Tinted bold>{clip(`spokecap: opening ${names}`, width)}</Tinted>
        <Tinted tone="gray">q quit</Tinted>
      </Box>
    );
  }
  const fraction = progress.bytesTotal ? progress.bytesRead / progress.bytesTotal : null;
  const eta = etaSeconds(progress.bytesRead, progress.bytesTotal, progress.elapsedS);
  const which = progress.inputs > 1 ? ` (${progress.inputIndex + 1}/${progress.inputs})` : '';
  const bytes = progress.bytesTotal ? `${fmtBytes(progress.bytesRead)} of ${fmtBytes(progress.bytesTotal)}` : `${fmtBytes(progress.bytesRead)} read`;
  return (
    <Box flexDirection="column">
      <Tinted bold>{clip(`spokecap: ${progress.phase === 'reading' ? 'reading' : 'analysing'} ${sanitizeText(progress.input)}${which}`, width)}</Tinted>
      <Text>
        {fraction === null ? null : <Tinted tone="cyan">{`${progressBar(fraction, Math.min(40, width - 30))} ${String(Math.floor(fraction * 100)).padStart(3)}%  `}</Tinted>}
        {bytes}
        {eta === null ? '' : `  ETA ${fmtDuration(eta)}`}
      </Text>
      <Text>
        {[plural(progress.packets, 'packet', 'packets'), plural(progress.flows, 'flow', 'flows'), plural(progress.rtpStreams, 'RTP stream', 'RTP streams'), ...(progress.calls === null ? [] : [plural(progress.calls, 'call', 'calls')]), fmtDuration(progress.elapsedS)].join('  ')}
      </Text>
      <Tinted tone="gray">q quit</Tinted>
    </Box>
  );
}

export function ReportView({ report }: { report: Report }) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [ui, setUi] = useState<UiState>(initialUiState);
  const width = Math.max(40, (stdout.columns ?? 80) - 1);
  const height = Math.max(4, (stdout.rows ?? 24) - CHROME_ROWS);
  const rows = rowCounts(report, captureLines(report, width).length);

  useInput((input, key) => {
    // Keys can arrive faster than renders: reduce from the latest state, not this render's.
    if (isQuitKey(input, key)) exit();
    else setUi((prev) => {
      const result = reduceKey(prev, input, key, rows);
      return result.quit ? prev : result.state;
    });
  });

  const screen = buildScreen(report, ui, width);
  const { lines } = visibleWindow(screen, height);
  const cap = report.capture;
  const tabCount: Record<TabId, string> = {
    findings: String(report.findings.length),
    calls: String(report.calls.length),
    flows: fmtInt(report.summary.flowsTotal),
    capture: '',
  };
  return (
    <Box flexDirection="column">
      <Tinted tone={VERDICT_TONE[report.verdict]} bold>
        {clip(verdictLine(report), width)}
      </Tinted>
      <Tinted tone="gray">
        {clip(`${fmtInt(cap.packets)} packets, ${fmtDuration(cap.durationS)}, ${cap.sources.map((s) => sanitizeText(s.path)).join(', ')}`, width)}
      </Tinted>
      <Text>
        {TABS.map((tab, i) => (
          <Tinted key={tab} bold={tab === ui.tab} inverse={tab === ui.tab} tone={tab === ui.tab ? undefined : 'gray'}>
            {` ${tab === ui.tab ? '[' : ''}${i + 1} ${TAB_LABEL[tab]}${tabCount[tab] ? ` ${tabCount[tab]}` : ''}${tab === ui.tab ? ']' : ''} `}
          </Tinted>
        ))}
      </Text>
      <Box flexDirection="column" height={height}>
        {lines.map((line, i) => (
          <LineView key={i} line={line} width={width} />
        ))}
      </Box>
      <Tinted tone="gray">{clip('↑/↓ select  Enter expand  Tab/1-4 switch  q quit', width)}</Tinted>
    </Box>
  );
}

function LineView({ line, width }: { line: Line; width: number }) {
  return (
    <Text wrap="truncate-end">
      {line.length === 0
        ? ' '
        : line.map((s, i) => (
            <Tinted key={i} tone={s.tone} bold={s.bold || s.selected} inverse={s.selected}>
              {clip(s.text, width)}
            </Tinted>
          ))}
    </Text>
  );
}
