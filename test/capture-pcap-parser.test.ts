/** Differential test against pcap-parser, an independent classic-pcap reader (µs files only: it knows no ns magic). */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FIXTURES, parseFile } from './capture-fixtures.js';

interface PcapParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(path: string): EventEmitter };

function theirs(path: string): Promise<Array<[number, number, number, number]>> {
  return new Promise((resolve, reject) => {
    const out: Array<[number, number, number, number]> = [];
    const p = pcapParser.parse(path);
    p.on('packet', (pkt: PcapParserPacket) => {
      const h = pkt.header;
      out.push([h.timestampSeconds, h.timestampMicroseconds, pkt.data.length, h.originalLength]);
    });
    p.on('error', reject);
    p.on('end', () => resolve(out));
  });
}

/** Classic pcap, µs magic in either byte order, version 2.4: what pcap-parser reads. */
function isMicrosecondPcap(path: string): boolean {
  const head = readFileSync(path).subarray(0, 8);
  const magic = head.toString('hex', 0, 4);
  const le = magic === 'd4c3b2a1';
  if (!le && magic !== 'a1b2c3d4') return false;
  return (le ? head.readUInt16LE(6) : head.readUInt16BE(6)) === 4;
}

const CLASSIC = FIXTURES.filter(([, path]) => isMicrosecondPcap(path));

describe('reader agrees with pcap-parser on classic µs pcap', () => {
  it('covers most classic fixtures', () => {
    expect(CLASSIC.length).toBeGreaterThan(40);
  });
  for (const [name, path] of CLASSIC) {
    it(name, async () => {
      const { packets, info } = parseFile(path);
      const expected = await theirs(path);
      expect(info.errors).toEqual([]);
      expect(packets.map((p) => [p.tsSec, p.tsNsec / 1000, p.caplen, p.origLen])).toEqual(expected);
    });
  }
});
