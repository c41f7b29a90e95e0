/**
 * Golden tests for the JSON contract: the full report of each shipped sample
 * and of a few public captures, with volatile fields masked, must equal its
 * baseline in test/golden/. Regenerate deliberately with UPDATE_GOLDEN=1 and
 * review the diff like code.
 */
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/engine/engine.js';
import { contractViolations } from './helpers/contract.js';

const root = new URL('..', import.meta.url).pathname;
const samples = existsSync(join(root, 'samples'))
  ? readdirSync(join(root, 'samples')).filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f)).map((f) => join('samples', f))
  : [];
const publicCases = [
  'test/fixtures/public/rtp/sipp_g711a.pcap',
  'test/fixtures/public/stun-webrtc/zeek_webrtc-stun.pcap',
  'test/fixtures/public/tls/arkime_tls-split-client-hello.pcap',
  'test/fixtures/public/vpn/wireguard/ndpi_wireguard.pcap',
  'test/fixtures/public/linktypes/pcpp_MplsPackets.pcap',
  'test/fixtures/public/malformed/ndpi_fuzz-2021-10-13.pcap',
].filter((p) => existsSync(join(root, p)));

/** Mask what legitimately changes between builds, keep everything else. */
function normalise(report: any): any {
  // Paths differ between checkouts: make every mention of the checkout relative.
  const r = JSON.parse(JSON.stringify(report).split(root).join(''));
  r.tool.version = '<version>';
  for (const s of r.capture.sources) s.path = basename(s.path);
  r.capture.warnings = r.capture.warnings.map((w: string) => w.replace(/^[^:]*\//, ''));
  return r;
}

describe('golden JSON reports', () => {
  it('has cases', () => {
    expect(samples.length + publicCases.length).toBeGreaterThan(5);
  });
  for (const rel of [...samples, ...publicCases]) {
    it(rel, async () => {
      const report = normalise(await analyze({ inputs: [join(root, rel)] }));
      expect(contractViolations(report)).toEqual([]);
      const file = join(root, 'test/golden', basename(rel).replace(/\.(pcap|pcapng)(\.gz)?$/, '.json'));
      const text = JSON.stringify(report, null, 2) + '\n';
      if (process.env.UPDATE_GOLDEN || !existsSync(file)) {
        if (process.env.CI && !existsSync(file)) throw new Error(`missing golden ${file}: run UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts`);
        writeFileSync(file, text);
      }
      expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});
