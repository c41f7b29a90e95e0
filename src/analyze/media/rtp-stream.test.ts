import { describe, expect, it } from 'vitest';
import { RtpStream } from './rtp-stream.js';
import { analyseRow, RtpPacket, StreamColumns } from './stream-row.js';

const ENDS = { srcIp: '10.0.0.5', srcPort: 40000, dstIp: '168.86.128.10', dstPort: 20000, flowUid: 'F1' };

/**
 * The duplicate / out-of-order definition written plainly: a 64-slot table,
 * slot ext % 64 holding the last extended sequence number stored there.
 */
function referenceCounts(extSeqs: number[]): { duplicates: number; outOfOrder: number } {
  const seen = new Array<number>(64).fill(-1);
  let highest = -1;
  let duplicates = 0;
  let outOfOrder = 0;
  for (const ext of extSeqs) {
    if (seen[ext % 64] === ext) {
      duplicates++;
      continue;
    }
    seen[ext % 64] = ext;
    if (ext > highest) highest = ext;
    else outOfOrder++;
  }
  return { duplicates, outOfOrder };
}

/** Deterministic arrival order of sequence numbers: clean stretches, then losses, duplicates, late packets, far-late ones and jumps. */
function arrivals(seed: number, count: number): number[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: number[] = [];
  let next = 60000; // crosses the 16-bit wrap
  for (let i = 0; i < count; i++) {
    const r = rnd();
    if (r < 0.05) next += 1 + Math.floor(rnd() * 5); // loss
    else if (r < 0.06) next += 200 + Math.floor(rnd() * 3000); // a jump
    out.push(next++);
    if (Math.floor(i / 150) % 2 === 0) continue; // a clean stretch: long in-order runs
    const extra = rnd();
    if (extra < 0.05) out.push(next - 1); // duplicate right away
    else if (extra < 0.1 && out.length > 3) out.push(out[out.length - 1 - Math.floor(rnd() * 3)]); // duplicate of a recent one
    else if (extra < 0.15) out.push(next - 2 - Math.floor(rnd() * 40)); // late, inside the window
    else if (extra < 0.17) out.push(next - 60 - Math.floor(rnd() * 200)); // late, at or past the window's edge
    else if (extra < 0.25) out.push(next - 60 - Math.floor(rnd() * 12)); // again, about 64 behind the highest: the window's edge
  }
  return out;
}

function feed(stream: RtpStream, cols: StreamColumns<RtpStream>, seqs: number[]): void {
  const pkt = new RtpPacket();
  seqs.forEach((seq, i) => {
    pkt.ts = 1000 + i * 0.02;
    pkt.seq = seq & 0xffff;
    pkt.rawTs = (seq * 160) % 4294967296;
    pkt.pt = 0;
    pkt.marker = false;
    pkt.ipBytes = 200;
    pkt.frame = i + 1;
    // As the media analyzer does: a row returned is the packet's to analyse.
    const row = stream.offer(pkt);
    if (row >= 0) analyseRow(cols, row, pkt);
  });
  stream.finish();
}

describe('RtpStream duplicate window', () => {
  it('counts duplicates and out-of-order packets as the plain 64-slot table does', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const seqs = arrivals(seed, 4000);
      const cols = new StreamColumns<RtpStream>();
      const stream = new RtpStream(cols, 0xabcdef01, 0, ENDS, 600);
      feed(stream, cols, seqs);
      // Sequence numbers here never step back 2^15, so the extended number is seq + 65536.
      expect({ duplicates: stream.duplicates, outOfOrder: stream.outOfOrder }).toEqual(referenceCounts(seqs.map((s) => s + 65536)));
      expect(stream.totalNr).toBe(seqs.length);
    }
  });

  it('finds a duplicate at the window edge right after a late packet or a gap', () => {
    const run = Array.from({ length: 100 }, (_, i) => 1000 + i).filter((seq) => seq !== 1010); // highest 1099
    for (const seqs of [
      [...run, 1010, 1099 - 63], // late, then the oldest number the window still holds
      [...run, 1105, 1099 - 63], // a gap, then the same
      [...run, 1010, 1099 - 64], // one further back: no longer in the window
    ]) {
      const cols = new StreamColumns<RtpStream>();
      const stream = new RtpStream(cols, 1, 0, ENDS, 600);
      feed(stream, cols, seqs);
      expect({ duplicates: stream.duplicates, outOfOrder: stream.outOfOrder }).toEqual(referenceCounts(seqs.map((s) => s + 65536)));
    }
    expect(referenceCounts([...run, 1010, 1099 - 63].map((seq) => seq + 65536))).toEqual({ duplicates: 1, outOfOrder: 1 });
  });

  it('keeps the unsigned SSRC', () => {
    const stream = new RtpStream(new StreamColumns<RtpStream>(), 0xfedcba98, 1, ENDS, 600);
    expect(stream.ssrc).toBe(0xfedcba98);
    expect(stream.ssrcText).toBe('0xfedcba98');
  });
});
