/**
 * The shipped samples: regenerating them gives the committed bytes, and each
 * yields its expected findings (samples/README.md) through the full engine.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../src/engine/engine.js';
import { SAMPLES, SAMPLES_DIR, sampleBytes } from '../scripts/make-samples.js';

const EXPECTED: Record<string, { verdict: string; findings: string[]; checklist?: Record<string, string> }> = {
  'compliant-call.pcapng': {
    verdict: 'pass',
    findings: ['info legacy-signalling-host'],
    checklist: { 'spoke-gateway': 'seen-ok', 'twilio-chunderw-vpc-gll': 'seen-ok', 'media-shared': 'seen-ok', 'twilio-ers': 'not-seen' },
  },
  'blocked-signalling.pcap': {
    verdict: 'fail',
    findings: ['error tcp-blocked', 'error tcp-refused', 'info legacy-signalling-host', 'info signalling-without-media'],
    checklist: { 'twilio-chunderw-vpc-gll': 'seen-failing', 'twilio-eventgw': 'seen-failing', 'spoke-gateway': 'seen-ok' },
  },
  'blocked-media.pcap': {
    verdict: 'fail',
    findings: ['error udp-no-return', 'error one-way-audio', 'info legacy-signalling-host'],
    checklist: { 'media-shared': 'seen-failing' },
  },
  'dns-failure.pcap': {
    verdict: 'fail',
    findings: ['error dns-failure', 'error dns-failure'],
    checklist: { 'spoke-gateway': 'seen-failing', 'twilio-chunderw-vpc-gll': 'seen-failing' },
  },
  'vpn.pcap': {
    verdict: 'fail',
    findings: ['error vpn-tunnel', 'warning vpn-tunnel', 'info legacy-signalling-host'],
  },
  'inbound.pcap': { verdict: 'warn', findings: ['warning inbound-connection', 'warning not-tested'] },
  'poor-quality.pcapng': {
    verdict: 'fail',
    findings: ['error call-jitter', 'error call-loss', 'error call-rtt', 'info legacy-signalling-host'],
  },
  'office.pcapng': {
    verdict: 'fail',
    findings: ['error udp-no-return', 'error one-way-audio', 'warning mpls', 'info legacy-signalling-host'],
    checklist: { 'media-shared': 'seen-failing', 'spoke-gateway': 'seen-ok' },
  },
};

describe('samples', () => {
  it.each(SAMPLES.map((s) => s.file))('%s regenerates byte for byte', (file) => {
    expect(Buffer.compare(Buffer.from(sampleBytes(file)), readFileSync(join(SAMPLES_DIR, file)))).toBe(0);
  });

  it.each(SAMPLES.map((s) => s.file))('%s yields its expected findings', async (file) => {
    const report = await analyze({ inputs: [join(SAMPLES_DIR, file)] });
    const want = EXPECTED[file];
    expect(report.findings.map((f) => `${f.severity} ${f.id}`)).toEqual(want.findings);
    expect(report.verdict).toBe(want.verdict);
    for (const [id, status] of Object.entries(want.checklist ?? {}))
      expect([id, report.checklist.find((c) => c.id === id)?.status]).toEqual([id, status]);
  });

  it('vpn.pcap: the GRE tunnel carries Spoke/Twilio traffic, the WireGuard/IPsec one is named with its types', async () => {
    const report = await analyze({ inputs: [join(SAMPLES_DIR, 'vpn.pcap')] });
    const [gre, wg] = report.findings.filter((f) => f.id === 'vpn-tunnel');
    expect(gre.title).toBe('VPN tunnel (gre) to 198.51.100.20');
    expect(gre.detail).toContain('Spoke/Twilio traffic goes inside it');
    expect(wg.title).toBe('VPN tunnel (wireguard, ike, ipsec) to 198.51.100.10');
  });

  it('poor-quality.pcapng: jitter, loss and RTT as generated (25 ms, 3 %, 180 ms)', async () => {
    const [call] = (await analyze({ inputs: [join(SAMPLES_DIR, 'poor-quality.pcapng')] })).calls;
    expect(call.down.maxJitterMs).toBeGreaterThan(20);
    expect(call.down.lossPct).toBeGreaterThan(2);
    expect(call.rtt?.maxMs).toBeCloseTo(180, 0);
  });
});
