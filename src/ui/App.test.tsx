import { readFileSync } from 'node:fs';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { Progress } from '../engine/engine.js';
import type { Report } from '../report/schema.js';
import { App } from './App.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/reports/${name}.json`, import.meta.url), 'utf8')) as Report;
const fail = load('fail');
const DOWN = '\u001b[B';
const ENTER = '\r';
const TAB = '\t';
/** Ink reads input on the next tick and renders after it. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

afterEach(cleanup);

describe('<App> report', () => {
  it('shows the verdict, the tabs and the findings, the first one selected', () => {
    const { lastFrame } = render(<App state={{ kind: 'report', report: fail }} color={false} />);
    const frame = lastFrame()!;
    const lines = frame.split('\n');
    expect(lines[0]).toBe('FAIL — Spoke calls will not work on this network: 3 errors, 6 warnings');
    expect(lines[2]).toContain('[1 Findings 10]');
    expect(lines[3]).toMatch(/^› error +TCP to evil/);
    expect(frame).toContain('  warning Call C1 jitter reached 30.0 ms (limit 10 ms)');
    expect(frame).toMatch(/✗ failing +Spoke application gateway/);
    expect(frame).not.toContain('remedy');
  });

  it('moves with ↓ and expands the selected finding with Enter', async () => {
    const { lastFrame, stdin } = render(<App state={{ kind: 'report', report: fail }} color={false} />);
    await settle();
    stdin.write(DOWN);
    await settle();
    stdin.write(ENTER);
    await settle();
    const frame = lastFrame()!;
    expect(frame).toMatch(/› error +TCP to eventgw\.twilio\.com:443 is refused/);
    expect(frame).toMatch(/remedy +allow outbound TCP 443 to eventgw\.twilio\.com/);
    expect(frame).toMatch(/filter +tcp\.port==443 && ip\.addr==3\.22\.8\.14 && tcp\.flags\.reset==1/);
    expect(frame).toContain('3.22.8.14 answered the SYN with a RST');
  });

  it('switches tabs with Tab and 1-4', async () => {
    const { lastFrame, stdin } = render(<App state={{ kind: 'report', report: fail }} color={false} />);
    await settle();
    stdin.write(TAB);
    await settle();
    let frame = lastFrame()!;
    expect(frame).toContain('[2 Calls 3]');
    expect(frame).toMatch(/› C1 +us1 +1m 00s .*FAIL jitter, loss, bandwidth/);
    expect(frame).toMatch(/jitter ↑ +[▁-█ ]*█/);
    stdin.write('2');
    await settle();
    stdin.write(TAB);
    await settle();
    frame = lastFrame()!;
    expect(frame).toContain('[3 Flows 12]');
    expect(frame).toMatch(/› F1 +dns +udp/);
    stdin.write('4');
    await settle();
    frame = lastFrame()!;
    expect(frame).toContain('[4 Capture]');
    expect(frame).toMatch(/malformed +4 \(ipv4-bad-ihl 3, udp-short 1\)/);
  });

  it('neutralises escape sequences and bidi controls from wire names', async () => {
    const { lastFrame, stdin } = render(<App state={{ kind: 'report', report: fail }} color={true} />);
    await settle();
    const frames = [lastFrame()!];
    // The flow whose SNI carries a right-to-left override: Flows, last row, up twice, expand.
    for (const key of ['3', 'G', '\u001b[A', '\u001b[A', ENTER]) {
      stdin.write(key);
      await settle();
    }
    frames.push(lastFrame()!);
    for (const frame of frames) {
      expect(frame.replace(/\u001b\[[0-9;]*m/g, '')).not.toContain('\u001b');
      expect(frame).not.toContain('\u0007');
      expect(frame).not.toContain('\u202e');
    }
    expect(frames[0]).toContain('evil\\x1b[31m<script>');
    expect(frames[1]).toMatch(/sni +x"><img src=x onerror=alert\(2\)>\\u\{202e\}\.twilio\.com/);
  });

  it('stops reacting after q (Ink has exited)', async () => {
    const { lastFrame, stdin } = render(<App state={{ kind: 'report', report: fail }} color={false} />);
    await settle();
    stdin.write('q');
    await settle();
    const before = lastFrame();
    stdin.write('2');
    await settle();
    expect(lastFrame()).toBe(before);
  });

  it('tells the user when nothing was found', () => {
    const empty: Report = { ...load('pass'), findings: [], calls: [], checklist: [] };
    const { lastFrame } = render(<App state={{ kind: 'report', report: empty }} color={false} />);
    expect(lastFrame()).toContain('No findings: nothing on this capture breaks the policy.');
  });
});

describe('<App> progress', () => {
  const progress: Progress = {
    phase: 'reading',
    input: 'office\u001b[2J.pcap',
    inputIndex: 1,
    inputs: 2,
    bytesRead: 4_000_000,
    bytesTotal: 10_000_000,
    packets: 12_345,
    flows: 30,
    rtpStreams: 2,
    calls: 1,
    elapsedS: 2,
  };

  it('shows the bar, the counts and the ETA', () => {
    const { lastFrame } = render(<App state={{ kind: 'analyzing', progress, inputs: ['a.pcap', 'b.pcap'] }} color={false} />);
    const frame = lastFrame()!;
    expect(frame).toContain('spokecap: reading office\\x1b[2J.pcap (2/2)');
    expect(frame).toMatch(/█{16}░{24} +40% {2}4\.00 MB of 10\.0 MB {2}ETA 3\.0 s/);
    expect(frame).toContain('12,345 packets  30 flows  2 RTP streams  1 call  2.0 s');
  });

  it('updates from new snapshots and shows bytes read when the size is unknown', () => {
    const { lastFrame, rerender } = render(<App state={{ kind: 'analyzing', progress: null, inputs: ['-'] }} color={false} />);
    expect(lastFrame()).toContain('spokecap: opening -');
    rerender(<App state={{ kind: 'analyzing', progress: { ...progress, input: '-', inputs: 1, inputIndex: 0, bytesTotal: null }, inputs: ['-'] }} color={false} />);
    expect(lastFrame()).toContain('4.00 MB read');
    expect(lastFrame()).not.toContain('ETA');
  });
});
