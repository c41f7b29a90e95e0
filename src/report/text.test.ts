import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report } from './schema.js';
import { renderText } from './text.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/reports/${name}.json`, import.meta.url), 'utf8')) as Report;
const fail = load('fail');
const pass = load('pass');
const ESC = '\u001b';

describe('renderText', () => {
  const plain = renderText(fail, { color: false, width: 100 });
  const lines = plain.split('\n');

  it('starts with the verdict line', () => {
    expect(lines[0]).toBe('FAIL — Spoke calls will not work on this network: 3 errors, 6 warnings');
    expect(renderText(pass, { color: false, width: 100 }).split('\n')[0]).toMatch(/^PASS — /);
  });

  it('groups findings by severity, errors first, with filter and remedy', () => {
    const errors = lines.indexOf('ERRORS (3)');
    const warnings = lines.indexOf('WARNINGS (6)');
    const notes = lines.indexOf('NOTES (1)');
    expect(errors).toBeGreaterThan(0);
    expect(warnings).toBeGreaterThan(errors);
    expect(notes).toBeGreaterThan(warnings);
    const refused = lines.findIndex((l) => l.includes('[tcp-refused]'));
    expect(refused).toBeGreaterThan(errors);
    expect(refused).toBeLessThan(warnings);
    expect(plain).toContain('filter  tcp.port==443 && ip.addr==3.22.8.14 && tcp.flags.reset==1');
    expect(plain).toContain('remedy  allow outbound TCP 443 to eventgw.twilio.com');
    expect(plain).toContain('frames  40, 41, 44');
  });

  it('has the checklist, the calls with sparklines, flows by class and the capture', () => {
    expect(plain).toMatch(/✗ +Spoke application gateway \(\*\.spokephone\.com\) +seen, failing +F3/);
    expect(plain).toMatch(/- +Twilio registration server \(ers\.twilio\.com\) +not seen/);
    expect(plain).toMatch(/C1 +us1 +1m 00s .* 3\.42 +FAIL jitter, loss, bandwidth/);
    expect(plain).toMatch(/C2 +us1 +40\.0 s +0\.0 \/ - +2\.1 \/ - +87 \/ - +- +- +FAIL one-way/);
    expect(plain).toMatch(/jitter ↑ +[▁-█ ]+█/);
    expect(plain).toMatch(/twilio-media +2 +48 /);
    expect(plain).toContain('malformed  4 (ipv4-bad-ihl 3, udp-short 1)');
    expect(plain).toContain('evicted    rtpStreams 2, reassembly 1');
  });

  it('wraps prose to the width', () => {
    const narrow = renderText(fail, { color: false, width: 60 });
    const detail = narrow.split('\n').filter((l) => l.startsWith('    ') && !/[▁-█]/.test(l) && !l.includes('error at offset'));
    for (const line of detail) expect(line.length).toBeLessThanOrEqual(60);
  });

  it('neutralises escape sequences and bidi controls from wire names', () => {
    for (const text of [plain, renderText(fail, { color: true, width: 100 })]) {
      const withoutOurColours = text.replace(/\u001b\[[0-9;]*m/g, '');
      expect(withoutOurColours).not.toContain(ESC);
      expect(text).not.toContain('\u0007');
      expect(text).not.toContain('\u202e');
    }
    expect(plain).toContain('evil\\x1b[31m<script>');
    expect(plain).toContain('office-\\x1b]0;pwned\\x07.pcapng');
  });

  it('colours only when asked', () => {
    expect(plain).not.toContain(ESC);
    const coloured = renderText(fail, { color: true, width: 100 });
    expect(coloured.startsWith(`${ESC}[1m${ESC}[31mFAIL`)).toBe(true);
  });

  it('says so when there are no calls or findings', () => {
    const empty: Report = { ...pass, calls: [], findings: [], verdict: 'pass' };
    const text = renderText(empty, { color: false, width: 80 });
    expect(text).toContain('CALLS (0)\n  no calls found');
    expect(text).toContain('FINDINGS\n  none');
  });
});
