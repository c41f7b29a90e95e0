/**
 * The Ink UI in a real terminal: bin/spokecap runs in a detached tmux pane of a
 * fixed size; we send keys and read the screen with capture-pane.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Report } from '../src/report/schema.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const capture = join(root, 'test/fixtures/public/rtp/sipp_g711a.pcap');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('tui-tmux.test.ts skipped: tmux is not installed (CI installs it)');

/** A private tmux server (its own socket), so the user's sessions are never touched. */
class TmuxPane {
  readonly socket = `spokecap-test-${process.pid}-${Date.now()}`;
  readonly target = 'ui';

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  start(cols: number, rows: number, argv: string[]): void {
    this.tmux('new-session', '-d', '-s', this.target, '-x', String(cols), '-y', String(rows), '-c', root, ...argv);
    this.tmux('set-option', '-t', this.target, 'remain-on-exit', 'on');
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.target);
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.target, ...keys);
  }

  /** [dead, exit status] of the pane's process. */
  status(): [boolean, number | null] {
    const [dead, code] = this.tmux('display-message', '-p', '-t', this.target, '#{pane_dead} #{pane_dead_status}').trim().split(' ');
    // tmux 3.3 prints an empty pane_dead_status for exit code 0.
    return dead === '1' ? [true, Number(code || 0)] : [false, null];
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
  }
}

describe.skipIf(!hasTmux)('TUI in tmux', () => {
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
      await pane.waitFor('the process to exit', () => pane.status()[0]);
      expect(pane.status()[1]).toBe(report.findings.some((f) => f.severity === 'error') ? 1 : 0);
    } finally {
      pane.kill();
    }
  });
});
