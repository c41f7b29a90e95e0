import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureOpenError } from '../capture/types.js';
import type { AnalyzeOptions, Progress } from '../engine/engine.js';
import type { Report } from '../report/schema.js';
import { run, type CliDeps, type OutStream, type TuiRun } from './run.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/reports/${name}.json`, import.meta.url), 'utf8')) as Report;
const dir = mkdtempSync(join(tmpdir(), 'spokecap-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class EngineUsageError extends Error {}

const progress: Progress = { phase: 'reading', input: 'a.pcap', inputIndex: 0, inputs: 1, bytesRead: 5, bytesTotal: 10, packets: 1, flows: 1, rtpStreams: 0, calls: 0, elapsedS: 1 };

function harness(opts: { report?: Report; error?: Error; stdoutTTY?: boolean; stderrTTY?: boolean; env?: Record<string, string> } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: AnalyzeOptions[] = [];
  const tuiRuns: TuiRun[] = [];
  const stream = (sink: string[], isTTY: boolean): OutStream => ({ write: (s: string) => sink.push(s), isTTY, columns: 100 });
  const deps: CliDeps = {
    loadEngine: async () => ({
      UsageError: EngineUsageError,
      analyze: async (o: AnalyzeOptions) => {
        calls.push(o);
        o.onProgress?.(progress);
        if (opts.error) throw opts.error;
        return opts.report ?? load('fail');
      },
    }),
    runTui: async (r) => {
      tuiRuns.push(r);
      return 42;
    },
  };
  const exec = (...argv: string[]) =>
    run({ argv, env: opts.env ?? {}, stdout: stream(out, opts.stdoutTTY ?? false), stderr: stream(err, opts.stderrTTY ?? false) }, deps);
  return { exec, out, err, calls, tuiRuns, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('run', () => {
  it('prints the JSON report and nothing else on stdout, exit 1 on an error finding', async () => {
    const h = harness();
    expect(await h.exec('a.pcap', '--json')).toBe(1);
    expect(JSON.parse(h.stdout())).toEqual(load('fail'));
    expect(h.stdout().endsWith('}\n')).toBe(true);
    expect(h.stderr()).toBe('');
  });

  it('exits 0 when no finding is an error', async () => {
    const h = harness({ report: load('pass') });
    expect(await h.exec('a.pcap')).toBe(0);
    expect(h.stdout()).toMatch(/^PASS — /);
  });

  it('passes the policy options through to the engine', async () => {
    const h = harness();
    await h.exec('analyze', 'a.pcap', 'b.pcap', '--policy', 'p.json', '--internal', '10.1.0.0/16', '--edge', 'us1');
    expect(h.calls[0]).toMatchObject({ inputs: ['a.pcap', 'b.pcap'], policyPath: 'p.json', internal: ['10.1.0.0/16'], edge: 'us1' });
  });

  it('prints plain text without colour when stdout is not a terminal, and colour when forced', async () => {
    const plain = harness();
    await plain.exec('a.pcap');
    expect(plain.stdout()).toMatch(/^FAIL — /);
    expect(plain.stdout()).not.toContain('\u001b[');
    const forced = harness({ env: { FORCE_COLOR: '1' } });
    await forced.exec('a.pcap');
    expect(forced.stdout()).toContain('\u001b[31m');
  });

  it('shows progress on an interactive stderr only and clears it', async () => {
    const tty = harness({ stderrTTY: true });
    await tty.exec('a.pcap', '--json');
    expect(tty.stderr()).toContain('reading a.pcap');
    expect(tty.err.at(-1)).toBe('\r\u001b[K');
    const ci = harness({ stderrTTY: true, env: { CI: 'true' } });
    await ci.exec('a.pcap');
    expect(ci.stderr()).toBe('');
  });

  it('hands a terminal to the TUI unless --no-tui or --json', async () => {
    const h = harness({ stdoutTTY: true, env: { NO_COLOR: '1' } });
    expect(await h.exec('a.pcap')).toBe(42);
    expect(h.tuiRuns[0].color).toBe(false);
    expect(h.tuiRuns[0].analyzeOptions.inputs).toEqual(['a.pcap']);
    expect(h.stdout()).toBe('');
    const text = harness({ stdoutTTY: true });
    expect(await text.exec('a.pcap', '--no-tui')).toBe(1);
    expect(text.tuiRuns).toHaveLength(0);
    expect(text.stdout()).toMatch(/^\u001b\[1m\u001b\[31mFAIL/);
  });

  it('writes --html and still prints the selected output', async () => {
    const h = harness();
    const file = join(dir, 'r.html');
    await h.exec('a.pcap', '--json', '--html', file);
    expect(readFileSync(file, 'utf8')).toContain('<h1 id="verdict">FAIL');
    expect(JSON.parse(h.stdout()).schema).toBe('spokecap.report/1');
  });

  it('exits 2 with one line on stderr for what the user must fix', async () => {
    const cases: Array<[ReturnType<typeof harness>, string[], RegExp]> = [
      [harness(), ['--bogus'], /^spokecap: unknown option '--bogus'/],
      [harness({ error: new CaptureOpenError('cannot open x.pcap: no such file; check the path', 'x.pcap') }), ['x.pcap'], /^spokecap: cannot open x\.pcap/],
      [harness({ error: new EngineUsageError('--edge zz1 is not an edge of the policy; use one of au1, us1, gll') }), ['a.pcap', '--edge', 'zz1'], /^spokecap: --edge zz1/],
      [harness(), ['a.pcap', '--html', join(dir, 'missing', 'r.html')], /^spokecap: cannot write the HTML report to .*ENOENT/],
      [harness(), ['live', '-i', 'eth0'], /^spokecap: live capture is not available in this build yet/],
      [harness(), ['interfaces'], /^spokecap: live capture is not available/],
    ];
    for (const [h, argv, message] of cases) {
      expect(await h.exec(...argv)).toBe(2);
      expect(h.stderr()).toMatch(message);
      expect(h.stderr().trimEnd().split('\n')).toHaveLength(1);
      expect(h.stdout()).toBe('');
    }
  });

  it('reports a bug as an internal error with exit code 3', async () => {
    const h = harness({ error: new TypeError('x is undefined') });
    expect(await h.exec('a.pcap')).toBe(3);
    expect(h.stderr()).toMatch(/^spokecap: internal error \(please report it\): TypeError: x is undefined/);
  });

  it('prints help and version on stdout', async () => {
    const h = harness();
    expect(await h.exec('--help')).toBe(0);
    expect(h.stdout()).toContain('spokecap [analyze] <capture>... [options]');
    const v = harness();
    expect(await v.exec('--version')).toBe(0);
    expect(v.stdout()).toBe(`spokecap ${JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version}\n`);
  });
});
