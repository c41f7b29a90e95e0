/**
 * Builders for synthetic packets: used by the samples generator, the
 * benchmark and tests. Addresses are written into files only; nothing here
 * sends traffic anywhere.
 */

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  id?: number;
  df?: boolean;
}

function parseV4(ip: string): number[] {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((n) => !(n >= 0 && n <= 255))) throw new Error(`bad IPv4 ${ip}`);
  return p;
}

function parseV6(ip: string): number[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, null];
  const h = head ? head.split(':').filter((x) => x !== '') : [];
  const t = tail ? tail.split(':').filter((x) => x !== '') : [];
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 ${ip}`);
  const out: number[] = [];
  for (const g of groups) {
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

export function ipBytes(ip: string): number[] {
  return ip.includes(':') ? parseV6(ip) : parseV4(ip);
}

function sum16(bytes: ArrayLike<number>, start = 0, end = bytes.length, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (bytes[i] << 8) | (i + 1 < end ? bytes[i + 1] : 0);
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Ethernet II header + payload. */
export function ethernet(payload: Uint8Array, etherType = 0x0800, src = '02:00:00:00:00:01', dst = '02:00:00:00:00:02'): Uint8Array {
  const mac = (m: string) => m.split(':').map((x) => parseInt(x, 16));
  const out = new Uint8Array(14 + payload.length);
  out.set(mac(dst), 0);
  out.set(mac(src), 6);
  out[12] = etherType >> 8;
  out[13] = etherType & 0xff;
  out.set(payload, 14);
  return out;
}

/** 802.1Q tag inserted in front of an inner EtherType. */
export function vlanEthernet(payload: Uint8Array, vlanId: number, innerType = 0x0800): Uint8Array {
  const tagged = new Uint8Array(4 + payload.length);
  tagged[0] = (vlanId >> 8) & 0x0f;
  tagged[1] = vlanId & 0xff;
  tagged[2] = innerType >> 8;
  tagged[3] = innerType & 0xff;
  tagged.set(payload, 4);
  return ethernet(tagged, 0x8100);
}

/** MPLS label stack (bottom-of-stack set on the last) in front of an IPv4 packet. */
export function mplsEthernet(ipPacket: Uint8Array, labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * 4 + ipPacket.length);
  labels.forEach((label, i) => {
    const bos = i === labels.length - 1 ? 1 : 0;
    const v = ((label & 0xfffff) << 12) | (bos << 8) | 64;
    out[i * 4] = (v >>> 24) & 0xff;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  });
  out.set(ipPacket, labels.length * 4);
  return ethernet(out, 0x8847);
}

export function ipv4(o: Ipv4Opts, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(20 + payload.length);
  out[0] = 0x45;
  const total = out.length;
  out[2] = total >> 8;
  out[3] = total & 0xff;
  const id = o.id ?? 0;
  out[4] = (id >> 8) & 0xff;
  out[5] = id & 0xff;
  out[6] = o.df === false ? 0 : 0x40;
  out[8] = o.ttl ?? 64;
  out[9] = o.proto;
  out.set(parseV4(o.src), 12);
  out.set(parseV4(o.dst), 16);
  const c = fold(sum16(out, 0, 20));
  out[10] = c >> 8;
  out[11] = c & 0xff;
  out.set(payload, 20);
  fillL4Checksum(out, 4, 20, o.proto);
  return out;
}

export function ipv6(o: { src: string; dst: string; proto: number; hopLimit?: number }, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(40 + payload.length);
  out[0] = 0x60;
  out[4] = payload.length >> 8;
  out[5] = payload.length & 0xff;
  out[6] = o.proto;
  out[7] = o.hopLimit ?? 64;
  out.set(parseV6(o.src), 8);
  out.set(parseV6(o.dst), 24);
  out.set(payload, 40);
  fillL4Checksum(out, 6, 40, o.proto);
  return out;
}

/** Compute the TCP/UDP/ICMPv6 checksum in place over a finished IP packet. */
function fillL4Checksum(pkt: Uint8Array, version: 4 | 6, l4: number, proto: number): void {
  const len = pkt.length - l4;
  let ckOff: number;
  if (proto === 6 && len >= 20) ckOff = 16;
  else if (proto === 17 && len >= 8) ckOff = 6;
  else if (proto === 58 && len >= 4) ckOff = 2;
  else if (proto === 1 && len >= 4) {
    pkt[l4 + 2] = pkt[l4 + 3] = 0;
    const c = fold(sum16(pkt, l4, pkt.length));
    pkt[l4 + 2] = c >> 8;
    pkt[l4 + 3] = c & 0xff;
    return;
  } else return;
  pkt[l4 + ckOff] = pkt[l4 + ckOff + 1] = 0;
  let s = 0;
  if (version === 4) s = sum16(pkt, 12, 20);
  else s = sum16(pkt, 8, 40);
  s += proto + len;
  s = sum16(pkt, l4, pkt.length, s);
  let c = fold(s);
  if (proto === 17 && c === 0) c = 0xffff;
  pkt[l4 + ckOff] = c >> 8;
  pkt[l4 + ckOff + 1] = c & 0xff;
}

export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = sport >> 8;
  out[1] = sport & 0xff;
  out[2] = dport >> 8;
  out[3] = dport & 0xff;
  out[4] = out.length >> 8;
  out[5] = out.length & 0xff;
  out.set(payload, 8);
  return out;
}

export interface TcpOpts {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Letters: S A F R P U */
  flags: string;
  window?: number;
  mss?: number;
}

export function tcp(o: TcpOpts, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const optLen = o.mss ? 4 : 0;
  const hl = 20 + optLen;
  const out = new Uint8Array(hl + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, o.sport);
  dv.setUint16(2, o.dport);
  dv.setUint32(4, (o.seq ?? 0) >>> 0);
  dv.setUint32(8, (o.ack ?? 0) >>> 0);
  out[12] = (hl / 4) << 4;
  let f = 0;
  for (const ch of o.flags) f |= { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32 }[ch as 'F'] ?? 0;
  out[13] = f;
  dv.setUint16(14, o.window ?? 65535);
  if (o.mss) {
    out[20] = 2;
    out[21] = 4;
    dv.setUint16(22, o.mss);
  }
  out.set(payload, hl);
  return out;
}

/** An IPv4 or IPv6 packet, chosen by the address form. */
export function ip(src: string, dst: string, proto: number, payload: Uint8Array, ttl?: number): Uint8Array {
  return src.includes(':') ? ipv6({ src, dst, proto, hopLimit: ttl }, payload) : ipv4({ src, dst, proto, ttl }, payload);
}

/** Ethernet/IP/UDP in one call. */
export function udpPacket(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): Uint8Array {
  const v6 = src.includes(':');
  return ethernet(ip(src, dst, 17, udp(sport, dport, payload)), v6 ? 0x86dd : 0x0800);
}

/** Ethernet/IP/TCP in one call. */
export function tcpPacket(src: string, dst: string, o: TcpOpts, payload?: Uint8Array): Uint8Array {
  const v6 = src.includes(':');
  return ethernet(ip(src, dst, 6, tcp(o, payload)), v6 ? 0x86dd : 0x0800);
}

export interface RtpOpts {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker?: boolean;
  payloadLen?: number;
  /** Fill byte for the payload; SRTP-like random bytes when undefined. */
  fill?: number;
}

export function rtp(o: RtpOpts): Uint8Array {
  const n = o.payloadLen ?? 160;
  const out = new Uint8Array(12 + n);
  const dv = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = (o.marker ? 0x80 : 0) | (o.pt & 0x7f);
  dv.setUint16(2, o.seq & 0xffff);
  dv.setUint32(4, o.ts >>> 0);
  dv.setUint32(8, o.ssrc >>> 0);
  if (o.fill !== undefined) out.fill(o.fill, 12);
  else {
    let x = (o.ssrc ^ o.seq) >>> 0 || 1;
    for (let i = 12; i < out.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
  }
  return out;
}

/** A DNS response (or query when answers is undefined) with A/AAAA/CNAME answers. */
export function dnsMessage(o: {
  id: number;
  qname: string;
  qtype?: number;
  rcode?: number;
  answers?: Array<{ name: string; type: 'A' | 'AAAA' | 'CNAME'; ttl?: number; data: string }>;
}): Uint8Array {
  const bytes: number[] = [];
  const u16 = (v: number) => bytes.push((v >> 8) & 0xff, v & 0xff);
  const name = (n: string) => {
    for (const label of n.split('.').filter(Boolean)) {
      const b = Buffer.from(label, 'latin1');
      bytes.push(b.length, ...b);
    }
    bytes.push(0);
  };
  const isResp = o.answers !== undefined || (o.rcode ?? 0) !== 0;
  u16(o.id);
  u16(isResp ? 0x8180 | (o.rcode ?? 0) : 0x0100);
  u16(1);
  u16(o.answers?.length ?? 0);
  u16(0);
  u16(0);
  name(o.qname);
  u16(o.qtype ?? 1);
  u16(1);
  for (const a of o.answers ?? []) {
    name(a.name);
    u16(a.type === 'A' ? 1 : a.type === 'AAAA' ? 28 : 5);
    u16(1);
    const ttl = a.ttl ?? 60;
    bytes.push((ttl >>> 24) & 0xff, (ttl >>> 16) & 0xff, (ttl >>> 8) & 0xff, ttl & 0xff);
    if (a.type === 'CNAME') {
      const start = bytes.length;
      u16(0);
      name(a.data);
      const len = bytes.length - start - 2;
      bytes[start] = len >> 8;
      bytes[start + 1] = len & 0xff;
    } else {
      const d = ipBytes(a.data);
      u16(d.length);
      bytes.push(...d);
    }
  }
  return Uint8Array.from(bytes);
}

/** A TLS record holding a minimal ClientHello with the given SNI (and optional ALPN). */
export function tlsClientHello(sni: string | null, alpn: string[] = []): Uint8Array {
  const ext: number[] = [];
  const u16 = (arr: number[], v: number) => arr.push((v >> 8) & 0xff, v & 0xff);
  if (sni !== null) {
    const host = Buffer.from(sni, 'latin1');
    u16(ext, 0);
    u16(ext, host.length + 5);
    u16(ext, host.length + 3);
    ext.push(0);
    u16(ext, host.length);
    ext.push(...host);
  }
  if (alpn.length) {
    const list: number[] = [];
    for (const p of alpn) list.push(p.length, ...Buffer.from(p, 'latin1'));
    u16(ext, 16);
    u16(ext, list.length + 2);
    u16(ext, list.length);
    ext.push(...list);
  }
  const body: number[] = [0x03, 0x03];
  for (let i = 0; i < 32; i++) body.push(i);
  body.push(0); // session id
  u16(body, 4);
  body.push(0x13, 0x01, 0xc0, 0x2f); // cipher suites
  body.push(1, 0); // compression
  u16(body, ext.length);
  body.push(...ext);
  const hs = [1, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 0x03, 0x01, (hs.length >> 8) & 0xff, hs.length & 0xff, ...hs]);
}

/** A TLS record holding a minimal ServerHello (TLS 1.2 version field). */
export function tlsServerHello(): Uint8Array {
  const body: number[] = [0x03, 0x03];
  for (let i = 0; i < 32; i++) body.push(255 - i);
  body.push(0, 0xc0, 0x2f, 0, 0, 0);
  const hs = [2, 0, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 0x03, 0x03, (hs.length >> 8) & 0xff, hs.length & 0xff, ...hs]);
}

/** A TLS alert record. */
export function tlsAlert(level: number, description: number): Uint8Array {
  return Uint8Array.from([0x15, 0x03, 0x03, 0, 2, level, description]);
}

/** A STUN message (binding request 0x0001 / success 0x0101) with optional XOR-MAPPED-ADDRESS (IPv4). */
export function stunMessage(type: number, txid: Uint8Array, xorMapped?: { ip: string; port: number }): Uint8Array {
  const attrs: number[] = [];
  if (xorMapped) {
    const ipb = parseV4(xorMapped.ip);
    const port = xorMapped.port ^ 0x2112;
    const cookie = [0x21, 0x12, 0xa4, 0x42];
    attrs.push(0x00, 0x20, 0x00, 0x08, 0x00, 0x01, port >> 8, port & 0xff, ...ipb.map((b, i) => b ^ cookie[i]));
  }
  const out = new Uint8Array(20 + attrs.length);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[2] = attrs.length >> 8;
  out[3] = attrs.length & 0xff;
  out.set([0x21, 0x12, 0xa4, 0x42], 4);
  out.set(txid.subarray(0, 12), 8);
  out.set(attrs, 20);
  return out;
}

/** A TLS application-data record of `len` payload bytes (content is filler; it stands for ciphertext). */
export function tlsAppData(len: number): Uint8Array {
  const out = new Uint8Array(5 + len).fill(0xa5);
  out.set([0x17, 0x03, 0x03, (len >> 8) & 0xff, len & 0xff]);
  return out;
}
