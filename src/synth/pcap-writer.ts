/**
 * Writers for classic pcap and pcapng, used by tests, samples, the benchmark
 * and `live --write`. Both buffer records and flush in large chunks.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export interface WrittenPacket {
  /** Seconds since the epoch (fractional). */
  ts: number;
  data: Uint8Array;
  /** Wire length, defaults to data.length. */
  origLen?: number;
}

/** Build a whole classic pcap (little-endian, microseconds) in memory. Small captures only. */
export function buildPcap(packets: WrittenPacket[], linkType = 1, snaplen = 262144, nanos = false): Uint8Array {
  const parts: Uint8Array[] = [pcapHeader(linkType, snaplen, nanos)];
  for (const p of packets) parts.push(pcapRecord(p, nanos));
  return Buffer.concat(parts);
}

export function pcapHeader(linkType = 1, snaplen = 262144, nanos = false): Uint8Array {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linkType, 20);
  return h;
}

export function pcapRecord(p: WrittenPacket, nanos = false): Uint8Array {
  const h = Buffer.alloc(16 + p.data.length);
  let sec = Math.floor(p.ts);
  const scale = nanos ? 1e9 : 1e6;
  let frac = Math.round((p.ts - sec) * scale);
  if (frac >= scale) {
    sec += 1;
    frac -= scale;
  }
  h.writeUInt32LE(sec >>> 0, 0);
  h.writeUInt32LE(frac, 4);
  h.writeUInt32LE(p.data.length, 8);
  h.writeUInt32LE(p.origLen ?? p.data.length, 12);
  h.set(p.data, 16);
  return h;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function option(code: number, value: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  b.set(value, 4);
  return b;
}

function block(type: number, body: Uint8Array): Buffer {
  const len = 12 + body.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  b.set(body, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

export function pcapngSectionHeader(comment?: string): Uint8Array {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(0x1a2b3c4d, 0);
  body.writeUInt16LE(1, 4);
  body.writeUInt16LE(0, 6);
  body.writeInt32LE(-1, 8);
  body.writeInt32LE(-1, 12);
  const opts = comment ? Buffer.concat([option(1, Buffer.from(comment)), Buffer.alloc(4)]) : Buffer.alloc(0);
  return block(0x0a0d0d0a, Buffer.concat([body, opts]));
}

/** Interface Description Block; tsresol is the if_tsresol byte (6 = µs, 9 = ns). */
export function pcapngInterface(linkType = 1, snaplen = 262144, tsresol = 6, name?: string): Uint8Array {
  const body = Buffer.alloc(8);
  body.writeUInt16LE(linkType, 0);
  body.writeUInt32LE(snaplen, 4);
  const opts: Buffer[] = [];
  if (name) opts.push(option(2, Buffer.from(name)));
  if (tsresol !== 6) opts.push(option(9, Uint8Array.of(tsresol)));
  if (opts.length) opts.push(Buffer.alloc(4));
  return block(1, Buffer.concat([body, ...opts]));
}

/** Enhanced Packet Block. */
export function pcapngPacket(p: WrittenPacket, interfaceId = 0, tsresol = 6, comment?: string): Uint8Array {
  const units = BigInt(Math.round(p.ts * 1e6)) * (tsresol === 9 ? 1000n : 1n);
  const body = Buffer.alloc(20 + pad4(p.data.length));
  body.writeUInt32LE(interfaceId, 0);
  body.writeUInt32LE(Number(units >> 32n), 4);
  body.writeUInt32LE(Number(units & 0xffffffffn), 8);
  body.writeUInt32LE(p.data.length, 12);
  body.writeUInt32LE(p.origLen ?? p.data.length, 16);
  body.set(p.data, 20);
  const opts = comment ? Buffer.concat([option(1, Buffer.from(comment)), Buffer.alloc(4)]) : Buffer.alloc(0);
  return block(6, Buffer.concat([body, opts]));
}

/** Interface Statistics Block with isb_ifdrop. */
export function pcapngStats(interfaceId: number, ts: number, ifDrop: number, ifRecv?: number): Uint8Array {
  const units = BigInt(Math.round(ts * 1e6));
  const body = Buffer.alloc(12);
  body.writeUInt32LE(interfaceId, 0);
  body.writeUInt32LE(Number(units >> 32n), 4);
  body.writeUInt32LE(Number(units & 0xffffffffn), 8);
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const opts: Buffer[] = [];
  if (ifRecv !== undefined) opts.push(option(4, u64(ifRecv)));
  opts.push(option(5, u64(ifDrop)), Buffer.alloc(4));
  return block(5, Buffer.concat([body, ...opts]));
}

/** Build a whole single-interface pcapng in memory. Small captures only. */
export function buildPcapng(packets: WrittenPacket[], linkType = 1): Uint8Array {
  return Buffer.concat([pcapngSectionHeader(), pcapngInterface(linkType), ...packets.map((p) => pcapngPacket(p))]);
}

/** Streaming classic-pcap file writer with a 1 MiB buffer; respects backpressure via drain(). */
export class PcapFileWriter {
  private readonly out: WriteStream;
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(path: string, linkType = 1, snaplen = 262144) {
    this.out = createWriteStream(path);
    this.push(pcapHeader(linkType, snaplen));
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.buffered += b.length;
  }

  /** Returns a promise only when the stream wants the caller to wait. */
  write(p: WrittenPacket): Promise<void> | undefined {
    this.push(pcapRecord(p));
    if (this.buffered < 1 << 20) return undefined;
    const ok = this.out.write(Buffer.concat(this.chunks));
    this.chunks = [];
    this.buffered = 0;
    return ok ? undefined : new Promise((r) => this.out.once('drain', () => r()));
  }

  close(): Promise<void> {
    if (this.chunks.length) this.out.write(Buffer.concat(this.chunks));
    this.chunks = [];
    return new Promise((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }
}
