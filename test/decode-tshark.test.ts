/**
 * Differential test: for every public capture, the outer IP addresses,
 * protocol and ports we decode must equal tshark's, packet by packet; VLAN
 * ids and MPLS labels too. tshark runs with IP defragmentation off so a first
 * fragment shows its own transport header (as ours does) and the last one
 * shows none.
 *
 * tshark costs ~0.3 s to start, so instead of 80 runs the packets of every
 * fixture, as our reader delivers them, are written into one pcapng (one
 * interface per link type) and tshark dissects that once. Reader fidelity is
 * tested against tshark separately (capture-tshark.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../src/decode/index.js';
import { PacketView, formatIp } from '../src/decode/view.js';
import { pcapngInterface, pcapngPacket, pcapngSectionHeader } from '../src/synth/pcap-writer.js';
import { FIXTURES } from './capture-fixtures.js';
import { type LoadedPacket, loadPackets } from './helpers/walk.js';

const run = promisify(execFile);

const FIELDS = [
  'frame.number',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'ip.proto',
  'ipv6.nxt',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  // The next-header fields of IPv6 extension headers: one of them names the transport.
  'ipv6.hopopts.nxt',
  'ipv6.routing.nxt',
  'ipv6.dstopts.nxt',
  'ipv6.fraghdr.nxt',
  'ieee8021ad.id',
  'vlan.id',
  'mpls.label',
] as const;
type Field = (typeof FIELDS)[number];

/** IPv6 extension header numbers (hop-by-hop, routing, fragment, destination options, AH). */
const V6_EXTENSIONS = new Set([0, 43, 44, 60, 51]);

/**
 * Where we legitimately differ from tshark, by "file#frame" or "file" (all frames).
 * Keep this list tiny and say why.
 */
const EXCEPTIONS: Record<string, string> = {};

type Frame = Record<Field, string[]>;

/** One pcapng holding every packet, each on the interface of its link type. */
function combinedPcapng(packets: LoadedPacket[]): Uint8Array {
  const interfaces = new Map<number, number>();
  const blocks: Uint8Array[] = [pcapngSectionHeader()];
  for (const p of packets) {
    let id = interfaces.get(p.linkType);
    if (id === undefined) {
      id = interfaces.size;
      interfaces.set(p.linkType, id);
      blocks.push(pcapngInterface(p.linkType));
    }
    blocks.push(pcapngPacket({ ts: 0, data: p.data, origLen: p.origLen }, id));
  }
  return Buffer.concat(blocks);
}

/** tshark's fields for every frame of `path`, in frame order; every value is the list of occurrences. */
async function tsharkFrames(path: string): Promise<Frame[]> {
  const args = ['-r', path, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields'];
  args.push('-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=\t');
  for (const f of FIELDS) args.push('-e', f);
  const { stdout } = await run('tshark', args, { maxBuffer: 256 << 20 });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const cols = line.split('\t');
      const rec = {} as Frame;
      FIELDS.forEach((f, i) => (rec[f] = cols[i] ? cols[i].split(',') : []));
      return rec;
    });
}

interface Ours {
  src: string;
  dst: string;
  proto: string;
  sport: string;
  dport: string;
  /** The IPv6 fixed header's next-header byte (tshark's first ipv6.nxt). */
  firstNext: string;
  vlans: string[];
  labels: string[];
}

function ours(view: PacketView): Ours {
  const hasIp = view.srcOff !== 0;
  const hasPorts = (view.proto === 6 || view.proto === 17) && view.l4Off !== 0 && view.l4Off + 4 <= view.buf.length;
  return {
    src: hasIp ? formatIp(view.buf, view.srcOff, view.addrLen) : '',
    dst: hasIp ? formatIp(view.buf, view.dstOff, view.addrLen) : '',
    proto: hasIp ? String(view.proto) : '',
    sport: hasPorts ? String(view.srcPort) : '',
    dport: hasPorts ? String(view.dstPort) : '',
    firstNext: view.ipVersion === 6 && hasIp ? String(view.buf[view.ipOff + 6]) : '',
    vlans: Array.from(view.vlanIds.subarray(0, view.vlanCount), String),
    labels: Array.from(view.mplsLabels.subarray(0, view.mplsCount), String),
  };
}

/** The same fields as tshark shows them for the outer packet, in the family we decoded. */
function theirs(t: Record<Field, string[]>, version: number, proto: number): Ours {
  const v6 = version === 6;
  const src = (v6 ? t['ipv6.src'] : t['ip.src'])[0] ?? '';
  let protoStr = v6 ? '' : (t['ip.proto'][0] ?? '');
  if (v6) {
    // The transport is the one next-header value of the outer chain that is not an extension header.
    const chain = [t['ipv6.nxt'][0], t['ipv6.hopopts.nxt'][0], t['ipv6.routing.nxt'][0], t['ipv6.dstopts.nxt'][0], t['ipv6.fraghdr.nxt'][0]];
    protoStr = chain.find((x) => x !== undefined && !V6_EXTENSIONS.has(Number(x))) ?? '';
  }
  const tcp = proto === 6;
  const udp = proto === 17;
  return {
    src,
    dst: (v6 ? t['ipv6.dst'] : t['ip.dst'])[0] ?? '',
    proto: protoStr,
    sport: (tcp ? t['tcp.srcport'] : udp ? t['udp.srcport'] : [])[0] ?? '',
    dport: (tcp ? t['tcp.dstport'] : udp ? t['udp.dstport'] : [])[0] ?? '',
    firstNext: v6 ? (t['ipv6.nxt'][0] ?? '') : '',
    vlans: [...t['ieee8021ad.id'], ...t['vlan.id']],
    labels: t['mpls.label'],
  };
}

const loaded: LoadedPacket[][] = [];
let frames: Frame[] = [];
let dir = '';

beforeAll(async () => {
  for (const [, path] of FIXTURES) loaded.push(await loadPackets(path));
  dir = mkdtempSync(join(tmpdir(), 'decode-tshark-'));
  const combined = join(dir, 'all.pcapng');
  writeFileSync(combined, combinedPcapng(loaded.flat()));
  frames = await tsharkFrames(combined);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decoders agree with tshark on every public capture', () => {
  it('tshark saw every packet', () => {
    expect(frames.length).toBe(loaded.flat().length);
  });

  FIXTURES.forEach(([name], fileIndex) => {
    it(name, () => {
      const first = loaded.slice(0, fileIndex).reduce((n, pkts) => n + pkts.length, 0);
      const view = new PacketView();
      const mismatches: string[] = [];
      let compared = 0;
      let tsharkIpFrames = 0;
      loaded[fileIndex].forEach((p, i) => {
        const frame = i + 1;
        const t = frames[first + i];
        if (EXCEPTIONS[name] || EXCEPTIONS[`${name}#${frame}`]) return;
        decodePacket(view, p.data, p.linkType);
        const tsharkHasIp = t['ip.src'].length > 0 || t['ipv6.src'].length > 0;
        if (tsharkHasIp) tsharkIpFrames++;
        const got = ours(view);
        if (!tsharkHasIp && got.src === '') return;
        const want = theirs(t, view.ipVersion, view.proto);
        if (!tsharkHasIp) {
          // Only tshark's VLAN/MPLS fields to compare.
          want.src = want.dst = want.proto = want.sport = want.dport = want.firstNext = '';
        }
        compared++;
        const a = JSON.stringify(got);
        const b = JSON.stringify(want);
        if (a !== b) mismatches.push(`#${frame} ours ${a} tshark ${b} (malformed: ${view.malformed})`);
      });
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(compared).toBeGreaterThanOrEqual(tsharkIpFrames);
    });
  });
});
