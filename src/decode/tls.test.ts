import { describe, expect, it } from 'vitest';
import { tlsAlert, tlsClientHello, tlsServerHello } from '../synth/packets.js';
import { certificate, certificateRecord } from '../../test/helpers/tls-certificate.js';
import {
  CertificateSummary,
  ClientHello,
  ServerHello,
  TlsStreamParser,
  isGrease,
  looksLikeTlsHandshake,
  parseClientHello,
  parseServerHello,
  parseX509,
  tlsVersionName,
  type TlsHandshakeHandler,
} from './tls.js';

/** Records what a TlsStreamParser reports. */
function recorder() {
  const seen = { sni: [] as Array<string | null>, versions: [] as number[], alerts: [] as number[][], certs: [] as string[] };
  const h: TlsHandshakeHandler = {
    onClientHello: (c) => seen.sni.push(c.sni),
    onServerHello: (s) => seen.versions.push(s.version),
    onCertificate: (c) => seen.certs.push(c.subjectCn ?? ''),
    onAlert: (level, description) => seen.alerts.push([level, description]),
  };
  return { seen, h };
}

/** Append an extension (type, body) to a synthetic ClientHello record, fixing every length. */
function withExtension(record: Uint8Array, type: number, body: number[]): Uint8Array {
  const ext = [type >> 8, type & 255, body.length >> 8, body.length & 255, ...body];
  const out = Uint8Array.from([...record, ...ext]);
  const put16 = (o: number, v: number) => out.set([v >> 8, v & 255], o);
  put16(3, out.length - 5);
  const hsLen = out.length - 9;
  out.set([hsLen >> 16, (hsLen >> 8) & 255, hsLen & 255], 6);
  // Extensions length sits right after the compression methods: 9 + 2 + 32 + 1 + 2 + 4 + 2 = 52.
  put16(52, out.length - 54);
  return out;
}

describe('ClientHello', () => {
  const ch = new ClientHello();

  it('reads SNI and ALPN from the synthetic ClientHello', () => {
    const r = tlsClientHello('chunderw-vpc-gll.twilio.com', ['h2', 'http/1.1']);
    expect(looksLikeTlsHandshake(r, 0, r.length)).toBe(true);
    expect(parseClientHello(r, 9, r.length, ch)).toBe(true);
    expect(ch).toMatchObject({ legacyVersion: 0x0303, sni: 'chunderw-vpc-gll.twilio.com', sniCount: 1, alpn: ['h2', 'http/1.1'], ech: false, truncated: false });
  });

  it('has no SNI when the extension is absent', () => {
    const r = tlsClientHello(null);
    parseClientHello(r, 9, r.length, ch);
    expect(ch.sni).toBeNull();
    expect(ch.alpn).toBeNull();
  });

  it('drops GREASE from supported_versions and notes ECH', () => {
    let r = withExtension(tlsClientHello('cloudflare-ech.com'), 43, [6, 0x7a, 0x7a, 0x03, 0x04, 0x03, 0x03]);
    r = withExtension(r, 0xfe0d, [0, 1, 2, 3]);
    r = withExtension(r, 0x2a2a, []); // a GREASE extension is just skipped
    parseClientHello(r, 9, r.length, ch);
    expect(ch.supportedVersions).toEqual([0x0304, 0x0303]);
    expect(ch.ech).toBe(true);
    expect(ch.sni).toBe('cloudflare-ech.com');
    expect(isGrease(0x7a7a)).toBe(true);
    expect(isGrease(0x0303)).toBe(false);
  });

  it('counts several host names and keeps the first', () => {
    const a = [...Buffer.from('one.example')];
    const b = [...Buffer.from('two.example')];
    const list = [0, 0, a.length, ...a, 0, 0, b.length, ...b];
    const r = withExtension(tlsClientHello(null), 0, [list.length >> 8, list.length & 255, ...list]);
    parseClientHello(r, 9, r.length, ch);
    expect(ch.sni).toBe('one.example');
    expect(ch.sniCount).toBe(2);
  });

  it('escapes hostile bytes in the name', () => {
    const r = tlsClientHello('evil\x1b[31m.example');
    parseClientHello(r, 9, r.length, ch);
    expect(ch.sni).toBe('evil\\x1b[31m.example');
  });

  it('never throws at any truncation point, and only finds the name once it is complete', () => {
    const r = tlsClientHello('a.example', ['h2']);
    for (let end = 9; end <= r.length; end++) {
      parseClientHello(r, 9, end, ch);
      if (ch.sni !== null) expect(ch.sni).toBe('a.example');
    }
  });
});

describe('ServerHello', () => {
  const sh = new ServerHello();

  it('reads the legacy version and cipher', () => {
    const r = tlsServerHello();
    parseServerHello(r, 9, r.length, sh);
    expect(sh).toMatchObject({ legacyVersion: 0x0303, version: 0x0303, cipher: 0xc02f, helloRetryRequest: false });
  });

  it('lets supported_versions win', () => {
    const r = tlsServerHello();
    const ext = [0, 43, 0, 2, 3, 4];
    const b = Uint8Array.from([...r.subarray(0, r.length - 2), 0, ext.length, ...ext]);
    parseServerHello(b, 9, b.length, sh);
    expect(sh.version).toBe(0x0304);
    expect(tlsVersionName(sh.version)).toBe('TLS 1.3');
  });
});

describe('certificate DER walker', () => {
  it('reads subject, issuer and DNS SANs', () => {
    const der = certificate('chunderw-vpc-gll.twilio.com', 'Example CA', ['*.twilio.com', 'twilio.com']);
    const c = new CertificateSummary();
    expect(parseX509(der, 0, der.length, c)).toBe(true);
    expect(c.subject).toBe('C=US, O=Twilio, Inc., CN=chunderw-vpc-gll.twilio.com');
    expect(c.subjectCn).toBe('chunderw-vpc-gll.twilio.com');
    expect(c.issuer).toBe('CN=Example CA');
    expect(c.sans).toEqual(['*.twilio.com', 'twilio.com']);
    for (let end = 0; end < der.length; end++) expect(parseX509(der, 0, end, c)).toBe(false);
  });
});

describe('TlsStreamParser', () => {
  it('reads a ClientHello split across records and fed byte by byte', () => {
    const r = tlsClientHello('split.example', ['h2']);
    // Re-frame the handshake message into records of 7 bytes.
    const hs = r.subarray(5);
    const parts: number[] = [];
    for (let i = 0; i < hs.length; i += 7) {
      const chunk = hs.subarray(i, i + 7);
      parts.push(22, 3, 1, 0, chunk.length, ...chunk);
    }
    const stream = Uint8Array.from(parts);
    const { seen, h } = recorder();
    const p = new TlsStreamParser();
    for (let len = 1; len <= stream.length; len++) p.feed(stream, 0, len, 0, h);
    expect(seen.sni).toEqual(['split.example']);
    expect(p.done).toBe(false);
  });

  it('reports ServerHello, Certificate and alerts, then stops at ChangeCipherSpec', () => {
    const der = certificate('srv.example', 'CA', []);
    const stream = Uint8Array.from([...tlsServerHello(), ...certificateRecord(der), ...tlsAlert(2, 42), 20, 3, 3, 0, 1, 1, ...tlsAlert(2, 40)]);
    const { seen, h } = recorder();
    const p = new TlsStreamParser();
    p.feed(stream, 0, stream.length, 0, h);
    expect(seen.versions).toEqual([0x0303]);
    expect(seen.certs).toEqual(['srv.example']);
    expect(seen.alerts).toEqual([[2, 42]]); // the alert after ChangeCipherSpec is encrypted
    expect(p.encrypted).toBe(true);
  });

  it('reads the first certificate before the Certificate message is complete', () => {
    const der = certificate('first.example', 'CA', []);
    const rec = certificateRecord(der);
    // Claim a longer message (a second certificate that has not arrived).
    const grown = rec.slice();
    const hsLen = rec.length - 9 + 1000;
    grown.set([hsLen >> 16, (hsLen >> 8) & 255, hsLen & 255], 6);
    grown.set([(hsLen + 4) >> 8, (hsLen + 4) & 255], 3);
    const { seen, h } = recorder();
    new TlsStreamParser().feed(grown, 0, grown.length, 0, h);
    expect(seen.certs).toEqual(['first.example']);
  });

  it('resumes from what is left when the caller drops the bytes before position', () => {
    const der = certificate('drop.example', 'CA', []);
    const stream = Uint8Array.from([...tlsServerHello(), ...certificateRecord(der), ...tlsAlert(2, 42)]);
    const { seen, h } = recorder();
    const p = new TlsStreamParser();
    // Deliver in 50-byte steps, each time keeping only the bytes from position on.
    for (let len = 50; ; len = Math.min(len + 50, stream.length)) {
      const base = p.position;
      p.feed(stream.slice(base, len), 0, len - base, base, h);
      expect(p.position).toBeLessThanOrEqual(len);
      if (len === stream.length) break;
    }
    expect(seen.versions).toEqual([0x0303]);
    expect(seen.certs).toEqual(['drop.example']);
    expect(seen.alerts).toEqual([[2, 42]]);
    expect(p.position).toBe(stream.length);
  });

  it('fails on bytes that are not TLS', () => {
    const junk = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    const p = new TlsStreamParser();
    p.feed(junk, 0, junk.length, 0, recorder().h);
    expect(p.failed).toBe(true);
  });

  it('reads from any offset of a larger buffer, a segment at a time, as from one stream', () => {
    const der = certificate('seg.example', 'CA', ['seg.example']);
    const stream = Uint8Array.from([...tlsServerHello(), ...certificateRecord(der), ...tlsAlert(1, 0)]);
    for (const segment of [1, 3, 7, 64, 1460]) {
      const { seen, h } = recorder();
      const p = new TlsStreamParser();
      // Each segment sits inside a "packet" with 40 bytes of headers before it.
      for (let at = 0; at < stream.length; at += segment) {
        const end = Math.min(at + segment, stream.length);
        const packet = new Uint8Array(40 + end - p.position);
        packet.set(stream.subarray(p.position, end), 40);
        p.feed(packet, 40, packet.length, p.position, h);
      }
      expect(seen.versions, `segment ${segment}`).toEqual([0x0303]);
      expect(seen.certs, `segment ${segment}`).toEqual(['seg.example']);
      expect(seen.alerts, `segment ${segment}`).toEqual([[1, 0]]);
      expect(p.position).toBe(stream.length);
    }
  });

  it('skips handshake messages unbuffered once they are not wanted, still reading alerts and the switch to encryption', () => {
    const der = certificate('skip.example', 'CA', []);
    const stream = Uint8Array.from([...certificateRecord(der), ...tlsAlert(2, 48), 20, 3, 3, 0, 1, 1]);
    const { seen, h } = recorder();
    const p = new TlsStreamParser();
    p.skipHandshakes();
    for (let at = 0; at < stream.length; at += 5) p.feed(stream, at, Math.min(at + 5, stream.length), at, h);
    expect(seen.certs).toEqual([]);
    expect(seen.alerts).toEqual([[2, 48]]);
    expect(p.encrypted).toBe(true);
  });
});
