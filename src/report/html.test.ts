import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderHtml } from './html.js';
import type { Report } from './schema.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/reports/${name}.json`, import.meta.url), 'utf8')) as Report;
const fail = load('fail');
const html = renderHtml(fail);

describe('renderHtml', () => {
  it('opens with the verdict banner', () => {
    expect(html).toMatch(/<header class="banner fail">\s*<h1 id="verdict">FAIL — Spoke calls will not work on this network: 3 errors, 6 warnings<\/h1>/);
    expect(renderHtml(load('pass'))).toContain('<header class="banner pass">');
  });

  it('lists every finding with its remedy and filter as copyable code', () => {
    for (const f of fail.findings) expect(html).toContain(`<span class="id">${f.id}</span>`);
    expect(html).toContain('<code class="copy">allow outbound TCP 443 to eventgw.twilio.com</code>');
    expect(html).toContain('<code class="copy">tcp.port==443 &amp;&amp; ip.addr==3.22.8.14 &amp;&amp; tcp.flags.reset==1</code>');
  });

  it('draws three charts per call with the policy limits', () => {
    expect(html.match(/<svg /g)).toHaveLength(3 * fail.calls.length);
    expect(html).toContain('limit 10 ms');
    expect(html).toContain('limit 1 %');
    expect(html).toContain('needs 100 kbps');
  });

  it('omits limit lines when the report carries no limits', () => {
    const noLimits = renderHtml({ ...fail, policy: { ...fail.policy, limits: undefined } });
    expect(noLimits).not.toContain('class="limit"');
  });

  it('escapes hostile names so no markup from the wire survives', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('evil\\x1b[31m&lt;script&gt;alert(1)&lt;/script&gt;\\x07.spokephone.com');
    expect(html).toContain('x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(html).not.toContain('\u001b');
    expect(html).not.toContain('\u202e');
  });

  it('is self-contained: no external requests, scripts forbidden, inline CSS allowed by its hash', () => {
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    const hash = createHash('sha256').update(css).digest('base64');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)![1];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    expect(csp).not.toContain('script-src');
  });

  it('lists every flow and the capture facts', () => {
    for (const f of fail.flows) expect(html).toContain(`<td class="mono">${f.uid}</td>`);
    expect(html).toContain('<th>malformed</th><td>4 (ipv4-bad-ihl 3, udp-short 1)</td>');
  });
});
