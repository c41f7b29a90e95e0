/**
 * The Ink UI in a real terminal: bin/spokecap runs in a detached tmux pane of a
 * fixed size; we send keys and read the screen with capture-pane.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Report } from '../src/report/schema.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const capture = join(root, 'test/fixtures/public/rtp/sipp_g711a.pcap');
const bigCapture = join(root, 'test/fixtures/public/rtp/voipshark_SIP-RTP-Normal_Call_two_parties.pcap');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('tui-tmux.test.ts skipped: tmux is not installed (CI installs it)');

/** A private tmux server (its own socket), so the user's sessions are never touched. */
class TmuxPane {
  readonly socket = `spokecap-test-${process.pid}-${Date.now()}`;
  readonly target = 'ui';
  /** Holds the exit code file: tmux 3.3 reports no pane_dead_status for some codes (0, 130). */
  private readonly dir = mkdtempSync(join(tmpdir(), 'spokecap-tmux-'));
  private readonly codeFile = join(this.dir, 'exit-code');

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Runs argv in a cols×rows terminal; a tiny sh wrapper records the exit code. */
  start(cols: number, rows: number, argv: string[], cwd = root): void {
    // The tmux server inherits this process's environment; CI=true would (rightly) turn the UI into plain text.
    const wrapper = `env -u CI "$@"; echo $? > '${this.codeFile}'; sleep 60`;
    this.tmux('new-session', '-d', '-s', this.target, '-x', String(cols), '-y', String(rows), '-c', cwd, 'sh', '-c', wrapper, 'sh', ...argv);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.target);
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.target, ...keys);
  }

  /** The process's exit code, or null while it runs. */
  exitCode(): number | null {
    return existsSync(this.codeFile) && readFileSync(this.codeFile, 'utf8').endsWith('\n') ? Number(readFileSync(this.codeFile, 'utf8')) : null;
  }

  async waitFor(what: string, test: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${this.screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasTmux && !process.env.CI)('TUI in tmux', () => {
  it('shows the report, moves, expands, switches tabs and quits with the exit code', async () => {
    const json = spawnSync(join(root, 'bin/spokecap'), [capture, '--json'], { cwd: root, encoding: 'utf8' });
    const report = JSON.parse(json.stdout) as Report;
    expect(report.findings.length).toBeGreaterThanOrEqual(2);

    const pane = new TmuxPane();
    try {
      pane.start(120, 40, ['bin/spokecap', capture]);
      await pane.waitFor('the verdict', () => /^(PASS|WARN|FAIL) — /m.test(pane.screen()));
      let screen = pane.screen();
      expect(screen).toContain('[1 Findings');
      expect(screen).toContain('q quit');
      const rows = screen.split('\n');
      const first = rows.findIndex((l) => l.startsWith('› '));
      expect(first).toBeGreaterThan(0);

      pane.keys('Down');
      await pane.waitFor('the selection to move', () => pane.screen().split('\n')[first + 1]?.startsWith('› ') === true);
      pane.keys('Enter');
      await pane.waitFor('the finding to expand', () => /^ {4}remedy /m.test(pane.screen()));

      pane.keys('Tab');
      await pane.waitFor('the Calls tab', () => pane.screen().includes(`[2 Calls ${report.calls.length}]`));
      screen = pane.screen();
      expect(screen).toMatch(/^› C1 /m);
      expect(screen).toMatch(/jitter ↑ +[▁-█]/);

      pane.keys('4');
      await pane.waitFor('the Capture tab', () => pane.screen().includes('[4 Capture]'));
      expect(pane.screen()).toMatch(/packets +236/);

      pane.keys('q');
      await pane.waitFor('the process to exit', () => pane.exitCode() !== null);
      expect(pane.exitCode()).toBe(report.findings.some((f) => f.severity === 'error') ? 1 : 0);
      expect(pane.screen()).toContain('[4 Capture]');
    } finally {
      pane.kill();
    }
  });

  it('quits during the analysis with exit code 130', async () => {
    const pane = new TmuxPane();
    // Hundreds of inputs keep the analysis busy for far longer than the key takes to arrive;
    // a short link keeps the command line within what tmux accepts.
    const dir = mkdtempSync(join(tmpdir(), 'spokecap-tmux-'));
    symlinkSync(bigCapture, join(dir, 'c.pcap'));
    try {
      pane.start(100, 20, [join(root, 'bin/spokecap'), ...Array<string>(400).fill('c.pcap')], dir);
      await pane.waitFor('the progress view', () => /^spokecap: reading .*\(\d+\/400\)/m.test(pane.screen()));
      expect(pane.screen()).toContain('q quit');
      pane.keys('q');
      await pane.waitFor('the process to exit', () => pane.exitCode() !== null);
      expect(pane.exitCode()).toBe(130);
    } finally {
      pane.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
