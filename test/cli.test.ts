/** End-to-end: the real bin/spokecap as a child process (no shell), on public captures. */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/report/schema.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'spokecap');
const capture = join(root, 'test/fixtures/public/rtp/sipp_g711a.pcap');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'spokecap-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment without anything that changes colour or progress output. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['FORCE_COLOR', 'NO_COLOR', 'CI']) if (!(k in extra)) delete env[k];
  return env;
}

function spokecap(
  args: string[],
  opts: { env?: Record<string, string>; input?: Buffer; stdinFile?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdinFile: the file itself is the child's descriptor 0, as the shell's `< file` makes it.
    const stdinFd = opts.stdinFile !== undefined ? openSync(opts.stdinFile, 'r') : null;
    const child = spawn(bin, args, { cwd: root, env: cleanEnv(opts.env), stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'] });
    if (stdinFd !== null) closeSync(stdinFd);
    let stdout = '';
    let stderr = '';
    // Piped by the stdio above (a descriptor for stdin makes TypeScript drop the tuple's types).
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(opts.input);
  });
}

const ESC = '\u001b';
const oneSentence = (s: string) => {
  const text = s.trim();
  expect(text.split('\n')).toHaveLength(1);
  expect(text.startsWith('spokecap: ')).toBe(true);
};

// Each test starts its own process; running them side by side keeps the file quick.
describe.concurrent('bin/spokecap', () => {
  it('--help prints usage and exits 0', async () => {
    const r = await spokecap(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('spokecap [analyze] <capture>... [options]');
    expect(r.stdout).toContain('--json');
  });

  it('--version prints the package version', async () => {
    const r = await spokecap(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`spokecap ${version}\n`);
  });

  it('an unknown option is a usage error: exit 2, one sentence on stderr, nothing on stdout', async () => {
    const r = await spokecap([capture, '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    oneSentence(r.stderr);
    expect(r.stderr).toContain("'--frobnicate'");
  });

  it('a missing file exits 2 with one sentence on stderr', async () => {
    const r = await spokecap([join(dir, 'nope.pcap'), '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    oneSentence(r.stderr);
    expect(r.stderr).toContain('nope.pcap');
  });

  it('--json prints only the JSON report, and the exit code follows the findings', async () => {
    const r = await spokecap([capture, '--json']);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.schema).toBe('spokecap.report/1');
    expect(report.tool).toEqual({ name: 'spokecap', version });
    expect(report.capture.packets).toBe(236);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    expect(r.code).toBe(report.findings.some((f) => f.severity === 'error') ? 1 : 0);
  });

  it('exits 0 for a compliant sample and 1 for one with error findings', async () => {
    const [good, bad] = await Promise.all([
      spokecap([join(root, 'samples/compliant-call.pcapng'), '--json']),
      spokecap([join(root, 'samples/blocked-media.pcap'), '--json']),
    ]);
    const goodReport = JSON.parse(good.stdout) as Report;
    const badReport = JSON.parse(bad.stdout) as Report;
    expect(goodReport.findings.some((f) => f.severity === 'error')).toBe(false);
    expect(good.code).toBe(0);
    expect(badReport.findings.some((f) => f.severity === 'error')).toBe(true);
    expect(bad.code).toBe(1);
  });

  it('runs the bundle npm install builds and the sources through tsx alike (SPOKECAP_FROM_SOURCE=1)', async () => {
    const bundle = join(root, 'dist/cli/spokecap.mjs');
    expect(existsSync(bundle), 'npm install (prepare) builds dist/cli/spokecap.mjs').toBe(true);
    const args = [join(root, 'samples/office.pcapng'), '--json'];
    const [built, source, versionFromSource] = await Promise.all([
      spokecap(args),
      spokecap(args, { env: { SPOKECAP_FROM_SOURCE: '1' } }),
      spokecap(['--version'], { env: { SPOKECAP_FROM_SOURCE: '1' } }),
    ]);
    const stable = (text: string) => JSON.stringify(JSON.parse(text), (k, v) => (k === 'generatedAt' || k === 'durationMs' ? undefined : v));
    expect(built.code).toBe(source.code);
    expect(stable(built.stdout)).toBe(stable(source.stdout));
    expect(versionFromSource.stdout).toBe(`spokecap ${version}\n`);
  });

  it('reads a capture from stdin with -', async () => {
    const r = await spokecap(['-', '--json'], { input: readFileSync(capture) });
    expect((JSON.parse(r.stdout) as Report).capture.packets).toBe(236);
  });

  it('reads a capture file redirected to stdin, plain or gzipped, as it reads the file by name', async () => {
    const gz = join(dir, 'redirected.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(capture)));
    const [byName, plain, gzipped] = await Promise.all([
      spokecap([capture, '--json']),
      spokecap(['-', '--json'], { stdinFile: capture }),
      spokecap(['-', '--json'], { stdinFile: gz }),
    ]);
    const report = (text: string) => JSON.parse(text) as Report;
    const expected = report(byName.stdout);
    for (const r of [plain, gzipped]) {
      expect(r.code).toBe(byName.code);
      const got = report(r.stdout);
      expect(got.capture.packets).toBe(236);
      expect(got.capture.sources[0]).toMatchObject({ path: 'stdin', bytes: expected.capture.sources[0].bytes, truncated: false, errors: [] });
      expect(got.rtpStreams).toEqual(expected.rtpStreams);
      expect(got.flows.length).toBe(expected.flows.length);
    }
    expect([report(plain.stdout).capture.sources[0].gzip, report(gzipped.stdout).capture.sources[0].gzip]).toEqual([false, true]);
  });

  it('prints plain text without ANSI escapes when stdout is not a terminal', async () => {
    const r = await spokecap([capture]);
    expect(r.stdout).toMatch(/^(PASS|WARN|FAIL) — /);
    expect(r.stdout).toContain('\nCALLS (');
    expect(r.stdout).not.toContain(ESC);
    expect(r.stderr).toBe('');
  });

  it('honours FORCE_COLOR, NO_COLOR and --no-color', async () => {
    const [forced, flag, noColor] = await Promise.all([
      spokecap([capture], { env: { FORCE_COLOR: '1' } }),
      spokecap([capture, '--no-color'], { env: { FORCE_COLOR: '1' } }),
      spokecap([capture], { env: { NO_COLOR: '1' } }),
    ]);
    expect(forced.stdout).toContain(`${ESC}[`);
    expect(flag.stdout).not.toContain(ESC);
    expect(noColor.stdout).not.toContain(ESC);
  });

  it('--html writes a self-contained report next to the selected output', async () => {
    const file = join(dir, 'report.html');
    const r = await spokecap([capture, '--html', file, '--json']);
    const html = readFileSync(file, 'utf8');
    const report = JSON.parse(r.stdout) as Report;
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`<header class="banner ${report.verdict}">`);
    expect(html).not.toMatch(/<script/i);
  });
});
