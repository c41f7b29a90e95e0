import { describe, expect, it } from 'vitest';
import { buildPcap, pcapHeader, pcapngInterface, pcapngPacket, pcapngSectionHeader, pcapngStats } from '../synth/pcap-writer.js';
import { CaptureParser, MAX_BLOCK_LEN, MAX_CAPLEN } from './parser.js';
import { CaptureOpenError, type RawPacket, type SourceInfo } from './types.js';

interface Got {
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origLen: number;
  linkType: number;
  interfaceId: number;
  comment: string | null;
  data: number[];
}

function parse(bytes: Uint8Array, path = 'test.pcap'): { pkts: Got[]; info: SourceInfo } {
  const pkts: Got[] = [];
  const p = new CaptureParser(path, (r: RawPacket) =>
    pkts.push({ ...r, data: Array.from(r.data), offset: undefined, buf: undefined, dataOff: undefined } as unknown as Got),
  );
  p.push(bytes);
  p.end();
  for (const g of pkts) for (const k of ['offset', 'buf', 'dataOff']) delete (g as unknown as Record<string, unknown>)[k];
  return { pkts, info: p.info };
}

const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Little builder for pcapng blocks in either byte order. */
class Ng {
  constructor(private readonly le: boolean) {}
  u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  }
  u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }
  u64(v: bigint): Buffer {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigUInt64LE(v);
    else b.writeBigUInt64BE(v);
    return b;
  }
  opt(code: number, value: Uint8Array): Buffer {
    const pad = Buffer.alloc((4 - (value.length % 4)) % 4);
    return Buffer.concat([this.u16(code), this.u16(value.length), value, pad]);
  }
  opts(...o: Buffer[]): Buffer {
    return o.length ? Buffer.concat([...o, Buffer.alloc(4)]) : Buffer.alloc(0);
  }
  block(type: number, body: Uint8Array): Buffer {
    const len = 12 + body.length;
    return Buffer.concat([this.u32(type), this.u32(len), body, this.u32(len)]);
  }
  shb(major = 1, comment?: string): Buffer {
    const o = comment ? this.opts(this.opt(1, Buffer.from(comment))) : Buffer.alloc(0);
    return this.block(0x0a0d0d0a, Buffer.concat([this.u32(0x1a2b3c4d), this.u16(major), this.u16(0), this.u64(0xffffffffffffffffn), o]));
  }
  idb(linkType: number, snaplen: number, tsresol?: number, tsoffset?: bigint): Buffer {
    const o: Buffer[] = [];
    if (tsresol !== undefined) o.push(this.opt(9, Uint8Array.of(tsresol)));
    if (tsoffset !== undefined) o.push(this.opt(14, this.u64(tsoffset)));
    return this.block(1, Buffer.concat([this.u16(linkType), this.u16(0), this.u32(snaplen), this.opts(...o)]));
  }
  epb(ifid: number, ticks: bigint, data: Uint8Array, origLen = data.length, comment?: string): Buffer {
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    const o = comment ? this.opts(this.opt(1, Buffer.from(comment))) : Buffer.alloc(0);
    const t = this.u64(ticks);
    const [hi, lo] = this.le ? [t.subarray(4), t.subarray(0, 4)] : [t.subarray(0, 4), t.subarray(4)];
    return this.block(6, Buffer.concat([this.u32(ifid), hi, lo, this.u32(data.length), this.u32(origLen), data, pad, o]));
  }
  spb(data: Uint8Array, origLen = data.length): Buffer {
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    return this.block(3, Buffer.concat([this.u32(origLen), data, pad]));
  }
  pb(ifid: number, ticks: bigint, data: Uint8Array): Buffer {
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    const hi = Number(ticks >> 32n);
    const lo = Number(ticks & 0xffffffffn);
    return this.block(2, Buffer.concat([this.u16(ifid), this.u16(0), this.u32(hi), this.u32(lo), this.u32(data.length), this.u32(data.length), data, pad]));
  }
}

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('classic pcap', () => {
  const pkts = [
    { ts: 1700000000.25, data: bytes(1, 2, 3, 4, 5) },
    { ts: 1700000001.5, data: bytes(9, 8, 7), origLen: 60 },
  ];

  it('reads little-endian microsecond files', () => {
    const { pkts: got, info } = parse(buildPcap(pkts, 113, 65535));
    expect(got).toEqual([
      { tsSec: 1700000000, tsNsec: 250_000_000, caplen: 5, origLen: 5, linkType: 113, interfaceId: 0, comment: null, data: [1, 2, 3, 4, 5] },
      { tsSec: 1700000001, tsNsec: 500_000_000, caplen: 3, origLen: 60, linkType: 113, interfaceId: 0, comment: null, data: [9, 8, 7] },
    ]);
    expect(info).toMatchObject({ format: 'pcap', packets: 2, linkTypes: ['LINUX_SLL'], snaplen: 65535, snaplenTruncatedPackets: 1, truncated: false, errors: [] });
    expect(info.bytes).toBe(24 + 16 + 5 + 16 + 3);
  });

  it('hands out each packet also as a place in its own buffer (buf, dataOff)', () => {
    const places: number[][] = [];
    const p = new CaptureParser('t.pcap', (r: RawPacket) => places.push(Array.from(r.buf!.subarray(r.dataOff!, r.dataOff! + r.caplen))));
    const file = buildPcap(pkts, 1, 65535);
    // Cut so the second record straddles two chunks (it is copied into the parser's scratch buffer).
    p.push(file.subarray(0, 24 + 16 + 5 + 8));
    p.push(file.subarray(24 + 16 + 5 + 8));
    p.end();
    expect(places).toEqual([[1, 2, 3, 4, 5], [9, 8, 7]]);
  });

  it('gives the same packets, offsets and byte count wherever the chunks are cut (empty records too)', () => {
    const file = buildPcap([...pkts, { ts: 1700000002, data: bytes() }, { ts: 1700000003, data: bytes(7, 7, 7, 7) }], 1, 65535);
    const read = (cuts: number[]) => {
      const got: unknown[] = [];
      const p = new CaptureParser('t.pcap', (r: RawPacket) => got.push([r.offset, r.tsSec, r.caplen, Array.from(r.data)]));
      let at = 0;
      for (const c of [...cuts, file.length]) {
        p.push(file.subarray(at, c));
        at = c;
      }
      p.end();
      return { got, bytes: p.info.bytes, errors: p.info.errors };
    };
    const whole = read([]);
    expect(whole.got).toHaveLength(4);
    expect(whole.got[2]).toEqual([24 + 16 + 5 + 16 + 3, 1700000002, 0, []]);
    for (let cut = 1; cut < file.length; cut++) expect(read([cut])).toEqual(whole);
    expect(read(Array.from({ length: file.length - 1 }, (_, i) => i + 1))).toEqual(whole);
  });

  it('reads nanosecond files', () => {
    const { pkts: got } = parse(buildPcap([{ ts: 1700000000.000000123, data: bytes(1) }], 1, 65535, true));
    expect(got[0].tsSec).toBe(1700000000);
    expect(Math.abs(got[0].tsNsec - 123)).toBeLessThan(500); // the double ts in the builder is not ns-exact
  });

  it('reads big-endian files with the same result', () => {
    const le = buildPcap(pkts, 1, 65535);
    const be = Buffer.from(le);
    const swap32 = (o: number) => be.writeUInt32BE(Buffer.from(le).readUInt32LE(o), o);
    const swap16 = (o: number) => be.writeUInt16BE(Buffer.from(le).readUInt16LE(o), o);
    [0, 8, 12, 16, 20].forEach(swap32);
    [4, 6].forEach(swap16);
    let off = 24;
    for (const p of pkts) {
      [0, 4, 8, 12].forEach((k) => swap32(off + k));
      off += 16 + p.data.length;
    }
    expect(be.readUInt32BE(0)).toBe(0xa1b2c3d4);
    expect(parse(be).pkts).toEqual(parse(le).pkts);
  });

  it('masks the FCS/reserved bits of the link-type field', () => {
    const f = Buffer.from(buildPcap(pkts, 1));
    f.writeUInt32LE(0x30000065, 20);
    expect(parse(f).pkts[0].linkType).toBe(101);
    expect(parse(f).info.linkTypes).toEqual(['RAW']);
  });

  it('swaps caplen and len for pcap versions before 2.3, as libpcap does', () => {
    const f = Buffer.from(buildPcap([{ ts: 1, data: bytes(1, 2), origLen: 90 }]));
    f.writeUInt16LE(2, 6); // version 2.2
    f.writeUInt32LE(90, 24 + 8);
    f.writeUInt32LE(2, 24 + 12);
    expect(parse(f).pkts[0]).toMatchObject({ caplen: 2, origLen: 90 });
  });

  it('clamps an invalid sub-second field and warns', () => {
    const f = Buffer.from(buildPcap(pkts));
    f.writeUInt32LE(1_000_000, 24 + 4);
    const { pkts: got, info } = parse(f);
    expect(got[0].tsNsec).toBe(999_999_999);
    expect(info.warnings).toEqual([expect.stringContaining('1 packets had a sub-second timestamp')]);
  });

  it('reads a record of exactly the maximum caplen', () => {
    const data = new Uint8Array(MAX_CAPLEN).fill(7);
    const { pkts: got, info } = parse(buildPcap([{ ts: 1700000000, data }], 1, MAX_CAPLEN));
    expect([got.length, got[0].caplen, info.errors]).toEqual([1, MAX_CAPLEN, []]);
  });

  it('stops at a caplen above the maximum with an error naming the offset', () => {
    const f = Buffer.from(buildPcap(pkts));
    const second = 24 + 16 + 5;
    f.writeUInt32LE(MAX_CAPLEN + 1, second + 8);
    const { pkts: got, info } = parse(f);
    expect(got).toHaveLength(1);
    expect(info.truncated).toBe(true);
    expect(info.errors).toEqual([{ offset: second, message: expect.stringContaining(`caplen ${MAX_CAPLEN + 1}`) }]);
  });

  it('reports a file that ends mid-record', () => {
    const f = buildPcap(pkts);
    const { pkts: got, info } = parse(f.subarray(0, f.length - 1));
    expect(got).toHaveLength(1);
    expect(info.truncated).toBe(true);
    expect(info.errors[0].offset).toBe(24 + 16 + 5);
    expect(info.errors[0].message).toMatch(/ends in the middle of a record/);
  });

  it('accepts a header-only file', () => {
    const { pkts: got, info } = parse(pcapHeader());
    expect(got).toEqual([]);
    expect(info).toMatchObject({ packets: 0, truncated: false, errors: [] });
  });

  it('rejects an archaic version without throwing', () => {
    const f = Buffer.from(pcapHeader());
    f.writeUInt16LE(1, 4);
    expect(parse(f).info.errors[0].message).toMatch(/unsupported pcap version 1\.4/);
  });
});

describe('not a capture', () => {
  it('throws CaptureOpenError with the first bytes and what to do', () => {
    const p = new CaptureParser('x.txt', () => {});
    expect(() => p.push(Buffer.from('<html>'))).toThrow(
      new CaptureOpenError('x.txt is not a pcap or pcapng file (starts with 3c 68 74 6d): export it from Wireshark as pcapng', 'x.txt'),
    );
  });
  it('names gzip input', () => {
    const p = new CaptureParser('x.gz', () => {});
    expect(() => p.push(bytes(0x1f, 0x8b, 8, 0))).toThrow(/gzip-compressed/);
  });
  it('throws for an empty or too-short input at end()', () => {
    expect(() => parse(new Uint8Array(0), 'e.pcap')).toThrow(/e.pcap is empty/);
    expect(() => parse(bytes(0xd4, 0xc3), 's.pcap')).toThrow(CaptureOpenError);
  });
});

describe('pcapng', () => {
  for (const le of [true, false]) {
    const order = le ? 'little' : 'big';
    const ng = new Ng(le);

    it(`reads ${order}-endian sections, each resetting its interfaces`, () => {
      const file = cat(
        ng.shb(1, 'first section'),
        ng.idb(1, 65535), // µs
        ng.idb(113, 128, 9), // ns
        ng.epb(0, 1_700_000_000_123_456n, bytes(1, 2, 3), 3, 'hello'),
        ng.epb(1, 1_700_000_000_123_456_789n, bytes(4, 5, 6, 7, 8), 1500),
        ng.shb(1),
        ng.idb(101, 0, 0x80 | 10), // 2^-10 s
        ng.epb(0, 1024n * 1_700_000_000n + 512n, bytes(9)),
      );
      const { pkts, info } = parse(file);
      expect(pkts).toEqual([
        { tsSec: 1_700_000_000, tsNsec: 123_456_000, caplen: 3, origLen: 3, linkType: 1, interfaceId: 0, comment: 'hello', data: [1, 2, 3] },
        { tsSec: 1_700_000_000, tsNsec: 123_456_789, caplen: 5, origLen: 1500, linkType: 113, interfaceId: 1, comment: null, data: [4, 5, 6, 7, 8] },
        { tsSec: 1_700_000_000, tsNsec: 500_000_000, caplen: 1, origLen: 1, linkType: 101, interfaceId: 0, comment: null, data: [9] },
      ]);
      expect(info).toMatchObject({
        format: 'pcapng',
        packets: 3,
        linkTypes: ['ETHERNET', 'LINUX_SLL', 'RAW'],
        snaplen: 128,
        snaplenTruncatedPackets: 1,
        comments: ['first section'],
        truncated: false,
        errors: [],
      });
      expect(info.bytes).toBe(file.length);
    });

    it(`${order}-endian: applies if_tsoffset, reads SPB and the obsolete packet block`, () => {
      const file = cat(
        ng.shb(),
        ng.idb(1, 4, 6, 1000n),
        ng.pb(0, 2_000_000n, bytes(1, 2)),
        ng.spb(bytes(1, 2, 3, 4, 5, 6, 7, 8), 60), // truncated to snaplen 4
      );
      const { pkts, info } = parse(file);
      expect(pkts.map((p) => [p.tsSec, p.tsNsec, p.caplen, p.origLen, p.data])).toEqual([
        [1002, 0, 2, 2, [1, 2]],
        [1002, 0, 4, 60, [1, 2, 3, 4]], // SPB: no timestamp of its own
      ]);
      expect(info.snaplenTruncatedPackets).toBe(1);
    });
  }

  it('collects name resolution records, sanitised and bounded per name', () => {
    const ng = new Ng(true);
    const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
    const long = 'a'.repeat(400);
    const recs = Buffer.concat([
      ng.opt(1, Buffer.concat([bytes(10, 0, 0, 1), Buffer.from('one.example\0alias.example\0')])),
      ng.opt(2, Buffer.concat([v6, Buffer.from(`evil\x1b[31m\0${long}\0`)])),
      ng.opt(0, new Uint8Array(0)),
    ]);
    const { info } = parse(cat(ng.shb(), ng.block(4, recs)));
    expect(info.names[0]).toEqual({ ip: '10.0.0.1', names: ['one.example', 'alias.example'] });
    expect(info.names[1].ip).toBe('2001:db8::1');
    expect(info.names[1].names[0]).toBe('evil\\x1b[31m');
    expect(info.names[1].names[1].length).toBeLessThanOrEqual(256);
  });

  it('keeps interface statistics, a later ISB replacing an earlier one', () => {
    const file = cat(pcapngSectionHeader(), pcapngInterface(1), pcapngStats(0, 1, 5), pcapngStats(0, 2, 7, 100));
    expect(parse(file).info.drops).toEqual([{ interfaceId: 0, ifDrop: 7, osDrop: null, received: 100 }]);
  });

  it('skips custom and unknown blocks by length', () => {
    const ng = new Ng(true);
    const file = cat(ng.shb(), ng.idb(1, 0), ng.block(0x00000bad, Buffer.alloc(20, 0xff)), ng.block(0x77, Buffer.alloc(8)), ng.epb(0, 0n, bytes(7)));
    const { pkts, info } = parse(file);
    expect(pkts.map((p) => p.data)).toEqual([[7]]);
    expect(info.errors).toEqual([]);
  });

  it('stops at an unknown section version, as tshark does', () => {
    const ng = new Ng(true);
    const first = cat(ng.shb(), ng.idb(1, 0), ng.epb(0, 0n, bytes(1)));
    const { pkts, info } = parse(cat(first, ng.shb(2), ng.idb(1, 0), ng.epb(0, 0n, bytes(2))));
    expect(pkts).toHaveLength(1);
    expect(info.errors).toEqual([{ offset: first.length, message: expect.stringMatching(/unsupported pcapng section version 2\.0/) }]);
    expect(info.truncated).toBe(true);
  });

  it.each([
    ['not a multiple of 4', 30],
    ['below 12', 8],
    ['above the block limit', MAX_BLOCK_LEN + 4],
    ['0xffffffff', 0xffffffff],
  ])('stops at a block length %s', (_why, len) => {
    const head = cat(pcapngSectionHeader(), pcapngInterface(1));
    const pkt = Buffer.from(pcapngPacket({ ts: 1, data: bytes(1, 2, 3, 4) }));
    pkt.writeUInt32LE(len >>> 0, 4);
    const { pkts, info } = parse(cat(head, pkt));
    expect(pkts).toEqual([]);
    expect(info.errors).toEqual([{ offset: head.length, message: expect.stringContaining(`invalid length ${len >>> 0}`) }]);
  });

  it('stops when the trailing length differs', () => {
    const pkt = Buffer.from(pcapngPacket({ ts: 1, data: bytes(1, 2, 3, 4) }));
    pkt.writeUInt32LE(99, pkt.length - 4);
    expect(parse(cat(pcapngSectionHeader(), pcapngInterface(1), pkt)).info.errors[0].message).toMatch(/trailing length/);
  });

  it('stops at a packet on an undescribed interface or with an overlong caplen', () => {
    const head = cat(pcapngSectionHeader(), pcapngInterface(1));
    expect(parse(cat(head, pcapngPacket({ ts: 1, data: bytes(1) }, 3))).info.errors[0].message).toMatch(/interface 3 was not described/);
    const pkt = Buffer.from(pcapngPacket({ ts: 1, data: bytes(1, 2, 3, 4) }));
    pkt.writeUInt32LE(64, 20);
    expect(parse(cat(head, pkt)).info.errors[0].message).toMatch(/caplen 64 does not fit/);
  });

  it('rejects a pcapng header with a bad byte-order magic as not a capture', () => {
    const f = Buffer.from(pcapngSectionHeader());
    f.writeUInt32LE(0x12345678, 8);
    expect(() => parse(f)).toThrow(CaptureOpenError);
  });
});

describe('buffering', () => {
  it('never buffers more than one legal record whatever a length field claims', () => {
    const f = Buffer.from(cat(pcapngSectionHeader(), pcapngInterface(1), pcapngPacket({ ts: 1, data: new Uint8Array(100) })));
    const p = new CaptureParser('big', () => {});
    p.push(f);
    // A block that claims the maximum length: its bytes are buffered, but no more.
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE(6, 0);
    hdr.writeUInt32LE(MAX_BLOCK_LEN, 4);
    p.push(hdr);
    for (let i = 0; i < 20 && !p.stopped; i++) p.push(new Uint8Array(1 << 20));
    expect(p.maxBuffered).toBeLessThanOrEqual(MAX_BLOCK_LEN);
    expect(p.stopped).toBe(true); // the trailing length of the zero-filled block is wrong
  });
});
