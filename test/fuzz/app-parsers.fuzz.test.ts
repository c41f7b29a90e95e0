/**
 * Mutation fuzz of the application-layer parsers (DNS, TLS, DTLS, STUN,
 * TURN ChannelData, RTP, RTCP, demux) on transport payloads taken from the
 * public captures plus the synthetic builders: bytes flipped, cut short,
 * length-looking fields set to edge values, chunks duplicated. Nothing may
 * throw, and every output stays within its documented bound.
 *
 * FUZZ_ITERATIONS (default 3000) mutations per parser; FUZZ_SEED picks the run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/view.js';
import { DnsMessage, MAX_DNS_ANSWERS, MAX_DNS_NAME, parseDns } from '../../src/decode/dns.js';
import {
  CertificateSummary,
  ClientHello,
  ServerHello,
  TlsStreamParser,
  parseCertificateMessage,
  parseClientHello,
  parseServerHello,
  type TlsHandshakeHandler,
} from '../../src/decode/tls.js';
import { DtlsHandshakeAssembler, scanDtlsDatagram } from '../../src/decode/dtls.js';
import { ChannelData, StunMessage, parseChannelData, parseStun, stunUsername } from '../../src/decode/stun.js';
import { MAX_REPORT_BLOCKS, RtcpCompound, RtpHeader, parseRtcp, parseRtp } from '../../src/decode/rtp.js';
import { demuxUdp } from '../../src/decode/demux.js';
import { dnsMessage, rtp, stunMessage, tlsAlert, tlsClientHello, tlsServerHello } from '../../src/synth/packets.js';
import { FIXTURES } from '../capture-fixtures.js';
import { loadPackets } from '../helpers/walk.js';
import { seededRandom } from '../../src/synth/random.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 0xa99);
const EDGE = [0, 1, 2, 3, 4, 0x0c, 0x3f, 0x7f, 0x80, 0xc0, 0xff];
/** Longest escaped name: every byte of a 255-byte name as \xNN, plus the ellipsis. */
const MAX_TEXT = 4 * 255 + 2;

function mutate(src: Uint8Array, rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  let b = src.slice();
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds && b.length; r++) {
    switch (pick(5)) {
      case 0:
        b[pick(b.length)] ^= 1 << pick(8);
        break;
      case 1:
        b = b.subarray(0, pick(b.length + 1));
        break;
      case 2: {
        const at = pick(b.length);
        b[at] = EDGE[pick(EDGE.length)];
        if (at + 1 < b.length) b[at + 1] = EDGE[pick(EDGE.length)];
        break;
      }
      case 3: {
        const at = pick(b.length);
        const len = Math.min(b.length - at, 1 + pick(32));
        b = Uint8Array.from([...b.subarray(0, at + len), ...b.subarray(at, at + len), ...b.subarray(at + len)]);
        break;
      }
      default:
        b[pick(b.length)] = pick(256);
    }
  }
  return b;
}

/** Transport payloads per parser family, from the fixtures and the builders. */
const seeds = { dns: [] as Uint8Array[], tls: [] as Uint8Array[], udpMedia: [] as Uint8Array[] };

beforeAll(async () => {
  const view = new PacketView();
  const wanted = /dns|tls|dtls|stun|rtp|pcapng-example/;
  for (const [name, path] of FIXTURES) {
    if (!wanted.test(name)) continue;
    for (const p of await loadPackets(path)) {
      decodePacket(view, p.data, p.linkType);
      if (view.payloadLen === 0) continue;
      const payload = view.payload().slice();
      if (view.srcPort === 53 || view.dstPort === 53) seeds.dns.push(view.proto === 6 ? payload.subarray(2) : payload);
      else if (view.proto === 6 && seeds.tls.length < 400) seeds.tls.push(payload);
      else if (view.proto === 17 && seeds.udpMedia.length < 1500) seeds.udpMedia.push(payload);
    }
  }
  seeds.dns.push(
    dnsMessage({ id: 1, qname: 'a.b.example', answers: [{ name: 'a.b.example', type: 'CNAME', data: 'c.example' }, { name: 'c.example', type: 'A', data: '1.2.3.4' }] }),
  );
  seeds.tls.push(tlsClientHello('sni.example', ['h2', 'http/1.1']), tlsServerHello(), tlsAlert(2, 40));
  seeds.udpMedia.push(stunMessage(0x0101, new Uint8Array(12).fill(7), { ip: '10.1.2.3', port: 9 }), rtp({ pt: 0, seq: 1, ts: 2, ssrc: 3 }));
});

function fuzz(family: keyof typeof seeds, check: (b: Uint8Array) => void): void {
  const rand = seededRandom(SEED);
  const corpus = seeds[family];
  expect(corpus.length).toBeGreaterThan(2);
  for (let i = 0; i < ITERATIONS; i++) {
    const b = mutate(corpus[Math.floor(rand() * corpus.length)], rand);
    try {
      check(b);
    } catch (e) {
      throw new Error(`${family} iteration ${i} (seed ${SEED}) on ${Buffer.from(b).toString('hex')}: ${(e as Error).stack}`);
    }
  }
}

const handler: TlsHandshakeHandler = {
  onClientHello: (c) => {
    if ((c.sni?.length ?? 0) > MAX_TEXT || (c.alpn?.length ?? 0) > 16 || c.supportedVersions.length > 16) throw new Error('ClientHello out of bounds');
  },
  onServerHello: () => {},
  onCertificate: (c) => {
    if (c.sans.length > 64 || (c.subject?.length ?? 0) > 600 || (c.issuer?.length ?? 0) > 600) throw new Error('certificate out of bounds');
  },
  onAlert: (level, description) => {
    if (level > 255 || description > 255) throw new Error('alert out of range');
  },
};

describe(`application parser fuzz (${ITERATIONS} per parser, seed ${SEED})`, () => {
  it('DNS', () => {
    const m = new DnsMessage();
    fuzz('dns', (b) => {
      parseDns(b, 0, b.length, m);
      expect(m.answers().length).toBeLessThanOrEqual(MAX_DNS_ANSWERS);
      expect(m.qname?.length ?? 0).toBeLessThanOrEqual(MAX_DNS_NAME);
      for (const a of m.answers()) expect(a.name.length + a.data.length).toBeLessThanOrEqual(2 * MAX_DNS_NAME);
    });
  });

  it('TLS hellos, certificates and the stream walker', () => {
    const ch = new ClientHello();
    const sh = new ServerHello();
    const cert = new CertificateSummary();
    fuzz('tls', (b) => {
      parseClientHello(b, 9, b.length, ch);
      parseClientHello(b, 9, b.length, ch, true);
      handler.onClientHello(ch);
      parseServerHello(b, 9, b.length, sh);
      parseCertificateMessage(b, 9, b.length, cert);
      handler.onCertificate(cert);
      const p = new TlsStreamParser();
      for (let len = 0; len <= b.length; len += 1 + (len >> 2)) p.feed(b, 0, len, 0, handler);
      p.feed(b, 0, b.length, 0, handler);
    });
  });

  it('DTLS, STUN, ChannelData, RTP, RTCP and demux on UDP payloads', () => {
    const asm = new DtlsHandshakeAssembler();
    const stun = new StunMessage();
    const cd = new ChannelData();
    const rtpH = new RtpHeader();
    const rtcp = new RtcpCompound();
    fuzz('udpMedia', (b) => {
      expect(demuxUdp(b, 0, b.length)).toBeLessThanOrEqual(6);
      scanDtlsDatagram(b, 0, b.length, handler, asm);
      if (parseStun(b, 0, b.length, stun)) expect(stunUsername(b, stun)?.length ?? 0).toBeLessThanOrEqual(MAX_TEXT);
      if (parseChannelData(b, 0, b.length, true, cd)) expect(cd.dataOff + cd.dataLen).toBeLessThanOrEqual(b.length);
      if (parseRtp(b, 0, b.length, rtpH)) expect(rtpH.payloadOff + rtpH.payloadLen).toBeLessThanOrEqual(b.length);
      if (parseRtcp(b, 0, b.length, rtcp)) {
        expect(rtcp.blocks).toBeLessThanOrEqual(MAX_REPORT_BLOCKS);
        expect(rtcp.trailingBytes).toBeGreaterThanOrEqual(0);
      }
    });
  });
});
